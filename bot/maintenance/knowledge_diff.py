"""What changed in the knowledge files between two versions (a deployment snapshot and now).

Why: a maintainer approving an update wants "2 passages added, contact X added, the figure of
entry Y changed from A to B", not a raw diff of generated YAML. The comparison is generic: every
top-level list of items with an `id` (passages, entries, contacts) is compared item by item, and
an item's `facts` are compared by label, so new knowledge formats need no change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
EXCERPT_CHARS = 160


@dataclass(frozen=True)
class Change:
    """One added, removed or changed item (or fact) of a knowledge file."""

    kind: str  # added | removed | changed
    file: str  # path relative to the knowledge folder
    collection: str  # passages | entries | contacts | facts | file
    item: str  # id of the item (or label of the fact)
    detail: str = ""  # readable description of what changed

    def describe(self) -> str:
        where = f"{self.collection} `{self.item}`" if self.item else self.collection
        text = f"{self.kind} {where} ({self.file})"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class KnowledgeDiff:
    """All changes, with counts per collection for the summary line."""

    changes: list[Change] = field(default_factory=list)
    baseline: str = ""

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, dict[str, int]]:
        """{collection: {added: n, removed: n, changed: n}}."""
        table: dict[str, dict[str, int]] = {}
        for change in self.changes:
            row = table.setdefault(change.collection, {ADDED: 0, REMOVED: 0, CHANGED: 0})
            row[change.kind] += 1
        return table

    def summary(self) -> str:
        if self.empty:
            return "no change in the knowledge files"
        parts = []
        for collection, row in sorted(self.counts().items()):
            numbers = ", ".join(f"{n} {kind}" for kind, n in row.items() if n)
            parts.append(f"{collection}: {numbers}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "summary": self.summary(),
            "changes": [change.__dict__ for change in self.changes],
        }


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """One-line excerpt of a value for the report."""
    text = (
        " ".join(str(value).split())
        if not isinstance(value, (list, dict))
        else yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000).strip()
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None


def _yaml_files(folder: Path | None) -> dict[str, Path]:
    if folder is None or not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): p
        for p in sorted(folder.rglob("*.yml"))
        if p.is_file() and not p.name.startswith(".")
    }


def _id_lists(document: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Top-level lists whose items all have an id: {collection: {id: item}}."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    if not isinstance(document, dict):
        return found
    for key, value in document.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
            found[key] = {str(item["id"]): item for item in value}
    return found


def _fact_key(fact: dict[str, Any]) -> str:
    return str(fact.get("label") or fact.get("quote") or fact)


def _fact_changes(file: str, item_id: str, old: list[Any], new: list[Any]) -> list[Change]:
    old_facts = {_fact_key(f): f for f in old if isinstance(f, dict)}
    new_facts = {_fact_key(f): f for f in new if isinstance(f, dict)}
    changes: list[Change] = []
    for label in new_facts.keys() - old_facts.keys():
        changes.append(
            Change(ADDED, file, "facts", f"{item_id} / {label}", excerpt(new_facts[label].get("value", "")))
        )
    for label in old_facts.keys() - new_facts.keys():
        changes.append(
            Change(REMOVED, file, "facts", f"{item_id} / {label}", excerpt(old_facts[label].get("value", "")))
        )
    for label in sorted(old_facts.keys() & new_facts.keys()):
        before, after = old_facts[label], new_facts[label]
        if before != after:
            fields = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            detail = "; ".join(
                f"{k}: {excerpt(before.get(k, ''))} → {excerpt(after.get(k, ''))}" for k in fields
            )
            changes.append(Change(CHANGED, file, "facts", f"{item_id} / {label}", detail))
    return sorted(changes, key=lambda c: (c.kind, c.item))


def _label(item: dict[str, Any]) -> str:
    """What a reader recognises an item by: title, name, text, else its e-mails / phones / purpose."""
    for key in ("title", "name", "text"):
        if item.get(key):
            return str(item[key])
    channels = [*(item.get("emails") or []), *(item.get("phones") or []), *(item.get("faxes") or [])]
    return ", ".join(str(c) for c in channels) or str(item.get("purpose") or "")


def _item_changes(
    file: str, collection: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
) -> list[Change]:
    changes: list[Change] = []
    for item_id in sorted(new.keys() - old.keys()):
        changes.append(Change(ADDED, file, collection, item_id, excerpt(_label(new[item_id]))))
    for item_id in sorted(old.keys() - new.keys()):
        changes.append(Change(REMOVED, file, collection, item_id, excerpt(_label(old[item_id]))))
    for item_id in sorted(old.keys() & new.keys()):
        before, after = old[item_id], new[item_id]
        if before == after:
            continue
        fields = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        plain = [k for k in fields if k != "facts"]
        if plain:
            detail = "; ".join(
                f"{k}: {excerpt(before.get(k, ''))} → {excerpt(after.get(k, ''))}" for k in plain
            )
            changes.append(Change(CHANGED, file, collection, item_id, detail))
        if "facts" in fields:
            changes.extend(_fact_changes(file, item_id, before.get("facts") or [], after.get("facts") or []))
    return changes


def _file_changes(file: str, old: Any, new: Any) -> list[Change]:
    old_lists, new_lists = _id_lists(old), _id_lists(new)
    changes: list[Change] = []
    for collection in sorted(set(old_lists) | set(new_lists)):
        changes.extend(
            _item_changes(file, collection, old_lists.get(collection, {}), new_lists.get(collection, {}))
        )
    rest_old = {k: v for k, v in (old or {}).items() if k not in old_lists} if isinstance(old, dict) else old
    rest_new = {k: v for k, v in (new or {}).items() if k not in new_lists} if isinstance(new, dict) else new
    if rest_old != rest_new and isinstance(rest_old, dict) and isinstance(rest_new, dict):
        keys = sorted(k for k in set(rest_old) | set(rest_new) if rest_old.get(k) != rest_new.get(k))
        changes.append(Change(CHANGED, file, "file", "", "fields " + ", ".join(keys)))
    elif rest_old != rest_new:
        changes.append(Change(CHANGED, file, "file", "", "content changed"))
    return changes


def diff_knowledge(old_dir: Path | None, new_dir: Path, baseline: str = "") -> KnowledgeDiff:
    """Changes from old_dir to new_dir (old_dir None or missing: everything is added)."""
    old_files, new_files = _yaml_files(old_dir), _yaml_files(new_dir)
    result = KnowledgeDiff(baseline=baseline)
    for name in sorted(set(old_files) | set(new_files)):
        if name not in old_files:
            new = _load(new_files[name])
            lists = _id_lists(new)
            if lists:
                for collection, items in lists.items():
                    result.changes.extend(_item_changes(name, collection, {}, items))
            else:
                result.changes.append(Change(ADDED, name, "file", "", "new file"))
            continue
        if name not in new_files:
            result.changes.append(Change(REMOVED, name, "file", "", "file removed"))
            continue
        if old_files[name].read_bytes() == new_files[name].read_bytes():
            continue
        result.changes.extend(_file_changes(name, _load(old_files[name]), _load(new_files[name])))
    return result


def changed_ids(diff: KnowledgeDiff, collection: str) -> list[tuple[str, str]]:
    """(kind, id) of the changes of one collection, e.g. the contacts added."""
    return [(c.kind, c.item) for c in diff.changes if c.collection == collection]
