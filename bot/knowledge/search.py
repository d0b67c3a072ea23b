"""Passage search: BM25 over spaCy lemmas, accent/case-insensitive, tolerant of typos.

Why: for questions no intent covers, the assistant can still offer the passage of the documents
that answers them, or honestly say the documents do not. Scores are normalised to 0..1 so the
caller can use one threshold, GOOD_SCORE, for "this passage answers the question".

Normalised score = 1 - exp(-raw / scale), where scale is the BM25 score of an average-length
passage containing every word of the question once (words found in no passage count with the
highest idf). So: ~0.63 = every meaningful word of the question is in the passage; ~0.4 = about
half of it; < 0.2 = one common word matched (typically an off-topic question).
"""

from __future__ import annotations

import argparse
import difflib
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.knowledge import paths
from bot.knowledge.records import Passage
from bot.knowledge.textnorm import fold, fold_apostrophes
from bot.knowledge.yamlio import load_yaml

if TYPE_CHECKING:
    from spacy.tokens import Doc

log = logging.getLogger(__name__)

# Calibrated on tests/search_questions.yml: the best passage of every on-topic question scores
# >= 0.27 (most >= 0.5), off-topic questions score < 0.20. At or above GOOD_SCORE, offer the passage; below,
# say the documents do not answer.
GOOD_SCORE = 0.25
K1 = 1.2
B = 0.75
FUZZY_WEIGHT = 0.8  # a typo-corrected word counts a bit less than an exact one
BIGRAM_WEIGHT = 0.5  # two neighbouring words of the question found side by side
# A word of the same family ("demandé" / "demande", "évacué" / "évacuation": the same first
# STEM_CHARS letters of words of at least STEM_MIN_LENGTH) counts this much of an exact match;
# a passage gets, for each word of the question, the better of the two.
STEM_WEIGHT = 0.4
STEM_CHARS = 5
STEM_MIN_LENGTH = 6
MIN_FUZZY_LENGTH = 4
# A word of the same meaning (search_words.yml `same_meaning`: "mer" / "maritimes", "papiers" /
# "documents") counts this much of an exact match; like a family word, it is an alternative for
# the question's word, never an extra word (the query's scale does not change).
SYNONYM_WEIGHT = 0.6
# Two edits apart, a word still stands for a vocabulary word this alike (difflib ratio), as in
# bot.knowledge.sentence_search.RESPELL_CUTOFF.
TYPO_RATIO = 0.8
WORDS_FILE = Path(__file__).with_name("search_words.yml")


@dataclass(frozen=True)
class Token:
    """A meaningful word: its folded forms (lemma first, then surface) and whether it may be a typo."""

    forms: tuple[str, ...]
    unknown_word: bool = False  # not a known French word (no word vector): typo correction allowed


