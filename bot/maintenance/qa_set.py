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
from typing import Any, TypeVar

import yaml

from bot.knowledge.textnorm import fold
from bot.knowledge.yamlio import load_yaml

# send(sender, message) -> bot messages (dicts with "text") of one REST call.
Sender = Callable[[str, str], list[dict[str, Any]]]
# Conversations are independent: a few at once keep the gate short without loading 2 cores much.
PARALLEL_CONVERSATIONS = 4

T = TypeVar("T")


@dataclass(frozen=True)
class QAItem:
    """One conversation and what the reply to its last turn must (not) contain."""

    id: str
    turns: list[str]
    expect_all: list[str] = field(default_factory=list)
    expect_any: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    source: str | None = None
    category: str = "other"


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
            "category": self.item.category,
            "question": " / ".join(self.item.turns),
            "expected_all": self.item.expect_all,
            "expected_any": self.item.expect_any,
            "forbid": self.item.forbid,
            "got": self.reply,
            "reasons": self.reasons,
        }


def load_items(path: Path) -> list[QAItem]:
    """Items of a QA file; ValueError naming the item when one is malformed."""
    data = load_yaml(path) or {}  # the C loader: the held-out file is 1.5 MB (6 s with the Python one)
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
                category=str(raw.get("category") or "other"),
            )
        )
    return items


def spread_sample(items: list[T], every: int, category: Callable[[T], str]) -> list[T]:
    """Every `every`-th item of each category (its first one included), in the items' order.

    Why: a replay shorter by `every` that still holds every category in its proportion, and the
    same items from one run to the next (items are appended to the QA files, never reordered).
    """
    if every <= 1:
        return list(items)
    seen: dict[str, int] = {}
    kept: list[T] = []
    for item in items:
        rank = seen.get(category(item), 0)
        seen[category(item)] = rank + 1
        if rank % every == 0:
            kept.append(item)
    return kept


def judge(item: QAItem, reply: str) -> list[str]:
    """Reasons the reply fails the item (empty list: it passes). Silence always fails."""
    text = fold(reply)
    if not text.strip():
        return ["empty reply (silence)"]
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


def scores_by_category(outcomes: list[QAOutcome]) -> dict[str, tuple[int, int]]:
    """(passed, total) per category, categories sorted by name, plus "all"."""
    table: dict[str, list[int]] = {}
    for outcome in outcomes:
        for key in (outcome.item.category, "all"):
            row = table.setdefault(key, [0, 0])
            row[0] += int(outcome.passed)
            row[1] += 1
    return {key: (row[0], row[1]) for key, row in sorted(table.items(), key=lambda kv: (kv[0] == "all", kv[0]))}


def rest_sender(url: str, timeout_s: float = 60) -> Sender:
    """send(sender, message) over a running assistant's REST channel (a plain HTTP POST)."""
    import json
    import urllib.error
    import urllib.request

    endpoint = url.rstrip("/") + "/webhooks/rest/webhook"

    def send(sender: str, message: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": message}).encode()
        request = urllib.request.Request(endpoint, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310 - our own URL
                return list(json.loads(answer.read()))
        except urllib.error.HTTPError:
            return []  # an HTTP error is what a messaging user sees as silence

    return send


def category_table(outcomes: list[QAOutcome]) -> str:
    """A Markdown table of pass rates by category."""
    lines = ["| category | passed | total | rate |", "| --- | ---: | ---: | ---: |"]
    for name, (passed, total) in scores_by_category(outcomes).items():
        label = f"**{name}**" if name == "all" else name
        lines.append(f"| {label} | {passed} | {total} | {100 * passed / total:.1f} % |")
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    """Add the `qa` subcommand."""
    parser = subparsers.add_parser(
        "qa", help="replay a QA file against a running assistant, scores by category",
        description="Replays tests/qa/*.yml over the REST channel of a running assistant.",
    )  # fmt: skip
    parser.add_argument("files", nargs="*", type=Path, help="QA files (default: tests/qa/questions.yml)")
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="Rasa server (default %(default)s)")
    parser.add_argument("--failures", type=Path, default=None, help="write the failures to this YAML file")
    parser.set_defaults(func=run)


def run(args: Any) -> int:
    """CLI entry point of `qa`: prints a table per file; exit 1 when an item fails."""
    from bot.knowledge.paths import repo_root

    files = list(args.files) or [repo_root() / "tests" / "qa" / "questions.yml"]
    send = rest_sender(args.url)
    failed: list[dict[str, Any]] = []
    for path in files:
        outcomes = run_items(load_items(path), send)
        print(f"\n{path.name}\n{category_table(outcomes)}")
        failed.extend(o.to_dict() | {"file": path.name} for o in outcomes if not o.passed)
    if args.failures is not None:
        args.failures.write_text(yaml.safe_dump(failed, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return 1 if failed else 0
