"""Reading the knowledge folder into plain data, with readable problems instead of exceptions.

Why: the validator must report *every* problem of *every* file, and KnowledgeBase.load must not
parse twice; both start from this raw, unvalidated view of the folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge import paths
from bot.knowledge.yamlio import load_yaml


@dataclass(frozen=True)
class Problem:
    """One validation problem, naming the file and (when there is one) the entry."""

    file: str
    entry: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.entry}" if self.entry else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class KnowledgeFile:
    """A parsed YAML file and its path relative to the knowledge folder (used in messages)."""

    path: Path
    name: str
    data: Any


@dataclass(frozen=True)
class RawKnowledge:
    """Everything in a knowledge folder, parsed but not validated."""

    root: Path
    passage_files: tuple[KnowledgeFile, ...]
    entry_files: tuple[KnowledgeFile, ...]
    contacts: KnowledgeFile | None
    sources: KnowledgeFile | None
    problems: tuple[Problem, ...]


def _read(path: Path, root: Path, problems: list[Problem]) -> KnowledgeFile | None:
    name = path.relative_to(root).as_posix()
    try:
        return KnowledgeFile(path, name, load_yaml(path))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, None, f"not readable YAML/UTF-8: {exc}".replace("\n", " ")))
    except OSError as exc:
        problems.append(Problem(name, None, f"cannot be read: {exc.strerror}"))
    return None


def read_knowledge(root: Path) -> RawKnowledge:
    """Parse every knowledge file under root; missing or unreadable files become problems."""
    problems: list[Problem] = []
    if not root.is_dir():
        problems.append(Problem(str(root), None, "knowledge folder not found (run `make ingest`)"))
        return RawKnowledge(root, (), (), None, None, tuple(problems))

    def read_all(folder: Path) -> tuple[KnowledgeFile, ...]:
        found = (_read(path, root, problems) for path in sorted(folder.glob("*.yml")))
        return tuple(item for item in found if item is not None)

    passage_files = read_all(paths.passages_dir(root))
    if not passage_files:
        problems.append(Problem("passages/", None, "no passage file (run `make ingest`)"))
    entry_files = read_all(paths.entries_dir(root))
    contacts = sources = None
    if paths.contacts_file(root).exists():
        contacts = _read(paths.contacts_file(root), root, problems)
    else:
        problems.append(Problem("contacts.yml", None, "missing (run `make ingest`)"))
    if paths.sources_file(root).exists():
        sources = _read(paths.sources_file(root), root, problems)
    return RawKnowledge(root, passage_files, entry_files, contacts, sources, tuple(problems))
