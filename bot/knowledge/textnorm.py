"""Text normalisation shared by ingest, validation and search.

Why: users type without accents, with "’" or "'" and random spacing, and quotes copied from the
pages must still be recognised; every comparison in the package goes through these helpers so
that they all agree on what "the same text" means.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Typographic apostrophes and quote-like marks that people (and web pages) use for "'".
_APOSTROPHES = dict.fromkeys(map(ord, "’‘ʼ`´′"), "'")
_SPACES = re.compile(r"\s+")
# A word: letters only (no digits, no underscore).
_WORD = re.compile(r"[^\W\d_]+")
# A number as written in French pages: "118 000", "45 000", "2030", "90 %" -> digits only.
_NUMBER = re.compile(r"\d+(?:[ \u00a0\u202f.]\d{3}(?!\d))*")
# A year the pages could speak of (1800-2099), as a word.
YEAR = re.compile(r"\b(?:1[89]\d\d|20\d\d)\b")


def fold_apostrophes(text: str) -> str:
    """Replace typographic apostrophes by the ASCII one."""
    return text.translate(_APOSTROPHES)


def collapse_whitespace(text: str) -> str:
    """Turn every run of whitespace (incl. newlines and no-break spaces) into one space."""
    return _SPACES.sub(" ", text).strip()


def strip_accents(text: str) -> str:
    """Remove diacritics: "Yémen" -> "Yemen", "œ" stays (it is a letter, not an accent)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Accent-, case-, apostrophe- and whitespace-insensitive form, for matching user text.

    Kept for the last 65,536 texts: answering one question folds the same page words and cue
    phrases hundreds of times (~1.5 ms of a ~8 ms answer before)."""
    folded = strip_accents(fold_apostrophes(text)).casefold()
    return collapse_whitespace(folded.replace("œ", "oe").replace("æ", "ae"))


def folded_words(text: str) -> list[str]:
    """The words of the folded text, in order: what validation and the answers compare word by word."""
    return _WORD.findall(fold(text))


def quote_form(text: str) -> str:
    """Form used to check that a quote is verbatim: only whitespace and apostrophes are folded."""
    return collapse_whitespace(fold_apostrophes(unicodedata.normalize("NFC", text)))


def numbers_in(text: str) -> set[str]:
    """Digit strings in text, thousands separators removed ("118 000" -> "118000")."""
    return {re.sub(r"\D", "", match) for match in _NUMBER.findall(text)}


def digits_only(text: str) -> str:
    """Digits of a phone or fax number, to compare numbers written with different spacing."""
    return re.sub(r"\D", "", text)
