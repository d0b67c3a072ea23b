"""Split the content of a page into passages: a section title plus a short run of text.

Why: search and quotes work on passages, so a passage must be small enough to be a precise answer
and large enough to stand on its own. The page structure is inferred from line shapes only
(headings, "- item" lists, paragraphs), never from the content of particular pages.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# A paragraph shorter than this is merged with the next one of the same section.
MIN_PASSAGE_WORDS = 40
# Longer runs of text are cut at sentence ends (about one phone screen).
MAX_PASSAGE_WORDS = 80
# A line this short with no final punctuation reads as a title, an address line or a list entry.
MAX_SHORT_WORDS = 16
MAX_SHORT_CHARS = 120
TITLE_WORDS = 14
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
_ITEM_MARKER = re.compile(r"^[-•*–]\s+")
# Whitespace after a sentence end and before a capital/quote, not after "M." or "Tel.".
_SENTENCE_BREAK = re.compile(r"(?<=[a-zà-ÿ0-9»)][.!?…])\s+(?=[A-ZÀ-Ý«\"])")
_SENTENCE_END = (".", "!", "?", "…", ";", "»", '"')


class LineKind(enum.Enum):
    """Shape of a line of page text."""

    SEPARATOR = "separator"  # "-" alone: closes an accordion title in these captures
    ITEM = "item"  # "- something"
    SHORT = "short"  # title, address line, label
    PARAGRAPH = "paragraph"  # running text


@dataclass(frozen=True)
class PagePassage:
    """One passage of a page, before it is written to the knowledge files."""

    number: int
    section: str
    text: str


def classify(line: str) -> LineKind:
    """Shape of a stripped, non-empty line."""
    if not _LETTER_OR_DIGIT.search(line):
        return LineKind.SEPARATOR
    if _ITEM_MARKER.match(line):
        return LineKind.ITEM
    words = len(line.split())
    if words <= MAX_SHORT_WORDS and len(line) <= MAX_SHORT_CHARS and not line.endswith(_SENTENCE_END):
        return LineKind.SHORT
    return LineKind.PARAGRAPH


def _strip_marker(line: str) -> str:
    return _ITEM_MARKER.sub("", line, count=1).strip()


@dataclass
class _Group:
    section: str
    lines: list[str] = field(default_factory=list)
    listish: bool = False

    @property
    def words(self) -> int:
        return sum(len(line.split()) for line in self.lines)

    @property
    def open_ended(self) -> bool:
        """True when the last line announces what follows ("... comprennent :")."""
        return bool(self.lines) and self.lines[-1].endswith(":")


def _heading_at(lines: Sequence[str], kinds: Sequence[LineKind], index: int) -> tuple[str, int] | None:
    """(section title, lines consumed) if the line at index is a heading, else None."""
    kind = kinds[index]
    nxt = kinds[index + 1] if index + 1 < len(kinds) else None
    if kind is LineKind.ITEM and nxt is LineKind.SEPARATOR:
        return _strip_marker(lines[index]), 2  # accordion title: "- Title" then "-"
    inside_list = index > 0 and kinds[index - 1] is LineKind.ITEM
    if kind is LineKind.SHORT and not lines[index].startswith("#"):
        following = index + 1
        while following < len(kinds) and kinds[following] is LineKind.SEPARATOR:
            following += 1
        if following >= len(kinds):
            return None
        if kinds[following] is LineKind.PARAGRAPH:
            return lines[index], 1
        if (
            kinds[following] is LineKind.ITEM
            and not inside_list
            and _heading_at(lines, kinds, following) is None
        ):
            return lines[index], 1
    return None


def split_passages(body: Sequence[str]) -> list[PagePassage]:
    """Passages of a page body (navigation already removed), in page order, numbered from 1."""
    lines = [line.strip() for line in body if line.strip()]
    kinds = [classify(line) for line in lines]
    groups: list[_Group] = []
    section = ""
    index = 0
    while index < len(lines):
        kind = kinds[index]
        if kind is LineKind.SEPARATOR:
            index += 1
            continue
        heading = _heading_at(lines, kinds, index)
        if heading is not None:
            section, consumed = heading
            index += consumed
            continue
        current = groups[-1] if groups and groups[-1].section == section else None
        line = lines[index]
        words = len(line.split())
        if kind is LineKind.PARAGRAPH:
            # Short paragraphs (and a trailing "Cliquez ici ..." line) stay with their neighbour.
            joins = current is not None and (
                current.open_ended
                or (
                    not current.listish
                    and (current.words < MIN_PASSAGE_WORDS or words < MIN_PASSAGE_WORDS // 3)
                )
            )
            if joins and current is not None:
                current.lines.append(line)
            else:
                groups.append(_Group(section, [line]))
        else:
            announces = kind is LineKind.SHORT and line.endswith(":")
            if current is not None and (
                current.listish or current.open_ended or (announces and not current.listish)
            ):
                current.lines.append(line)
            else:
                groups.append(_Group(section, [line], listish=True))
        index += 1
    texts = [(group.section, text) for group in groups for text in _split_long(group)]
    return [PagePassage(number, section, text) for number, (section, text) in enumerate(texts, 1)]


def _sentence_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a line; the text between them is whitespace only."""
    spans = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(line):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(line)))
    return spans


