"""Replies shaped for phones: one answer, one message, under each platform's limit.

Pure functions, no I/O. Lengths are counted in UTF-16 code units (Telegram's unit; for Twilio and
Messenger, which count characters, it only errs on the short side when emoji are used).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.serving.messaging.texts import Choice

LIMITS = {"whatsapp": 1600, "messenger": 2000, "telegram": 4096}

# The source line the domain's answers end with ("\n\nSource : <titles>" plus, sometimes, a
# closing advice): it stays in the same message as the end of its answer.
_SOURCE = re.compile(r"(?:^|\n)(Source\s*:)", re.MULTILINE)
# Between sentences (after . ! ? … optionally closed by a quote or bracket) or between lines.
_BOUNDARY = re.compile(r"(?<=[.!?…])[»\"')\]]*[ \t\u00a0]+|\n+")
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)°]?\s*$")


def size(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _sentences(text: str) -> list[str]:
    """`text` cut after each sentence or line; joining the pieces gives `text` back."""
    pieces, start = [], 0
    for match in _BOUNDARY.finditer(text):
        pieces.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return [piece for piece in pieces if piece]


def _hard_cut(piece: str, limit: int) -> list[str]:
    """A single sentence longer than the limit: cut between words (between characters if need be)."""
    parts: list[str] = []
    rest = piece
    while size(rest) > limit:
        cut = limit
        while size(rest[:cut]) > limit:
            cut -= 1
        space = rest.rfind(" ", 0, cut)
        cut = space + 1 if space > limit // 2 else cut
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        parts.append(rest)
    return parts


def _pack(pieces: list[str], limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if size(current + piece.rstrip()) <= limit:
            current += piece
            continue
        if current.strip():
            chunks.append(current.strip())
        current = ""
        if size(piece.rstrip()) > limit:
            *full, current = _hard_cut(piece, limit)
            chunks.extend(part.strip() for part in full if part.strip())
        else:
            current = piece
    if current.strip():
        chunks.append(current.strip())
    return chunks


def split_message(text: str, limit: int, tail: str = "") -> list[str]:
    """`text` (+ `tail`, e.g. a numbered menu, appended after a blank line) as messages of at most
    `limit` units. One message whenever it fits; otherwise cut only between sentences or lines,
    and the "Source : ..." part (and the tail) stay in the last message with the end of the answer."""
    text = text.strip()
    whole = f"{text}\n\n{tail}" if tail and text else (text or tail)
    if size(whole) <= limit:
        return [whole] if whole else []
    sources = list(_SOURCE.finditer(text))
    body, end = text, ""
    if sources:
        start = sources[-1].start(1)
        body, end = text[:start].rstrip(), text[start:].strip()
    end = "\n\n".join(part for part in (end, tail.strip()) if part)
    if size(end) > limit - 1:  # a source or menu that long cannot stay whole: plain cutting
        return _pack(_sentences(whole), limit)
    pieces = _sentences(body)
    # The last message: the end of the answer (as many whole sentences as fit) and `end`.
    last: list[str] = []
    while pieces and size("".join([pieces[-1], *last]).strip() + "\n\n" + end) <= limit:
        last.insert(0, pieces.pop())
    if not last and pieces:  # the last sentence alone is too long to share a message with `end`
        return [*_pack(pieces, limit), end]
    closing = f"{''.join(last).strip()}\n\n{end}" if last else end
    return [*_pack(pieces, limit), closing]


def numbered_menu(choices: Sequence[Choice], prompt: str) -> str:
    """WhatsApp has no buttons: "1. ...\\n2. ...\\nRépondez 1, 2 ou 3." (`prompt` holds {choices})."""
    numbers = [str(i) for i in range(1, len(choices) + 1)]
    spoken = numbers[0] if len(numbers) == 1 else f"{', '.join(numbers[:-1])} ou {numbers[-1]}"
    lines = [f"{number}. {choice.title}" for number, choice in zip(numbers, choices, strict=True)]
    return "\n".join([*lines, prompt.format(choices=spoken)])


def chosen(text: str, menu: Sequence[Choice]) -> Choice | None:
    """The menu entry a reply such as "2", " 2. " or "2)" picks, if any."""
    match = _NUMBER.match(text or "")
    if not match or not menu:
        return None
    index = int(match.group(1))
    return menu[index - 1] if 1 <= index <= len(menu) else None


def choices_of(message: dict) -> list[Choice]:
    """The buttons or quick replies of a Rasa bot message as menu entries."""
    raw = message.get("buttons") or message.get("quick_replies") or []
    result = []
    for item in raw:
        if isinstance(item, dict) and item.get("title"):
            result.append(Choice(str(item["title"]), str(item.get("payload") or item["title"])))
    return result
