"""Highlight query words in a passage for the staff console, safely.

Why: the query is typed by a person and the passage comes from web pages; neither may become
markup. Matches are found on the plain text (accent- and case-insensitive, like the search), then
every piece is HTML-escaped and only the matched pieces are wrapped in <mark>. No regex ever runs
on escaped text, so "&amp;" can never be split and "<script>" always stays text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from bot.knowledge.textnorm import fold, fold_apostrophes, strip_accents
from bot.serving.web.texts import highlight_stopwords

_WORD = re.compile(r"\w+", re.UNICODE)
MIN_TERM_CHARS = 2


def query_terms(query: str) -> list[str]:
    """Folded words of the query worth highlighting (no stopwords, no 1-letter words)."""
    stop = highlight_stopwords()
    terms = {w for w in _WORD.findall(fold(query)) if len(w) >= MIN_TERM_CHARS and w not in stop}
    return sorted(terms, key=len, reverse=True)


def _fold_with_index(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each folded character, the index of its original character."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        piece = strip_accents(fold_apostrophes(char)).casefold().replace("œ", "oe").replace("æ", "ae")
        folded.append(piece)
        origin.extend([index] * len(piece))
    return "".join(folded), origin


def match_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping (start, end) spans of `text` where a term starts a word."""
    folded, origin = _fold_with_index(text)
    spans: list[tuple[int, int]] = []
    for term in terms:
        for match in re.finditer(r"(?<!\w)" + re.escape(term), folded):
            start = origin[match.start()]
            end = origin[match.end() - 1] + 1
            spans.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight_html(text: str, query: str) -> str:
    """`text` as HTML: everything escaped, query words wrapped in <mark>."""
    out: list[str] = []
    cursor = 0
    for start, end in match_spans(text, query_terms(query)):
        out.append(html.escape(text[cursor:start]))
        out.append("<mark>" + html.escape(text[start:end]) + "</mark>")
        cursor = end
    out.append(html.escape(text[cursor:]))
    return "".join(out)