def _split_long(group: _Group) -> list[str]:
    """Texts of a group: one, or several runs of whole sentences when the group is long.

    Why: an answer shown on a phone is a few sentences; long paragraphs are cut at sentence ends
    into balanced pieces of at most about MAX_PASSAGE_WORDS words. Lists are never cut.
    """
    text = "\n".join(group.lines)
    if group.listish or group.words <= MAX_PASSAGE_WORDS:
        return [text]
    sentences = [(i, a, b) for i, line in enumerate(group.lines) for a, b in _sentence_spans(line)]
    target = group.words / math.ceil(group.words / MAX_PASSAGE_WORDS)
    chunks: list[list[tuple[int, int, int]]] = [[]]
    size = 0
    for sentence in sentences:
        index, start, end = sentence
        words = len(group.lines[index][start:end].split())
        if chunks[-1] and size + words > target * 1.2:
            chunks.append([])
            size = 0
        chunks[-1].append(sentence)
        size += words
    if len(chunks) > 1 and _words(group.lines, chunks[-1]) < MIN_PASSAGE_WORDS // 2:
        chunks[-2].extend(chunks.pop())  # no stray closing sentence on its own
    return [_chunk_text(group.lines, chunk) for chunk in chunks]


def _words(lines: Sequence[str], chunk: Sequence[tuple[int, int, int]]) -> int:
    return sum(len(lines[i][a:b].split()) for i, a, b in chunk)


def _chunk_text(lines: Sequence[str], chunk: Sequence[tuple[int, int, int]]) -> str:
    """Verbatim text of consecutive sentences: original spacing within a line, "\n" between lines."""
    parts: list[str] = []
    for index in dict.fromkeys(i for i, _, _ in chunk):
        spans = [(a, b) for i, a, b in chunk if i == index]
        parts.append(lines[index][spans[0][0] : spans[-1][1]])
    return "\n".join(parts)


def derive_title(body: Sequence[str]) -> str:
    """A default page title: the first title-like line, else the start of the first sentence."""
    lines = [line.strip() for line in body if line.strip()]
    for line in lines[:3]:
        if classify(line) is LineKind.SHORT and not line.startswith("#"):
            return line
    for line in lines:
        if classify(line) is LineKind.PARAGRAPH:
            sentence = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
            words = sentence.split()
            if len(words) <= TITLE_WORDS:
                return sentence.rstrip(".")
            return " ".join(words[:TITLE_WORDS]) + "…"
    return ""
