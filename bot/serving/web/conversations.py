"""Conversations that asked for a human, and their transcripts, read from Rasa's tracker store.

Why: hotline staff call back the people the assistant could not help. Rasa's own TrackerStore,
created from the endpoints file the Rasa server uses, is the single source of truth (SQLite, PostgreSQL or
Redis alike); the slot `handoff_requested` (set by action_human_handoff) marks those conversations.
The slot `urgent` (set with it by action_safety_triage: distress, danger) puts a conversation at the
top of the list: once set it stays urgent for staff, even if the person restarts the conversation.

Rasa's stores are synchronous under an async API, so every read runs in a worker thread with its
own short event loop and never blocks the web server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.serving.tracker_stores import conversation_ids, open_tracker_store
from bot.serving.web import event_scan
from bot.serving.web.event_scan import Conversation

HANDOFF_SLOT = "handoff_requested"
URGENT_SLOT = "urgent"
# Reading every tracker is linear in the number of conversations: stop after this many.
MAX_SCANNED = 5000


def last_event_at(events: Iterable[dict[str, Any]], default: float = 0.0) -> float:
    """The time of a conversation's latest event (`default` when it has none)."""
    return max((float(e.get("timestamp") or 0) for e in events), default=default)


def newest_first(conversations: Iterable[Conversation]) -> list[Conversation]:
    """The conversations, most recently active first: a reader that stops after MAX_SCANNED leaves
    out the oldest, not the ones whose sender id sorts last (the store returns them by sender id,
    so a new "web-..." request was never read behind 5,000 older conversations)."""
    return sorted(conversations, key=lambda c: last_event_at(c[1]), reverse=True)


# Conversations run by the staff console ("ask as the caller"): never listed as someone's request.
STAFF_ASK_PREFIX = "staff-ask-"
FEEDBACK_SLOT = "feedback"  # a domain slot no policy reads (domain.yml); the web service appends it
FEEDBACK_VALUES = ("utile", "pas_utile")
FALLBACK_INTENT = "nlu_fallback"
FALLBACKS_IN_A_ROW = 2  # user messages the assistant could not read, one after the other


@dataclass(frozen=True)
class TranscriptLine:
    """One visible step of a conversation: user / bot message, handoff request, urgent flag, new session."""

    kind: str  # "user" | "bot" | "staff" (a staff member's reply) | "handoff" | "urgent" | "session"
    text: str
    timestamp: float
    by: str = ""  # "staff" lines: the staff member's name


@dataclass(frozen=True)
class HandoffSummary:
    """A conversation where the person asked for a human, or that was flagged urgent."""

    sender_id: str
    requested_at: float  # last time `handoff_requested` (else `urgent`) was set to true
    still_requested: bool
    last_activity: float
    user_messages: int
    urgent: bool = False  # `urgent` was set to true in this conversation
    urgent_at: float | None = None  # last time it was
    # Why it needs a person, most pressing first: "urgent", "handoff", "fallbacks" (two messages
    # in a row the assistant could not read), "negative_feedback" ("pas utile" in the chat).
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class HandoffList:
    conversations: list[HandoffSummary]
    scanned: int
    truncated: bool


STAFF_METADATA = "staff"  # metadata of a `bot` event written by a staff member: their name


def staff_author(event: dict[str, Any]) -> str | None:
    """The staff member's name when this `bot` event is a staff reply (staff_reply.py), else None."""
    metadata = event.get("metadata")
    if event.get("event") != "bot" or not isinstance(metadata, dict) or STAFF_METADATA not in metadata:
        return None
    return str(metadata.get(STAFF_METADATA) or "")


def transcript_lines(events: Iterable[dict[str, Any]]) -> list[TranscriptLine]:
    """The visible steps in a list of serialised Rasa events."""
    lines: list[TranscriptLine] = []
    for event in events:
        kind, stamp = event.get("event"), float(event.get("timestamp") or 0)
        if kind == "user" and event.get("text"):
            lines.append(TranscriptLine("user", str(event["text"]), stamp))
        elif kind == "bot" and event.get("text") and staff_author(event) is not None:
            lines.append(TranscriptLine("staff", str(event["text"]), stamp, staff_author(event) or ""))
        elif kind == "bot" and event.get("text"):
            lines.append(TranscriptLine("bot", str(event["text"]), stamp))
        elif kind == "slot" and event.get("name") == HANDOFF_SLOT and event.get("value"):
            lines.append(TranscriptLine("handoff", "", stamp))
        elif kind == "slot" and event.get("name") == URGENT_SLOT and event.get("value"):
            lines.append(TranscriptLine("urgent", "", stamp))
        elif kind == "session_started":
            lines.append(TranscriptLine("session", "", stamp))
    return lines


