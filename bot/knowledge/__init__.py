"""Knowledge layer: the source pages and everything read from them, without Rasa.

Pages (`data/pages/`) are cut into passages (ingest, navigation, passages), the knowledge files
(`data/knowledge/`: entries, contacts, facts, answering and safety rules) are loaded and checked
against the pages (files, validate, contacts_extract), and questions are answered by ranking
passages and page sentences (search, sentence_search, question_analysis, safety, nlp) through the
`KnowledgeBase` (knowledge_base, reloaded by store; its records — entries, facts, contacts,
passages — in records, which the search imports without the loader). One low-level helper lives here because every
layer needs it: yamlio (YAML and the one atomic write). It is the bottom layer: it imports no other layer of `bot`, and
`actions/` imports only this one, so the action server never loads serving or maintenance code.
"""
