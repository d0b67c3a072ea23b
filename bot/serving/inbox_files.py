"""What a maintainer does with an inbox line: an NLU example (data/nlu/inbox.yml) or a QA case.

Why: the inbox only helps if a line becomes training or test data in one step, and that step must
never break `make update`: the intent must exist, the example must be valid Rasa NLU YAML (checked
with Rasa's own reader) without a duplicate, the QA case must load like every other item, and the
text written is always the redacted one (redacted again here, whatever the caller passes). Writes
are atomic (bot.knowledge.yamlio.write_atomic) under one file lock per project, so the console and
the command line can add lines at the same time.

In bot.serving (not bot.maintenance) so that the staff console can call it; `python -m bot inbox`
(bot/maintenance/inbox.py) adds the QA set's own loader (bot/maintenance/qa_set.py) as a last check.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock

from bot.knowledge.textnorm import fold
from bot.knowledge.yamlio import write_atomic
from bot.serving.inbox import clean_text
from bot.serving.web.conversations import FALLBACK_INTENT

NLU_FILE = Path("data/nlu/inbox.yml")
QA_FILE = Path("tests/qa/questions.yml")
HOLDOUT_FILE = Path("tests/nlu_holdout.yml")  # never trained on: an example there must not be added
PAGES_DIR = Path("data/pages")
LOCK_FILE = Path(".runtime/inbox.lock")  # .runtime/ is git-ignored and not a model input
LOCK_TIMEOUT_S = 30
NLU_HEADER = (
    "# NLU examples added from the maintainers' inbox (python -m bot inbox add-nlu, /staff/inbox).\n"
    "# Real messages, redacted. Rewritten on each addition: examples kept, other comments not.\n"
    "# The next `make update` trains and gates with them.\n"
)
# Rasa reads "[text](entity)" and "[text]{...}" in an example as an entity annotation.
_ANNOTATION_START = re.compile(r"\]\s*(?=[({])")
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
QA_ID = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
QA_CATEGORY = re.compile(r"^[a-z_]+$")
QA_PREFIX = "inbox"


_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the QA file is large: libyaml is ~10x faster


def _parse(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


class InboxWriteError(ValueError):
    """The line cannot be written; the message says why, in words a maintainer can act on."""


@dataclass(frozen=True)
class WriteResult:
    path: Path
    written: bool  # False: it was already there
    text: str  # what was written (redacted)
    detail: str = ""  # e.g. the QA item id


def _lock(root: Path) -> FileLock:
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path), timeout=LOCK_TIMEOUT_S, thread_local=False)


# --- NLU examples ----------------------------------------------------------------------------

def example_text(text: str) -> str:
    """The redacted text as one NLU example line: no entity annotation can be read into it."""
    return _ANNOTATION_START.sub("] ", clean_text(text)).strip()


def domain_intents(root: Path) -> list[str]:
    """Intents declared in the project's domain.yml."""
    data = _parse((root / "domain.yml").read_text(encoding="utf-8")) or {}
    return [next(iter(item)) if isinstance(item, dict) else str(item) for item in data.get("intents") or []]


def _plain(example: str) -> str:
    return fold(_ANNOTATION.sub(r"\1", example))


