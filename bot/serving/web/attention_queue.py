"""The staff attention queue: conversations that need a person, whether someone handled them, and
their transcripts with personal data hidden unless staff ask to see it.

Why an event in the conversation for "handled": the audit (who, when) then lives in the tracker
store with the conversation (SQLite, Redis, SQL alike), expires with it, and every replica of the
web service sees the same state. The event is the slot `staff_handled` = {"by": name, "at": epoch
seconds}, appended through Rasa's HTTP API like the chat's feedback. A conversation counts as
handled when its latest mark comes after the latest thing that put it in the queue: a new request
(or a new distress message) after the mark brings it back.

Pure functions over serialised Rasa events (or the lighter ones of event_scan.py): no I/O here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.serving.redact import redact, shorten
from bot.serving.web.conversations import (
    FALLBACK_INTENT,
    FALLBACKS_IN_A_ROW,
    FEEDBACK_SLOT,
    HANDOFF_SLOT,
    STAFF_ASK_PREFIX,
    URGENT_SLOT,
    HandoffSummary,
    TranscriptLine,
    handoff_summary,
    priority_order,
    transcript_lines,
)
from bot.serving.web.event_scan import Conversation, event_text

HANDLED_SLOT = "staff_handled"
MAX_NAME_CHARS = 60
EXCERPT_CHARS = 120


@dataclass(frozen=True)
class HandledMark:
    """One "handled" click: who (the name given at login, or the API caller's) and when."""

    by: str
    at: float


@dataclass(frozen=True)
class QueueItem:
    """A conversation of the queue, with its last user message (redacted) and its handled state."""

    summary: HandoffSummary
    flagged_at: float  # the latest event that put it in the queue
    handled: HandledMark | None  # the latest mark, if it came after `flagged_at`
    marks: tuple[HandledMark, ...] = ()
    last_user: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def excerpt(self) -> str:
        """The person's last message, redacted and shortened (its text is read only when shown)."""
        return shorten(event_text(self.last_user), EXCERPT_CHARS) if self.last_user else ""

    def as_json(self) -> dict[str, Any]:
        return {
            **self.summary.__dict__,
            "reasons": list(self.summary.reasons),
            "excerpt": self.excerpt,
            "flagged_at": self.flagged_at,
            "handled": self.handled.__dict__ if self.handled else None,
            "audit": [mark.__dict__ for mark in self.marks],
        }


def clean_name(name: str) -> str:
    """A staff name as stored in the audit: printable, one line, at most MAX_NAME_CHARS."""
    printable = "".join(ch if ch.isprintable() else " " for ch in name)
    return " ".join(printable.split())[:MAX_NAME_CHARS]


def handled_event(by: str, now: float | None = None) -> dict[str, Any]:
    """The Rasa event that records "handled by `by` now" in a conversation."""
    at = time.time() if now is None else now
    return {"event": "slot", "name": HANDLED_SLOT, "value": {"by": clean_name(by), "at": at}, "timestamp": at}


def _mark(event: dict[str, Any]) -> HandledMark | None:
    value = event.get("value")
    if not isinstance(value, dict):
        return None
    try:
        at = float(value.get("at") or event.get("timestamp") or 0)
    except (TypeError, ValueError):
        at = float(event.get("timestamp") or 0)
    return HandledMark(clean_name(str(value.get("by") or "")), at)


def handled_marks(events: Iterable[dict[str, Any]]) -> list[HandledMark]:
    """Every "handled" mark of a conversation, oldest first (the audit trail)."""
    marks = [_mark(e) for e in events if e.get("event") == "slot" and e.get("name") == HANDLED_SLOT]
    return [mark for mark in marks if mark is not None]


def _intent(event: dict[str, Any]) -> str:
    return str(((event.get("parse_data") or {}).get("intent") or {}).get("name") or "")


def last_flag_at(events: Iterable[dict[str, Any]]) -> float | None:
    """When something last put the conversation in the queue (same triggers as handoff_summary)."""
    last: float | None = None
    streak = 0
    for event in events:
        kind, stamp = event.get("event"), float(event.get("timestamp") or 0)
        if kind == "user":
            streak = streak + 1 if _intent(event) == FALLBACK_INTENT else 0
            if streak >= FALLBACKS_IN_A_ROW:
                last = stamp
        elif kind == "slot":
            name, value = event.get("name"), event.get("value")
            if (name in (HANDOFF_SLOT, URGENT_SLOT) and value) or (name == FEEDBACK_SLOT and value == "pas_utile"):
                last = stamp
    return last


def last_user_event(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((event for event in reversed(events) if event.get("event") == "user"), None)


def queue_item(sender_id: str, events: list[dict[str, Any]]) -> QueueItem | None:
    """The queue entry of one conversation, or None if nothing in it needs a person."""
    summary = handoff_summary(sender_id, events)
    if summary is None:
        return None
    flagged = last_flag_at(events) or summary.requested_at
    marks = tuple(handled_marks(events))
    latest = max(marks, key=lambda mark: mark.at, default=None)
    handled = latest if latest is not None and latest.at >= flagged else None
    return QueueItem(summary, flagged, handled, marks, last_user_event(events))


@dataclass(frozen=True)
class Queue:
    items: list[QueueItem]  # what is shown: open ones first (urgent on top), then handled ones
    open_count: int
    handled_count: int
    scanned: int
    truncated: bool  # more than max_scanned conversations in the store: the others were not read
    not_shown: int = 0  # items beyond `limit`


def build_queue(conversations: Iterable[Conversation], *, include_handled: bool, max_scanned: int,
                limit: int | None = None) -> Queue:
    """The queue over (sender_id, events) pairs: urgent first, newest first; handled ones last or
    hidden; the first `limit` items (all if None)."""
    open_items: list[QueueItem] = []
    handled_items: list[QueueItem] = []
    scanned, truncated = 0, False
    for sender_id, events in conversations:
        if sender_id.startswith(STAFF_ASK_PREFIX):
            continue
        if scanned >= max_scanned:
            truncated = True
            break
        scanned += 1
        item = queue_item(sender_id, events)
        if item is not None:
            (handled_items if item.handled else open_items).append(item)

    def ordered(items: list[QueueItem]) -> list[QueueItem]:
        by_summary = {id(item.summary): item for item in items}
        return [by_summary[id(summary)] for summary in priority_order(item.summary for item in items)]

    shown = ordered(open_items) + (ordered(handled_items) if include_handled else [])
    cut = shown if limit is None else shown[:limit]
    return Queue(cut, len(open_items), len(handled_items), scanned, truncated, len(shown) - len(cut))


def staff_transcript(events: list[dict[str, Any]], reveal: bool) -> list[TranscriptLine]:
    """The visible steps of a conversation for staff, "handled" marks included. What the person
    typed is redacted (e-mail addresses, phone numbers) unless `reveal`; the assistant's own words
    (public contacts of the documents) are shown as they are."""
    lines = [
        TranscriptLine(line.kind, line.text if reveal or line.kind != "user" else redact(line.text), line.timestamp,
                       line.by)
        for line in transcript_lines(events)
    ]
    lines += [TranscriptLine("handled", mark.by, mark.at) for mark in handled_marks(events)]
    return sorted(lines, key=lambda line: line.timestamp)  # stable: same-time steps keep their order


def has_personal_data(events: Iterable[dict[str, Any]]) -> bool:
    """True when redaction hides something in what the person typed (the "show" button is useful)."""
    return any(line.kind == "user" and redact(line.text) != line.text for line in transcript_lines(events))