def _intent(event: dict[str, Any]) -> str:
    return str(((event.get("parse_data") or {}).get("intent") or {}).get("name") or "")


def handoff_summary(sender_id: str, events: list[dict[str, Any]]) -> HandoffSummary | None:
    """The summary of a conversation that needs a person: the handoff or the urgent slot was set
    to true in it, two user messages in a row fell to the NLU fallback, or the chat's feedback
    said "pas utile"; None otherwise."""
    requested_at: float | None = None
    urgent_at: float | None = None
    fallbacks_at: float | None = None
    feedback_at: float | None = None
    current = False
    streak = 0
    for event in events:
        stamp = float(event.get("timestamp") or 0)
        if event.get("event") == "user":
            streak = streak + 1 if _intent(event) == FALLBACK_INTENT else 0
            if streak >= FALLBACKS_IN_A_ROW:
                fallbacks_at = stamp
            continue
        if event.get("event") != "slot":
            continue
        if event.get("name") == HANDOFF_SLOT:
            current = bool(event.get("value"))
            if current:
                requested_at = stamp
        elif event.get("name") == URGENT_SLOT and event.get("value"):
            urgent_at = stamp
        elif event.get("name") == FEEDBACK_SLOT and event.get("value") == "pas_utile":
            feedback_at = stamp
    marks = {"urgent": urgent_at, "handoff": requested_at, "fallbacks": fallbacks_at, "negative_feedback": feedback_at}
    reasons = tuple(name for name, at in marks.items() if at is not None)
    if not reasons:
        return None
    mark = next(at for at in (requested_at, urgent_at, fallbacks_at, feedback_at) if at is not None)
    users = sum(1 for e in events if e.get("event") == "user")
    return HandoffSummary(sender_id, mark, current, last_event_at(events, default=mark), users,
                          urgent=urgent_at is not None, urgent_at=urgent_at, reasons=reasons)


def priority_order(summaries: Iterable[HandoffSummary]) -> list[HandoffSummary]:
    """Urgent conversations first, then the others; most recent request first within each group."""
    return sorted(summaries, key=lambda s: (s.urgent, s.requested_at), reverse=True)


class ConversationReader:
    """Opens the tracker store on first use and reads conversations from it."""

    def __init__(self, endpoints: Path) -> None:
        self.endpoints = endpoints
        self._store: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        with self._lock:
            if self._store is None:
                self._store = open_tracker_store(self.endpoints)
            return self._store

    def _events(self, sender_id: str) -> list[dict[str, Any]] | None:
        tracker = asyncio.run(self._open().retrieve_full_tracker(sender_id))
        if tracker is None:
            return None
        return [event.as_dict() for event in tracker.events]

    def handoffs(self, max_scanned: int = MAX_SCANNED) -> HandoffList:
        """Conversations that asked for a human: urgent first, then most recent request (blocking).
        Read in bulk (event_scan.py), not tracker by tracker."""
        found = []
        scanned, more = 0, False
        for sender_id, events in newest_first(self.scan()):
            if sender_id.startswith(STAFF_ASK_PREFIX):
                continue
            if scanned >= max_scanned:
                more = True
                break
            scanned += 1
            summary = handoff_summary(sender_id, events) if events else None
            if summary:
                found.append(summary)
        return HandoffList(priority_order(found), scanned, more)

    def feedback_counts(self, max_scanned: int = MAX_SCANNED) -> dict[str, int]:
        """How many "utile" / "pas_utile" the web chat recorded (slot events `feedback`), blocking.
        Read in bulk (event_scan.py), not tracker by tracker."""
        counts = {value: 0 for value in FEEDBACK_VALUES}
        for scanned, (_sender_id, events) in enumerate(newest_first(self.scan())):
            if scanned >= max_scanned:
                break
            for event in events:
                if event.get("event") == "slot" and event.get("name") == FEEDBACK_SLOT:
                    value = str(event.get("value"))
                    if value in counts:
                        counts[value] += 1
        return counts

    def sender_ids(self) -> list[str]:
        """Every conversation id in the store, sorted (blocking)."""
        return list(asyncio.run(conversation_ids(self._open())))

    def scan(self, since: float | None = None) -> Iterator[Conversation]:
        """Every conversation's events, read in bulk (event_scan.py: the queue and the dashboard).
        Iterate it in the worker thread that called it (blocking)."""
        return event_scan.scan(self._open(), since)

    def events(self, sender_id: str) -> list[dict[str, Any]] | None:
        """Every event of one conversation as dicts, or None if the store does not have it (blocking)."""
        return self._events(sender_id)

    def transcript(self, sender_id: str) -> list[TranscriptLine] | None:
        """Every visible step of one conversation, or None if the store does not have it (blocking)."""
        events = self._events(sender_id)
        return None if events is None else transcript_lines(events)
