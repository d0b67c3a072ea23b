"""The maintainers' inbox: messages the assistant did not handle well, redacted and grouped.

Why: the training data grows from what people really ask. Every user message that fell to the NLU
fallback, got an intent with low confidence, or whose answer was judged "pas utile" in the chat is
a candidate; the same question asked ten ways must be one line with a count, not ten lines. Only
redacted text (bot/serving/redact.py: no phone number, no e-mail) leaves this module, and sender ids
are redacted too (a WhatsApp conversation id is a phone number).

Pure functions over serialised Rasa events (`event.as_dict()`), so they are tested without a store;
`scan` reads a store through the web service's ConversationReader. Lives in bot.serving (not
bot.maintenance) because the staff console (bot.serving.web) shows it and may not import upwards.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.knowledge.textnorm import collapse_whitespace, fold, folded_words
from bot.serving.redact import redact
from bot.serving.web.conversations import (
    FALLBACK_INTENT,
    FEEDBACK_SLOT,
    STAFF_ASK_PREFIX,
    ConversationReader,
)

SECONDS_PER_DAY = 86400
# Below this intent confidence a message is a candidate even if it was not a fallback (the
# FallbackClassifier of config.yml already sends everything below 0.5 to nlu_fallback).
DEFAULT_MIN_CONFIDENCE = 0.7
# Two messages are "the same question" when the cosine similarity of their character n-gram TF-IDF
# vectors, averaged over the group (average linkage), is at least this.
DEFAULT_SIMILARITY = 0.4
MAX_CLUSTERED = 3000  # unique texts clustered together (average linkage is quadratic in memory)
MAX_SCANNED = 5000  # conversations read from the store, as the handoff list
MAX_TEXT_CHARS = 500  # longer messages are cut (an inbox line is read at a glance)
EXAMPLE_SENDERS = 3
SHOWN_VARIANTS = 5

REASONS = ("fallback", "low_confidence", "negative_feedback")


@dataclass(frozen=True)
class InboxMessage:
    """One user message worth a maintainer's look (text already redacted)."""

    sender_id: str  # redacted
    text: str  # redacted, whitespace collapsed, cut to MAX_TEXT_CHARS
    timestamp: float
    reasons: tuple[str, ...]  # subset of REASONS, in that order
    intent: str  # what the NLU predicted ("nlu_fallback" included)
    confidence: float | None


@dataclass(frozen=True)
class InboxLine:
    """Messages that ask the same thing, with how often, when and how they were phrased."""

    key: str  # stable id of the line: hash of its representative text's normalised words
    text: str  # the most frequent phrasing (redacted)
    count: int
    conversations: int
    first_seen: float
    last_seen: float
    reasons: dict[str, int]
    variants: list[tuple[str, int]]  # phrasings, most frequent first
    senders: list[str]  # a few (redacted) conversation ids
    intents: list[tuple[str, int]]  # what the NLU predicted, most frequent first

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "text": self.text, "count": self.count, "conversations": self.conversations,
            "first_seen": self.first_seen, "last_seen": self.last_seen, "reasons": self.reasons,
            "variants": [{"text": t, "count": c} for t, c in self.variants],
            "senders": self.senders, "intents": [{"intent": i, "count": c} for i, c in self.intents],
        }


def clean_text(text: str) -> str:
    """What the inbox shows and writes: redacted, no control character, one line, bounded."""
    printable = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    cleaned = collapse_whitespace(redact(printable))
    return cleaned if len(cleaned) <= MAX_TEXT_CHARS else cleaned[: MAX_TEXT_CHARS - 1] + "…"


def normalised(text: str) -> str:
    """The words of a text, folded: "C koi l'OIM ?" and "c koi l oim" are one phrasing."""
    return " ".join(folded_words(text)) or fold(text)


def line_key(text: str) -> str:
    return hashlib.sha256(normalised(text).encode("utf-8")).hexdigest()[:10]


