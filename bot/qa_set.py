"""The conversation QA set (tests/qa/questions.yml) replayed against a running assistant.

Why: the update gate and the test suite must judge answers the same way as tests/qa/README.md
describes: one fresh conversation per item, only the reply to the last turn is checked (all its
bot messages joined), substring matching insensitive to case, accents, apostrophes and spacing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.textnorm import fold

# send(sender, message) -> bot messages (dicts with "text") of one REST call.
Sender = Callable[[str, str], list[dict[str, Any]]]
# Conversations are independent: a few at once keep the gate short without loading 2 cores much.
PARALLEL_CONVERSATIONS = 4


@dataclass(frozen=True)
class QAItem:
    """One conversation and what the reply to its last turn must (not) contain."""

    id: str
    turns: list[str]
    expect_all: list[str] = field(default_factory=list)
    expect_any: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    source: str | None = None


@dataclass(frozen=True)
class QAOutcome:
    """The reply an item got and why it failed (empty reasons: passed)."""

    item: QAItem
    reply: str
    reasons: list[str]

    @property
    def passed(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "question": " / ".join(self.item.turns),
            "expected_all": self.item.expect_all,
            "expected_any": self.item.expect_any,
            "forbid": self.item.forbid,
            "got": self.reply,
            "reasons": self.reasons,
        }


def load_items(path: Path) -> list[QAItem]:
    """Items of a QA file; ValueError naming the item when one is malformed."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items: list[QAItem] = []
    seen = set()
    for index, raw in enumerate(data.get("items") or []):
        item_id = str(raw.get("id") or f"#{index + 1}")
        turns = raw.get("turns")
        if isinstance(turns, str):
            turns = [turns]
        if not turns or not all(isinstance(t, str) for t in turns):
            raise ValueError(f"{path.name}: item {item_id}: 'turns' must be a list of messages")
        if item_id in seen:
            raise ValueError(f"{path.name}: item id {item_id} is used twice")
        seen.add(item_id)
        items.append(
            QAItem(
                id=item_id,
                turns=list(turns),
                expect_all=[str(s) for s in raw.get("expect_all") or []],
                expect_any=[str(s) for s in raw.get("expect_any") or []],
                forbid=[str(s) for s in raw.get("forbid") or []],
                source=raw.get("source"),
            )
        )
    return items


def judge(item: QAItem, reply: str) -> list[str]:
    """Reasons the reply fails the item (empty list: it passes)."""
    text = fold(reply)
    reasons = [f"missing «{s}»" for s in item.expect_all if fold(s) not in text]
    if item.expect_any and not any(fold(s) in text for s in item.expect_any):
        reasons.append("none of " + ", ".join(f"«{s}»" for s in item.expect_any))
    reasons.extend(f"forbidden «{s}» present" for s in item.forbid if fold(s) in text)
    return reasons


def run_item(item: QAItem, send: Sender) -> QAOutcome:
    """Play the item's turns in a new conversation and judge the last reply."""
    sender = f"qa-{item.id}-{uuid.uuid4().hex[:8]}"
    messages: list[dict[str, Any]] = []
    for turn in item.turns:
        messages = send(sender, turn)
    reply = "\n".join(str(m["text"]) for m in messages if m.get("text"))
    return QAOutcome(item, reply, judge(item, reply))


def run_items(items: list[QAItem], send: Sender, parallel: int = PARALLEL_CONVERSATIONS) -> list[QAOutcome]:
    """Every item, in file order in the result."""
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(lambda item: run_item(item, send), items))
