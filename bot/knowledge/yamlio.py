"""Deterministic YAML reading and atomic writing for the knowledge files.

Why: re-running ingest on the same input must produce byte-identical files (reviewable diffs, no
spurious changes), and a crash must never leave a half-written knowledge file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

LINE_WIDTH = 100

try:  # the C loader is ~10x faster; KnowledgeBase.load runs inside the action server
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader


class _UniqueKeyLoader(_Loader):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key given twice in one mapping: YAML keeps the last silently, so a
    maintainer's second `not_with_types:` under one rule would drop the first without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<: *defaults" (docker-compose): merged keys may be overridden
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


class _Dumper(yaml.SafeDumper):
    """Safe dumper: long or multi-line strings as literal blocks (one paragraph = one line), indented lists."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value or len(value) > LINE_WIDTH - 20 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """YAML text for data: keys in the given order, UTF-8 characters kept, fixed width."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        width=LINE_WIDTH,
        default_flow_style=False,
    )


def load_yaml(path: Path) -> Any:
    """Parse a UTF-8 YAML file (safe loader; a key given twice in a mapping is an error)."""
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_UniqueKeyLoader)  # noqa: S506 - safe loader


def write_atomic(path: Path, content: str | bytes, mode: int = 0o644) -> bool:
    """Write content (text as UTF-8) to path via a temp file + os.replace, so that a reader sees
    the old file or the new one, never half of one; skip if unchanged. Returns True if written.
    The one atomic write of the project (knowledge files, credentials with mode 0o600, deployed
    knowledge, caches)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)  # mkstemp creates 0600; knowledge files are ordinary repo files
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return True
