"""The French spaCy pipeline, loaded once per process and only when first needed.

Why: loading fr_core_news_md takes seconds; KnowledgeBase.load must stay fast, so only search
(lemmas) and ingest (named entities of contacts) pay for it, once.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
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
# Lemma and part of speech of the words spaCy read during the current turn (`one_turn`), for the
# texts of that turn made of their words only (a question without its topic's words, a follow-up
# with the message before). Never across turns: a word's tag would then come from whatever another
# user wrote last, and the same question would get another answer after other conversations.
_turn_words: ContextVar[dict[str, tuple[str, str]] | None] = ContextVar("turn_words", default=None)


@contextlib.contextmanager
def one_turn() -> Iterator[None]:
    """The scope of one reply: its texts reuse the tags of the words read for it (nested: the same)."""
    if _turn_words.get() is not None:
        yield
        return
    token = _turn_words.set({})
    try:
        yield
    finally:
        _turn_words.reset(token)


def search_docs(texts: Sequence[str]) -> list[Doc]:
    """spaCy's analysis of each text for search (apostrophes folded, no entity recogniser).

    Why: one question is read by three searches (its terms, its meaning vector, the nouns no page
    uses), each of which used to run spaCy on it again (~1.5 ms each). The last `KEPT_DOCS` texts'
    analyses are kept in memory (the same text always gets the same analysis); nothing is written
    anywhere. Within `one_turn`, a text made of words already read is tagged as they were."""
    from bot.knowledge.textnorm import fold_apostrophes

    with _docs_lock:
        found = {t: _docs[t] for t in texts if t in _docs}
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    nlp = french()
    words = _turn_words.get()
    borrowed: dict[str, Doc] = {}
    if words is not None:
        for text in missing:
            doc = _from_words_read(nlp, fold_apostrophes(text), words)
            if doc is not None:
                borrowed[text] = doc
    analysed = [t for t in missing if t not in borrowed]
    fresh = dict(
        zip(analysed, nlp.pipe([fold_apostrophes(t) for t in analysed], disable=list(SEARCH_DISABLED)), strict=True)
    )
    with _docs_lock:
        for text in texts:
            if text in _docs:
                _docs.move_to_end(text)
        for text, doc in fresh.items():  # spaCy's own analyses only: borrowed tags depend on the turn
            _docs[text] = doc
        while len(_docs) > KEPT_DOCS:
            _docs.popitem(last=False)
    if words is not None:  # what spaCy read, whether just now or kept from an earlier message
        for doc in [*found.values(), *fresh.values()]:
            words.update((token.text, (token.lemma_, token.pos_)) for token in doc)
    known = {**fresh, **borrowed, **found}
    return [known[t] for t in texts]  # (an empty Doc is falsy: no `or` here)


def _from_words_read(nlp: Language, text: str, words: dict[str, tuple[str, str]]) -> Doc | None:
    """The text's tokens with the lemma and part of speech its words had in the texts analysed
    just before in this turn, when all of them were there; None when one was not.

    Why: a question is searched as typed, without its topic's words, and with the message before;
    running spaCy's tagger on each (~1.5 ms) only re-reads words it has just read in context."""
    doc = nlp.make_doc(text)
    read = [(token.text, "SPACE") if token.is_space else words.get(token.text) for token in doc]
    if not doc or any(r is None for r in read):
        return None
    for token, (lemma, pos) in zip(doc, read, strict=True):  # type: ignore[misc]
        token.lemma_ = lemma
        token.pos_ = pos
    return doc


# Page analyses kept on disk: this many files (one per set of texts analysed together).
KEPT_PAGE_ANALYSES = 12


def page_docs(texts: Sequence[str]) -> list[Doc]:
    """spaCy's full analysis (entities included) of page texts, read back from the disk cache
    when these very texts were analysed before with this very pipeline.

    Why: every action server start analysed the same few thousand page sentences again (~3 s of
    its ~7 s start); read back from a DocBin the analysis takes a fraction of that. Only the
    pages' public texts are written (in cache_root()/page-analyses), never a user's message; a
    cache that cannot be read or written is skipped."""
    import hashlib

    import spacy
    from spacy.tokens import DocBin

    from bot.knowledge.paths import cache_root
    from bot.knowledge.textnorm import fold_apostrophes

    if not texts:
        return []
    nlp = french()
    pipeline = f"{nlp.meta.get('name')}-{nlp.meta.get('version')}-spacy{spacy.__version__}-{','.join(nlp.pipe_names)}"
    key = hashlib.sha256("\x00".join([pipeline, *texts]).encode("utf-8")).hexdigest()[:32]
    folder = cache_root() / "page-analyses"
    path = folder / f"{key}.spacy"
    try:
        docs = list(DocBin().from_bytes(path.read_bytes()).get_docs(nlp.vocab))
        if len(docs) == len(texts):
            return docs
    except (OSError, ValueError):
        pass  # not analysed yet (or unreadable): analysed now
    docs = list(nlp.pipe([fold_apostrophes(t) for t in texts]))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(DocBin(docs=docs).to_bytes())
        os.replace(temporary, path)  # atomic: another process reads the old file or the whole new one
        for old in sorted(folder.glob("*.spacy"), key=lambda f: f.stat().st_mtime)[:-KEPT_PAGE_ANALYSES]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache: analysed again next time
    return docs


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
