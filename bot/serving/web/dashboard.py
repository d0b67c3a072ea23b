"""The staff dashboard's numbers: per day conversations, messages, fallback rate, handoffs, safety
flags, feedback; the topics answered most; the questions left unanswered most, grouped.

Why pure functions over events: the numbers must be the same whatever the tracker store (SQLite,
Redis, SQL), so they are computed from the events themselves (event_scan.py reads them in bulk)
and tested without any store. Days are UTC days. What people typed appears only redacted (the
unanswered groups), like everywhere in the console. The chart geometry is computed here and drawn
as SVG by a Jinja template: the page needs no JavaScript.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

from bot.knowledge.textnorm import folded_words
from bot.serving.redact import redact, shorten
from bot.serving.web.conversations import (
    FALLBACK_INTENT,
    FEEDBACK_SLOT,
    HANDOFF_SLOT,
    STAFF_ASK_PREFIX,
    URGENT_SLOT,
)
from bot.serving.web.event_scan import READ_ACTIONS, Conversation, event_text

DAY_S = 86400
DEFAULT_DAYS = 14
MAX_DAYS = 90
TOP = 10
TOPIC_SLOT = "topic"
# Actions that mean "the documents had no precise answer" (docs/architecture.md, Actions); the
# bulk SQL reader returns these actions only (event_scan.py).
UNANSWERED_ACTIONS = READ_ACTIONS
MIN_GROUP_WORD = 3  # shorter words (articles, "c", "ou") do not tell questions apart
EXAMPLE_CHARS = 120
DASHBOARD_TTL_S = 60.0  # staff see numbers at most a minute old


@dataclass
class DayStats:
    """The numbers of one UTC day (or of the whole window, day = "total")."""

    day: str
    conversations: int = 0  # conversations where the person wrote that day (in the window, for "total")
    messages: int = 0  # messages people wrote
    fallbacks: int = 0  # of which the assistant could not read (NLU fallback)
    handoffs: int = 0  # requests for a human
    safety_flags: int = 0  # conversations flagged urgent (distress, danger)
    feedback_useful: int = 0
    feedback_not_useful: int = 0

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.messages if self.messages else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "fallback_rate": round(self.fallback_rate, 4)}


@dataclass(frozen=True)
class UnansweredGroup:
    """Unanswered messages that read the same once folded (accents, case, word order, short words)."""

    key: str
    example: str  # the latest of them, redacted and shortened
    count: int
    last_at: float


@dataclass
class Dashboard:
    days: list[DayStats]
    totals: DayStats
    topics: list[tuple[str, int]]  # (entry id, answers given)
    unanswered: list[UnansweredGroup]
    conversations_scanned: int
    since: float
    generated_at: float
    topic_titles: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "days": [day.as_json() for day in self.days],
            "totals": self.totals.as_json(),
            "top_topics": [{"topic": topic, "title": self.topic_titles.get(topic, ""), "answers": count}
                           for topic, count in self.topics],
            "top_unanswered": [asdict(group) for group in self.unanswered],
            "conversations_scanned": self.conversations_scanned,
            "since": self.since,
            "generated_at": self.generated_at,
        }


def window_start(now: float, days: int) -> float:
    """Midnight UTC, `days - 1` days before today: the window holds today and the days before."""
    return (int(now) // DAY_S - (days - 1)) * DAY_S


def day_label(start: float, index: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(start + index * DAY_S))


def _intent(event: dict[str, Any]) -> str:
    return str(((event.get("parse_data") or {}).get("intent") or {}).get("name") or "")


def group_key(text: str) -> str:
    """What two unanswered messages share when they ask the same thing in other words' order
    (computed on the redacted text: the key is shown to staff too)."""
    words = sorted({w for w in folded_words(redact(text)) if len(w) >= MIN_GROUP_WORD})
    return " ".join(words)


def _unanswered_users(events: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """User messages the assistant did not answer: NLU fallback, or a fallback action right after."""
    pending: dict[str, Any] | None = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if pending is not None and _intent(pending) == FALLBACK_INTENT:
                yield pending
            pending = event
        elif kind == "action" and pending is not None and event.get("name") != "action_listen":
            if _intent(pending) == FALLBACK_INTENT or event.get("name") in UNANSWERED_ACTIONS:
                yield pending
                pending = None
            elif event.get("name") not in ("action_session_start",):
                pending = None  # answered by something else
    if pending is not None and _intent(pending) == FALLBACK_INTENT:
        yield pending


def compute_dashboard(conversations: Iterable[Conversation], *, now: float, days: int = DEFAULT_DAYS) -> Dashboard:
    """The dashboard over (sender_id, events) pairs, for the `days` UTC days ending today."""
    start = window_start(now, days)
    stats = [DayStats(day_label(start, i)) for i in range(days)]
    topics: Counter[str] = Counter()
    groups: dict[str, list[Any]] = {}  # key -> [count, last_at, example event]
    scanned = active_conversations = 0
    for sender_id, events in conversations:
        if sender_id.startswith(STAFF_ASK_PREFIX):
            continue
        scanned += 1
        active: set[int] = set()
        for event in events:
            stamp = float(event.get("timestamp") or 0)
            if stamp < start:
                continue
            index = int((stamp - start) // DAY_S)
            if index >= days:
                continue
            kind = event.get("event")
            if kind == "user":
                day = stats[index]
                day.messages += 1
                active.add(index)
                if _intent(event) == FALLBACK_INTENT:
                    day.fallbacks += 1
            elif kind == "slot":
                name, value = event.get("name"), event.get("value")
                if name == HANDOFF_SLOT and value:
                    stats[index].handoffs += 1
                elif name == URGENT_SLOT and value:
                    stats[index].safety_flags += 1
                elif name == FEEDBACK_SLOT and value == "utile":
                    stats[index].feedback_useful += 1
                elif name == FEEDBACK_SLOT and value == "pas_utile":
                    stats[index].feedback_not_useful += 1
                elif name == TOPIC_SLOT and value:
                    topics[str(value)] += 1
        for index in active:
            stats[index].conversations += 1
        if not active:
            continue
        active_conversations += 1
        for event in _unanswered_users(events):
            stamp = float(event.get("timestamp") or 0)
            if stamp < start:
                continue
            key = group_key(event_text(event))
            if not key:
                continue
            group = groups.setdefault(key, [0, 0.0, event])
            group[0] += 1
            if stamp >= group[1]:
                group[1], group[2] = stamp, event
    totals = DayStats("total")
    for day in stats:
        for name in ("conversations", "messages", "fallbacks", "handoffs", "safety_flags",
                     "feedback_useful", "feedback_not_useful"):
            setattr(totals, name, getattr(totals, name) + getattr(day, name))
    totals.conversations = active_conversations  # one conversation over two days counts once here
    top_groups = sorted(groups.items(), key=lambda item: (item[1][0], item[1][1]), reverse=True)[:TOP]
    unanswered = [UnansweredGroup(key, shorten(event_text(example), EXAMPLE_CHARS), count, last)
                  for key, (count, last, example) in top_groups]
    return Dashboard(stats, totals, topics.most_common(TOP), unanswered, scanned, start, now)


# --- charts ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the day, e.g. 11-24
    value: str  # as shown in the tooltip / text alternative
    show_label: bool


@dataclass(frozen=True)
class Chart:
    """One bar chart, in SVG user units (the template draws it; no script)."""

    key: str
    title: str
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, label) of the horizontal grid lines
    baseline: float
    left: int


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 5 x 10^n not below `value` (a round top for the axis)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def bar_chart(key: str, title: str, labels: list[str], values: list[float], *, percent: bool = False,
              width: int = 640, height: int = 170) -> Chart:
    """Bars for `values` (one per label), the axis rounded up, at most ~10 day labels under them."""
    left, top, bottom = 44, 10, 22
    plot_w, plot_h = width - left - 6, height - top - bottom
    top_value = _nice_max(max(values, default=0.0) * (100 if percent else 1))
    slot = plot_w / max(len(values), 1)
    every = max(1, -(-len(values) // 10))

    def shown(value: float) -> str:
        return f"{value * 100:.1f} %" if percent else f"{value:g}"

    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        scaled = (value * 100 if percent else value) / top_value
        h = round(scaled * plot_h, 1)
        bars.append(Bar(round(left + i * slot + slot * 0.15, 1), round(top + plot_h - h, 1), round(slot * 0.7, 1), h,
                        label[5:], shown(value), i % every == 0 or i == len(values) - 1))
    ticks = [(round(top + plot_h - plot_h * f, 1), f"{top_value * f:g}" + (" %" if percent else ""))
             for f in (0.0, 0.5, 1.0)]
    return Chart(key, title, width, height, bars, ticks, top + plot_h, left)


def charts(board: Dashboard, titles: dict[str, str]) -> list[Chart]:
    """The dashboard's charts, one per daily figure named in `titles` (texts.yml)."""
    labels = [day.day for day in board.days]
    series: dict[str, list[float]] = {
        "conversations": [day.conversations for day in board.days],
        "messages": [day.messages for day in board.days],
        "fallback_rate": [day.fallback_rate for day in board.days],
        "handoffs": [day.handoffs for day in board.days],
        "safety_flags": [day.safety_flags for day in board.days],
    }
    return [bar_chart(key, titles[key], labels, values, percent=key == "fallback_rate")
            for key, values in series.items()]


# --- a minute of cache ----------------------------------------------------------------------

T = TypeVar("T")


class TtlCache(Generic[T]):
    """Values computed at most once per `ttl_s` per key, one computation at a time.

    Why: reading every conversation costs a second or more on a big store; staff reloading the
    dashboard, or several of them at once, must not each pay it."""

    def __init__(self, ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._values: dict[Any, tuple[float, T]] = {}
        self._lock = asyncio.Lock()

    async def get(self, key: Any, compute: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """(value, True if it came from the cache)."""
        async with self._lock:
            now = self.clock()
            cached = self._values.get(key)
            if cached is not None and now - cached[0] < self.ttl_s:
                return cached[1], True
            value = await compute()
            self._values = {k: v for k, v in self._values.items() if now - v[0] < self.ttl_s}
            self._values[key] = (self.clock(), value)
            return value, False
