"""The French spaCy pipeline, loaded once per process and only when first needed.

Why: loading fr_core_news_md takes seconds; KnowledgeBase.load must stay fast, so only search
(lemmas) and ingest (named entities of contacts) pay for it, once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

MODEL_NAME = "fr_core_news_md"
# Components that search does not need; pass as `disable=` to nlp()/nlp.pipe().
SEARCH_DISABLED = ("ner",)

_lock = threading.Lock()
_nlp: Language | None = None


def french() -> Language:
    """The shared pipeline (without the dependency parser, which nothing here uses)."""
    global _nlp
    if _nlp is None:
        with _lock:
            if _nlp is None:
                import spacy

                _nlp = spacy.load(MODEL_NAME, exclude=["parser"])
    return _nlp


KEPT_DOCS = 64  # analyses of the last texts, for the searches that read the same question
_docs: OrderedDict[str, Doc] = OrderedDict()
_docs_lock = threading.Lock()


def search_docs(texts: Sequence[str]) -> list[Doc]:
    """spaCy's analysis of each text for search (apostrophes folded, no entity recogniser).

    Why: one question is read by three searches (its terms, its meaning vector, the nouns no page
    uses), each of which used to run spaCy on it again (~1.5 ms each). The last `KEPT_DOCS` texts'
    analyses are kept in memory; nothing is written anywhere."""
    from bot.knowledge.textnorm import fold_apostrophes

    with _docs_lock:
        found = {t: _docs[t] for t in texts if t in _docs}
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    fresh = dict(zip(missing, french().pipe([fold_apostrophes(t) for t in missing], disable=list(SEARCH_DISABLED)),
                     strict=True))
    with _docs_lock:
        for text in texts:
            if text in _docs:
                _docs.move_to_end(text)
        for text, doc in fresh.items():
            _docs[text] = doc
        while len(_docs) > KEPT_DOCS:
            _docs.popitem(last=False)
    return [found.get(t) or fresh[t] for t in texts]


def named_entities(text: str) -> list[tuple[str, str]]:
    """(entity text, label) pairs found by spaCy NER, e.g. ("Leonard Doyle", "PER")."""
    doc = french()(text)
    return [(ent.text, ent.label_) for ent in doc.ents]


_words: frozenset[str] | None = None


def french_words() -> frozenset[str]:
    """The words of the French language (pyspellchecker's list, accents folded; ~140,000, 0.4 s once).

    Why: a word the pages do not use may still be a word ("mer", "gare", "soir"): it is then not
    respelt into the page word that sounds like it ("mère"). SMS spellings ("bato", "nouvo",
    "travay") are not in the list, so they are."""
    global _words
    if _words is None:
        with _lock:
            if _words is None:
                from spellchecker import SpellChecker

                from bot.knowledge.textnorm import fold

                listed = SpellChecker(language="fr", distance=1).word_frequency.dictionary
                _words = frozenset(fold(word) for word in listed)
    return _words