# texts -> per text, its meaningful tokens in order
TermAnalyzer = Callable[[Sequence[str]], list[list[Token]]]


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Folded French stop words (spaCy's list + bot/knowledge/search_words.yml)."""
    from spacy.lang.fr.stop_words import STOP_WORDS

    words = load_yaml(WORDS_FILE)
    folded = {fold(w) for w in STOP_WORDS} | {fold(w) for w in words["extra_stop_words"]}
    return frozenset(folded - keep_words())


@lru_cache(maxsize=1)
def keep_words() -> frozenset[str]:
    """Folded stop words that name things in these documents ("premier" Dialogue, "huit" points)."""
    return frozenset(fold(w) for w in load_yaml(WORDS_FILE)["keep_words"])


@lru_cache(maxsize=1)
def same_meaning() -> dict[str, frozenset[str]]:
    """Folded word -> the other folded words of its `same_meaning` groups (search_words.yml)."""
    return _word_groups("same_meaning")


@lru_cache(maxsize=1)
def counted_alike() -> dict[str, frozenset[str]]:
    """Folded word -> the other folded words of its `counted_alike` groups (search_words.yml): what
    "combien de <word> ?" counts may be written with them ("combien de pays" / "195 États")."""
    return _word_groups("counted_alike")


def _word_groups(key: str) -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = defaultdict(set)
    for group in load_yaml(WORDS_FILE).get(key) or []:
        folded = {fold(fold_apostrophes(str(word))) for word in group}
        for word in folded:
            table[word] |= folded - {word}
    return {word: frozenset(others) for word, others in table.items()}


@lru_cache(maxsize=1)
def demonym_endings() -> tuple[str, ...]:
    """Endings that make an adjective of a place name ("-ienne" of "chilienne"), longest first."""
    endings = {fold(str(e)) for e in load_yaml(WORDS_FILE).get("demonym_endings") or []}
    return tuple(sorted(endings, key=lambda e: (-len(e), e)))


@lru_cache(maxsize=1)
def number_words() -> dict[str, str]:
    """Folded number word -> its digits ("sept" -> "7"), from search_words.yml."""
    return {fold(str(word)): str(value) for word, value in (load_yaml(WORDS_FILE).get("number_words") or {}).items()}


def spacy_terms(texts: Sequence[str], docs: Sequence[Doc] | None = None) -> list[list[Token]]:
    """Meaningful tokens of each text (lemma + surface form), using the shared spaCy pipeline
    (or the texts' `docs`, analysed already); a number written as a word is read as its digits
    first ("sept" -> "7", "sept")."""
    from bot.knowledge.nlp import search_docs

    stops = stop_words()
    numbers = number_words()
    result: list[list[Token]] = []
    docs = search_docs(texts) if docs is None else docs
    for doc in docs:
        tokens: list[Token] = []
        for token in doc:
            if token.is_punct or token.is_space:
                continue
            surface = fold(token.text).strip("'-")
            lemma = fold(token.lemma_).strip("'-") or surface
            if surface in numbers:
                tokens.append(Token((numbers[surface], surface)))
                continue
            if len(surface) < 2 and not surface.isdigit():
                continue
            if surface in stops or lemma in stops or not any(ch.isalnum() for ch in surface):
                continue
            forms = tuple(dict.fromkeys((lemma, surface)))
            tokens.append(Token(forms, unknown_word=not token.has_vector and not surface.isdigit()))
        result.append(tokens)
    return result


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein + adjacent transpositions)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _deletions(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))} | {term}


class TypoMatcher:
    """Closest vocabulary word for an unknown word ("rapatriment" -> "rapatriement").

    A symmetric-deletion index (each word and its one-letter deletions) finds candidates in a few
    dictionary look-ups; candidates are then checked with the real edit distance.
    """

    def __init__(self, document_frequency: Counter[str]) -> None:
        self._df = document_frequency
        self._by_deletion: dict[str, set[str]] = defaultdict(set)
        self._by_first_letter: dict[str, list[str]] = defaultdict(list)
        for term in sorted(document_frequency):
            if len(term) >= MIN_FUZZY_LENGTH and not term.isdigit():
                self._by_first_letter[term[0]].append(term)
                for variant in _deletions(term):
                    self._by_deletion[variant].add(term)

    def closest(self, word: str) -> str | None:
        """Best vocabulary word within 1 edit (2 for words of 8+ letters), or None.

        The deletion index finds the words one deletion away from each other; a longer word two
        real edits away ("evacuassion" / "evacuation") shares no deletion with it, so it is then
        looked for among the words of the same first letter (difflib ratio, as `respell` does).
        """
        if len(word) < MIN_FUZZY_LENGTH or word.isdigit():
            return None
        limit = 1 if len(word) < 8 else 2
        candidates = set().union(*(self._by_deletion.get(v, set()) for v in _deletions(word)))
        scored = [(edit_distance(word, c), -self._df[c], c) for c in candidates]
        scored = [item for item in scored if item[0] <= limit]
        if scored:
            return min(scored)[2]
        if limit < 2:
            return None
        same_start = self._by_first_letter.get(word[0], [])
        close = difflib.get_close_matches(word, same_start, n=3, cutoff=TYPO_RATIO)
        close = [c for c in close if edit_distance(word, c) <= limit]
        return close[0] if close else None