def existing_examples(root: Path, files: list[Path] | None = None) -> dict[str, str]:
    """Folded text of every example of data/nlu/*.yml (or of `files`) -> its intent."""
    found: dict[str, str] = {}
    for path in sorted((root / "data" / "nlu").glob("*.yml")) if files is None else files:
        if not path.is_file():
            continue
        data = _parse(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if isinstance(block, dict) and "intent" in block:
                for example in _examples(block):
                    found.setdefault(_plain(example), str(block["intent"]))
    return found


def _examples(block: dict[str, Any]) -> list[str]:
    raw = block.get("examples") or ""
    if isinstance(raw, list):
        return [str(item.get("text", "")) if isinstance(item, dict) else str(item) for item in raw]
    return [line.strip()[2:].strip() for line in str(raw).splitlines() if line.strip().startswith("- ")]


def render_nlu(blocks: dict[str, list[str]]) -> str:
    """The inbox NLU file: header, Rasa 3.1 format, intents and examples in the order added."""
    lines = [NLU_HEADER.rstrip("\n"), 'version: "3.1"', "nlu:"]
    for intent, examples in blocks.items():
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {example}" for example in examples]
    return "\n".join(lines) + "\n"


def _check_with_rasa(content: str, intent: str, example: str) -> None:
    """Rasa's own YAML reader must read the file and find the example, unchanged, without entities."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    try:
        data = RasaYAMLReader().reads(content)
    except Exception as error:  # Rasa raises its own YAML and schema errors
        raise InboxWriteError(f"Rasa cannot read the NLU file that would be written: {error}") from error
    for message in data.intent_examples:
        if message.get("intent") == intent and message.get("text") == example:
            if message.get("entities"):
                raise InboxWriteError(f"Rasa reads an entity annotation in {example!r}")
            return
    raise InboxWriteError(f"Rasa does not read {example!r} as an example of {intent}")


def add_nlu_example(root: Path, text: str, intent: str) -> WriteResult:
    """Add the (redacted) text as an example of `intent` to data/nlu/inbox.yml of the project `root`."""
    example = example_text(text)
    if not example:
        raise InboxWriteError("the message is empty")
    declared = domain_intents(root)
    if intent == FALLBACK_INTENT or intent not in declared:
        raise InboxWriteError(f"unknown intent {intent!r}: choose one of the intents of domain.yml")
    path = root / NLU_FILE
    with _lock(root):
        already = existing_examples(root).get(_plain(example))
        if already == intent:
            return WriteResult(path, False, example, f"already an example of {intent}")
        if already is not None:
            raise InboxWriteError(f"{example!r} is already an example of the intent {already}")
        if _plain(example) in existing_examples(root, [root / HOLDOUT_FILE]):
            raise InboxWriteError(f"{example!r} is a held-out message ({HOLDOUT_FILE}): never train on it")
        blocks: dict[str, list[str]] = {}
        if path.exists():
            data = _parse(path.read_text(encoding="utf-8")) or {}
            for block in data.get("nlu") or []:
                if isinstance(block, dict) and "intent" in block:
                    blocks.setdefault(str(block["intent"]), []).extend(_examples(block))
        blocks.setdefault(intent, []).append(example)
        content = render_nlu(blocks)
        _check_with_rasa(content, intent, example)
        write_atomic(path, content)
    return WriteResult(path, True, example, intent)


# --- QA cases --------------------------------------------------------------------------------

def _strings(values: list[str] | None, name: str) -> list[str]:
    cleaned = [" ".join(str(v).split()) for v in values or []]
    if any(not v for v in cleaned):
        raise InboxWriteError(f"{name}: empty string")
    return cleaned


def qa_categories(root: Path) -> list[str]:
    """Categories used in the QA file (what the console offers)."""
    data = _parse((root / QA_FILE).read_text(encoding="utf-8")) or {}
    return sorted({str(item.get("category")) for item in data.get("items") or [] if item.get("category")})


def _next_id(ids: set[str]) -> str:
    number = 1
    while f"{QA_PREFIX}-{number:02d}" in ids:
        number += 1
    return f"{QA_PREFIX}-{number:02d}"


def render_qa_item(item: dict[str, Any]) -> str:
    """One item in the QA file's own style (lists in flow style, as JSON, which is YAML)."""
    lines = [f"  - id: {item['id']}", f"    category: {item['category']}"]
    for key in ("turns", "expect_all", "expect_any", "forbid"):
        lines.append(f"    {key}: {json.dumps(item[key], ensure_ascii=False)}")
    if item.get("source"):
        lines.append(f"    source: {item['source']}")
    return "\n".join(lines) + "\n"


def _check_source(root: Path, source: str, expected: list[str]) -> None:
    page = root / PAGES_DIR / source
    if "/" in source or not page.is_file():
        raise InboxWriteError(f"source {source!r}: no such page in {PAGES_DIR}/")
    text = fold(page.read_text(encoding="utf-8"))
    missing = [s for s in expected if fold(s) not in text]
    if missing:
        raise InboxWriteError(f"not in the page {source} (expected strings must be copied verbatim): {missing}")


def add_qa_case(root: Path, text: str, *, category: str, expect_all: list[str] | None = None,
                expect_any: list[str] | None = None, forbid: list[str] | None = None, item_id: str = "",
                source: str = "", validate: Callable[[Path], Any] | None = None) -> WriteResult:
    """Append the (redacted) text as a one-turn QA case to tests/qa/questions.yml of `root`.

    `validate(path)` (the QA set's loader, for the command line) must accept the whole new file.
    """
    turn = clean_text(text)
    if not turn:
        raise InboxWriteError("the message is empty")
    must, may, never = _strings(expect_all, "expect_all"), _strings(expect_any, "expect_any"), _strings(forbid, "forbid")
    if not (must or may or never):
        raise InboxWriteError("give the expected answer: at least one of expect_all, expect_any, forbid")
    if not QA_CATEGORY.match(category) or category == "other":
        raise InboxWriteError(f"category {category!r}: a category of tests/qa/questions.yml (e.g. gap, detail)")
    if item_id and not QA_ID.match(item_id):
        raise InboxWriteError(f"id {item_id!r}: lower-case letters, digits and '-' (e.g. inbox-03)")
    source = source.strip()
    if source:
        _check_source(root, source, must + may)
    path = root / QA_FILE
    with _lock(root):
        current = path.read_text(encoding="utf-8")
        items = (_parse(current) or {}).get("items") or []
        ids = {str(item.get("id")) for item in items}
        if item_id in ids:
            raise InboxWriteError(f"id {item_id} is already used")
        same = next((i for i in items if [fold(t) for t in i.get("turns") or []] == [fold(turn)]), None)
        if same is not None:
            raise InboxWriteError(f"this question is already the QA item {same.get('id')}")
        item = {"id": item_id or _next_id(ids), "category": category, "turns": [turn], "expect_all": must,
                "expect_any": may, "forbid": never, "source": source}
        content = current + ("" if current.endswith("\n") else "\n") + render_qa_item(item)
        parsed = (_parse(content) or {}).get("items") or []
        if not parsed or {k: parsed[-1].get(k) for k in ("id", "turns")} != {"id": item["id"], "turns": [turn]}:
            raise InboxWriteError("the QA file would not read back the new item (is its last list `items:`?)")
        if validate is not None:
            with tempfile.TemporaryDirectory() as folder:
                candidate = Path(folder) / path.name
                candidate.write_text(content, encoding="utf-8")
                try:
                    validate(candidate)
                except ValueError as error:
                    raise InboxWriteError(f"the QA set would be invalid: {error}") from error
        write_atomic(path, content)
    return WriteResult(path, True, turn, str(item["id"]))
