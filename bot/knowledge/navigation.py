"""Detection of the site navigation that repeats at the top (or bottom) of every page.

Why: the pages are raw web captures; their menus ("Qui sommes nous", "Agir", ...) would pollute
search and passages. Nothing here knows these five pages: a line is navigation when it occurs in
most pages of the corpus and sits in the leading (or trailing) block of a page.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.knowledge.textnorm import fold

# Non-repeated lines tolerated inside a navigation block (a page-specific menu entry, a variant of
# the site tagline); a longer run of page-specific lines is the start of the content.
MAX_GAP = 2
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class PageLayout:
    """A page split into its navigation header, its content and its navigation footer."""

    header: tuple[str, ...]
    body: tuple[str, ...]
    footer: tuple[str, ...]


def repeated_lines(pages: Sequence[Sequence[str]]) -> frozenset[str]:
    """Folded lines that occur in more than half of the pages (and in at least two)."""
    if len(pages) < 2:
        return frozenset()
    counts = Counter(line for page in pages for line in {fold(text) for text in page if text.strip()})
    needed = max(2, len(pages) // 2 + 1)
    return frozenset(line for line, count in counts.items() if count >= needed)


def _anchor_runs(lines: Sequence[str], repeated: frozenset[str]) -> tuple[list[int], list[tuple[int, int]]]:
    """Indexes of lines with letters, and runs [start, end) of repeated ones among them."""
    lettered = [i for i, line in enumerate(lines) if _LETTER.search(line)]
    runs: list[tuple[int, int]] = []
    for position, index in enumerate(lettered):
        if fold(lines[index]) not in repeated:
            continue
        if runs and runs[-1][1] == position:
            runs[-1] = (runs[-1][0], position + 1)
        else:
            runs.append((position, position + 1))
    return lettered, runs


def split_layout(lines: Sequence[str], repeated: frozenset[str]) -> PageLayout:
    """Separate navigation header/footer from the content of one page.

    Runs of repeated lines at the top (bottom) form the header (footer); a few page-specific lines
    between two runs (a page's own menu entry, a variant of the tagline) belong to the block, but
    header and footer never merge: short content between them stays content.
    """
    lettered, runs = _anchor_runs(lines, repeated)
    if not runs:
        return PageLayout((), tuple(lines), ())
    last = len(runs) - 1 if len(lettered) - runs[-1][1] <= MAX_GAP else None
    head = foot = 0  # runs[:head] are header runs, runs[len(runs) - foot:] footer runs
    if runs[0][0] <= MAX_GAP:
        head = 1
        while head < len(runs) and head != last and runs[head][0] - runs[head - 1][1] <= MAX_GAP:
            head += 1
    if last is not None and last >= head:
        foot = 1
        while last - foot >= head and runs[last - foot + 1][0] - runs[last - foot][1] <= MAX_GAP:
            foot += 1
    header_end = lettered[runs[head - 1][1] - 1] + 1 if head else 0
    footer_start = lettered[runs[len(runs) - foot][0]] if foot else len(lines)
    return PageLayout(
        tuple(lines[:header_end]), tuple(lines[header_end:footer_start]), tuple(lines[footer_start:])
    )