def _intent(event: dict[str, Any]) -> tuple[str, float | None]:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    confidence = intent.get("confidence")
    return str(intent.get("name") or ""), (float(confidence) if confidence is not None else None)


def collect(sender_id: str, events: Iterable[dict[str, Any]], *, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
            not_before: float = 0.0) -> list[InboxMessage]:
    """The candidate messages of one conversation, oldest first.

    A user message is a candidate when its intent is nlu_fallback, when its confidence is below
    `min_confidence`, or when the next "feedback" event after it is "pas_utile" (the chat records the
    feedback after the answer, so it judges the last user message before it). Messages older than
    `not_before` (the retention limit), commands ("/restart") and staff test conversations are left out.
    """
    if sender_id.startswith(STAFF_ASK_PREFIX):
        return []
    events = list(events)
    found: dict[int, tuple[dict[str, Any], set[str]]] = {}
    last_user: int | None = None
    for index, event in enumerate(events):
        kind = event.get("event")
        if kind == "user":
            text = str(event.get("text") or "").strip()
            if not text or text.startswith("/"):
                last_user = None
                continue
            last_user = index
            intent, confidence = _intent(event)
            reasons = set()
            if intent == FALLBACK_INTENT:
                reasons.add("fallback")
            elif confidence is not None and confidence < min_confidence:
                reasons.add("low_confidence")
            if reasons:
                found[index] = (event, reasons)
        elif (kind == "slot" and event.get("name") == FEEDBACK_SLOT and event.get("value") == "pas_utile"
              and last_user is not None):
            found.setdefault(last_user, (events[last_user], set()))[1].add("negative_feedback")
    messages = []
    shown_sender = redact(sender_id)
    for index in sorted(found):
        event, reasons = found[index]
        stamp = float(event.get("timestamp") or 0)
        if stamp < not_before:
            continue
        intent, confidence = _intent(event)
        messages.append(InboxMessage(shown_sender, clean_text(str(event.get("text"))), stamp,
                                     tuple(r for r in REASONS if r in reasons), intent, confidence))
    return messages


def retention_limit(retention_days: float, now: float | None = None) -> float:
    """The oldest timestamp still kept (0: keep everything, as with retention 0 = purge off)."""
    if retention_days <= 0:
        return 0.0
    return (time.time() if now is None else now) - retention_days * SECONDS_PER_DAY


def cluster_labels(texts: list[str], similarity: float = DEFAULT_SIMILARITY) -> list[int]:
    """A group number per text: average-linkage clusters of character n-gram TF-IDF vectors.

    Character n-grams of the folded words survive SMS spelling and typos ("rapatriment",
    "rapatriement"); average linkage (unlike single linkage) does not chain unrelated questions
    through one ambiguous message. Deterministic for the same input order.
    """
    if len(texts) < 2:
        return [0] * len(texts)
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit_transform(texts)
    distances = (1.0 - cosine_similarity(vectors)).clip(min=0.0)
    distances = (distances + distances.T) / 2  # exact symmetry for squareform
    for i in range(len(texts)):
        distances[i, i] = 0.0
    tree = linkage(squareform(distances, checks=False), method="average")
    return [int(label) for label in fcluster(tree, t=1.0 - similarity, criterion="distance")]


def group(messages: list[InboxMessage], similarity: float = DEFAULT_SIMILARITY) -> list[InboxLine]:
    """Messages grouped by similarity; most asked first, then most recent."""
    by_phrasing: dict[str, list[InboxMessage]] = {}
    for message in messages:
        by_phrasing.setdefault(normalised(message.text), []).append(message)
    # Most recent phrasings first, so that the ones beyond MAX_CLUSTERED are the oldest.
    phrasings = sorted(by_phrasing, key=lambda p: (-max(m.timestamp for m in by_phrasing[p]), p))
    clustered = phrasings[:MAX_CLUSTERED]
    labels = cluster_labels(clustered, similarity)
    groups: dict[Any, list[InboxMessage]] = {}
    for phrasing, label in zip(clustered, labels, strict=True):
        groups.setdefault(label, []).extend(by_phrasing[phrasing])
    for phrasing in phrasings[MAX_CLUSTERED:]:
        groups[("alone", phrasing)] = by_phrasing[phrasing]
    lines = [_line(members) for members in groups.values()]
    return sorted(lines, key=lambda line: (-line.count, -line.last_seen, line.key))