@dataclass(frozen=True)
class _QueryTerm:
    term: str | None  # vocabulary term, None if the word is not in any passage
    weight: float
    idf: float
    stem: str | None = None  # the word's family term, if a passage has it
    synonyms: tuple[str, ...] = ()  # vocabulary terms of the same meaning (words or family terms)


def _bigram(first: str, second: str) -> str:
    return f"{first}_{second}"


def _stem(form: str) -> str | None:
    """The family term of a folded word ("~deman" for "demander" and "demande"), None if short."""
    return f"~{form[:STEM_CHARS]}" if len(form) >= STEM_MIN_LENGTH and form.isalpha() else None


class PassageIndex:
    """BM25 index over passages (section + text), built once; search takes a few milliseconds.

    Terms are the folded lemma and surface form of every meaningful word, plus lemma bigrams of
    neighbouring words ("aide_mouvement"), which favour passages using the question's expressions.
    """

    def __init__(
        self, passages: Sequence[Passage], analyzer: TermAnalyzer, b: float = B, query_analyzer: TermAnalyzer | None = None
    ) -> None:
        self.passages = tuple(passages)
        # Queries may be analysed apart from the passages: a user's question is never kept with
        # the pages' analyses (bot.knowledge.nlp.page_docs writes those to disk).
        self._analyzer = query_analyzer or analyzer
        self._b = b  # length normalisation: sentences of very different lengths want less of it
        token_lists = analyzer([f"{p.section}\n{p.text}" for p in self.passages])
        self._tf: list[Counter[str]] = []
        self._lengths: list[int] = []
        df: Counter[str] = Counter()
        for tokens in token_lists:
            counts = Counter(form for token in tokens for form in token.forms)
            self._lengths.append(sum(counts.values()))
            counts.update(s for s in {_stem(token.forms[0]) for token in tokens} if s)
            counts.update(_bigram(a.forms[0], b.forms[0]) for a, b in zip(tokens, tokens[1:], strict=False))
            self._tf.append(counts)
            df.update(counts.keys())
        self._df = df
        self._avg_length = (sum(self._lengths) / len(self._lengths)) if self._lengths else 1.0
        count = len(self.passages)
        self._idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self._max_idf = math.log(1 + (count + 0.5) / 0.5)
        self._postings: dict[str, list[int]] = defaultdict(list)
        for position, counts in enumerate(self._tf):
            for term in counts:
                self._postings[term].append(position)
        self._typos = TypoMatcher(Counter({t: n for t, n in df.items() if "_" not in t and "~" not in t}))

    @classmethod
    def build(
        cls,
        passages: Iterable[Passage],
        analyzer: TermAnalyzer | None = None,
        b: float = B,
        query_analyzer: TermAnalyzer | None = None,
    ) -> PassageIndex:
        """Index passages with spaCy lemmas (or another analyzer, e.g. in tests)."""
        return cls(list(passages), analyzer or spacy_terms, b, query_analyzer)

    def _resolve(self, token: Token) -> tuple[str | None, float]:
        """Vocabulary term for a query word (exact form, else typo correction) and its weight."""
        known = next((form for form in token.forms if form in self._df), None)
        if known is not None:
            return known, 1.0
        if token.unknown_word:
            corrected = next((c for c in map(self._typos.closest, token.forms) if c), None)
            if corrected is not None:
                return corrected, FUZZY_WEIGHT
        return None, 0.0

    def closest_term(self, word: str) -> str | None:
        """The vocabulary word a misspelt word stands for, if any ("rapatriment")."""
        return word if word in self._df else self._typos.closest(word)

    def _synonyms(self, token: Token) -> tuple[str, ...]:
        """Vocabulary terms meaning what the token means: each word of its groups, as written in
        a passage or else by its family term ("maritimes" -> "~marit")."""
        table = same_meaning()
        found: list[str] = []
        for other in sorted({o for form in token.forms for o in table.get(form, ())}):
            term = other if other in self._df else _stem(other)
            if term is not None and term in self._df and term not in token.forms:
                found.append(term)
        return tuple(dict.fromkeys(found))

    def query_terms(self, query: str) -> list[_QueryTerm]:
        """The weighted terms a question is searched with (unknown words have term None)."""
        terms: dict[str, _QueryTerm] = {}
        unknown: list[_QueryTerm] = []
        keys: list[str | None] = []
        for token in self._analyzer([query])[0]:
            term, weight = self._resolve(token)
            stem = _stem(token.forms[0])
            stem = stem if stem in self._df else None
            synonyms = self._synonyms(token)
            if term is None:
                unknown.append(_QueryTerm(None, 0.0, self._max_idf, stem, synonyms))
                keys.append(None)
                continue
            if term not in terms or terms[term].weight < weight:
                terms[term] = _QueryTerm(term, weight, self._idf[term], stem, synonyms)
            keys.append(token.forms[0] if weight == 1.0 else term)
        for first, second in zip(keys, keys[1:], strict=False):
            if first is None or second is None:
                continue
            pair = _bigram(first, second)
            if pair in self._df and pair not in terms:
                terms[pair] = _QueryTerm(pair, BIGRAM_WEIGHT, self._idf[pair])
        return [*terms.values(), *unknown]

    def _bm25(self, position: int, term: str, idf: float) -> float:
        tf = self._tf[position][term]
        norm = 1 - self._b + self._b * self._lengths[position] / self._avg_length
        return idf * tf * (K1 + 1) / (tf + K1 * norm)

    def search(self, query: str, k: int = 3) -> list[tuple[Passage, float, float]]:
        """Top k (passage, normalised score 0..1, raw BM25 score) with score > 0, best first."""
        query_terms = self.query_terms(query)
        scores: dict[int, float] = defaultdict(float)
        for qt in query_terms:
            word: dict[int, float] = {}
            if qt.stem is not None:
                for position in self._postings[qt.stem]:
                    word[position] = STEM_WEIGHT * self._bm25(position, qt.stem, self._idf[qt.stem])
            for synonym in qt.synonyms:
                idf = min(self._idf[synonym], qt.idf)  # a rarer word of the same meaning is no better a match
                for position in self._postings[synonym]:
                    alike = SYNONYM_WEIGHT * self._bm25(position, synonym, idf)
                    word[position] = max(alike, word.get(position, 0.0))
            if qt.term is not None:
                for position in self._postings[qt.term]:
                    exact = qt.weight * self._bm25(position, qt.term, qt.idf)
                    word[position] = max(exact, word.get(position, 0.0))
            for position, score in word.items():
                scores[position] += score
        # What a passage containing each query word once would score: the scale of this query.
        scale = sum(qt.idf * (qt.weight or 1.0) for qt in query_terms) or 1.0
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self.passages[item[0]].id))
        log.debug("search: %d query terms, %d candidate passages", len(query_terms), len(scores))
        return [
            (self.passages[position], round(1 - math.exp(-raw / scale), 4), round(raw, 4))
            for position, raw in ranked[:k]
            if raw > 0
        ]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `search` subcommand."""
    parser = subparsers.add_parser(
        "search", help="search the passages for a French question",
        description=f"Ranked passages with normalised scores (a good match scores >= {GOOD_SCORE}).",
    )  # fmt: skip
    parser.add_argument("question", help='e.g. "comment rentrer chez moi depuis la Libye ?"')
    parser.add_argument("-k", type=int, default=3, help="number of passages (default 3)")
    parser.add_argument("--knowledge-dir", type=Path, default=None,
                        help=f"knowledge folder (default: {paths.knowledge_dir()})")  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """CLI entry point of `search`: prints hits, exit 1 if none is good enough."""
    from bot.knowledge.knowledge_base import KnowledgeBase

    kb = KnowledgeBase.load(args.knowledge_dir)
    hits = kb.search(args.question, k=args.k)
    for rank, hit in enumerate(hits, 1):
        marker = "good" if hit.score >= GOOD_SCORE else "weak"
        print(f"{rank}. [{hit.score:.2f} {marker}] {hit.passage_id} — {hit.title} / {hit.section}")
        print(f"   {hit.text[:300]}")
    if not hits:
        print("Aucun passage trouvé.")
    return 0 if hits and hits[0].score >= GOOD_SCORE else 1