def _line(members: list[InboxMessage]) -> InboxLine:
    phrasings: dict[str, list[InboxMessage]] = {}
    for message in members:
        phrasings.setdefault(normalised(message.text), []).append(message)
    # Each phrasing is shown in its most recent spelling; the most frequent phrasing represents the line.
    variants = sorted(
        ((max(ms, key=lambda m: m.timestamp).text, len(ms), max(m.timestamp for m in ms)) for ms in phrasings.values()),
        key=lambda v: (-v[1], -v[2], v[0]),
    )
    reasons = Counter(reason for m in members for reason in m.reasons)
    senders = sorted({m.sender_id for m in members}, key=lambda s: -max(m.timestamp for m in members if m.sender_id == s))
    intents = Counter(m.intent for m in members if m.intent)
    return InboxLine(
        key=line_key(variants[0][0]), text=variants[0][0], count=len(members), conversations=len(senders),
        first_seen=min(m.timestamp for m in members), last_seen=max(m.timestamp for m in members),
        reasons={r: reasons[r] for r in REASONS if reasons[r]},
        variants=[(text, count) for text, count, _ in variants[:SHOWN_VARIANTS]],
        senders=senders[:EXAMPLE_SENDERS], intents=sorted(intents.items(), key=lambda kv: (-kv[1], kv[0])),
    )


@dataclass
class Inbox:
    """The inbox as shown: its lines and how much of the store was read."""

    lines: list[InboxLine] = field(default_factory=list)
    messages: int = 0
    scanned: int = 0
    truncated: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"lines": [line.as_json() for line in self.lines], "messages": self.messages,
                "scanned": self.scanned, "truncated": self.truncated}

    def find(self, key: str) -> InboxLine | None:
        return next((line for line in self.lines if line.key == key), None)


def build(conversations: Iterable[tuple[str, list[dict[str, Any]]]], *, retention_days: float,
          min_confidence: float = DEFAULT_MIN_CONFIDENCE, similarity: float = DEFAULT_SIMILARITY,
          now: float | None = None) -> Inbox:
    """The inbox of (sender id, events) pairs, without the messages older than the retention period."""
    limit = retention_limit(retention_days, now)
    messages: list[InboxMessage] = []
    scanned = 0
    for sender_id, events in conversations:
        scanned += 1
        messages.extend(collect(sender_id, events, min_confidence=min_confidence, not_before=limit))
    return Inbox(group(messages, similarity), len(messages), scanned)


def scan(reader: ConversationReader, *, retention_days: float, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
         similarity: float = DEFAULT_SIMILARITY, max_scanned: int = MAX_SCANNED, now: float | None = None) -> Inbox:
    """The inbox of a tracker store (blocking: reads every conversation, up to `max_scanned`)."""
    ids = [i for i in reader.sender_ids() if not i.startswith(STAFF_ASK_PREFIX)]

    def conversations() -> Iterable[tuple[str, list[dict[str, Any]]]]:
        for sender_id in ids[:max_scanned]:
            yield sender_id, reader.events(sender_id) or []

    inbox = build(conversations(), retention_days=retention_days, min_confidence=min_confidence,
                  similarity=similarity, now=now)
    inbox.truncated = len(ids) > max_scanned
    return inbox


def linkable_sender(shown: str) -> bool:
    """A sender id links to its transcript only if redaction left it whole (no mark in it)."""
    return redact(shown) == shown and "[" not in shown
