"""Reading the knowledge folder into plain data, with readable problems instead of exceptions,
and the schema of every record of the knowledge files (pydantic models).

Why: the validator must report *every* problem of *every* file, and KnowledgeBase.load must not
parse twice; both start from this raw, unvalidated view of the folder. The models below are the one
schema of the files (docs/architecture.md shows examples): `bot.knowledge.validate` checks each
record against its model (the loader runs the same validation), and `schema_problems` turns
pydantic's errors into messages that name the field. Records nested in lists or mappings (facts,
aspects, countries, audiences) have their own model and are checked one by one, so that each
problem names its fact, aspect or country.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr, ValidationError, validator

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
    handoff: KnowledgeFile | None = None  # optional: without it, a handoff without a topic gives every contact


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
    handoff = _read(paths.handoff_file(root), root, problems) if paths.handoff_file(root).exists() else None
    return RawKnowledge(root, passage_files, entry_files, contacts, sources, tuple(problems), handoff)


# --- schema of the records --------------------------------------------------------------------

class Text(str):
    """A non-empty string (YAML text, never a number or a boolean)."""

    @classmethod
    def __get_validators__(cls) -> Any:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError("wrong type")
        if not value.strip():
            raise ValueError("is empty")
        return value


class Items(list):  # type: ignore[type-arg]
    """A YAML list (items are checked by the validator, which names each wrong one)."""

    @classmethod
    def __get_validators__(cls) -> Any:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise TypeError("wrong type")
        return value


class Table(dict):  # type: ignore[type-arg]
    """A YAML mapping (its values are records checked one by one)."""

    @classmethod
    def __get_validators__(cls) -> Any:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise TypeError("wrong type")
        return value


class Record(BaseModel):
    """A mapping in a knowledge file: unknown fields are errors; null only where a field says so."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    class Config:
        extra = "forbid"

    @validator("*", pre=True)
    def _null_only_where_allowed(cls, value: Any, field: Any) -> Any:  # noqa: N805 - pydantic
        if value is None and field.name not in cls.nullable:
            raise TypeError("wrong type")
        return value


class SourceRecord(Record):
    """`source:` of a passage file: the page it was cut from."""

    file: Text
    sha256: Text
    title: Text


class PassageRecord(Record):
    """One passage of a page (`section` is "" when no heading precedes it)."""

    id: Text
    section: StrictStr
    text: Text


class NavigationRecord(Record):
    """A block removed as repeated site navigation (still quotable)."""

    id: Text
    text: Text


class SourceTitle(Record):
    """sources.yml: the title shown to users for one page."""

    title: Text


class ContactRecord(Record):
    """contacts.yml: a contact exactly as written in a page (every field present, some null)."""

    nullable: ClassVar[frozenset[str]] = frozenset({"target", "name", "organisation", "address"})

    id: Text
    target: Text | None = Field(...)
    name: Text | None = Field(...)
    organisation: Text | None = Field(...)
    purpose: Text
    emails: Items
    phones: Items
    faxes: Items
    address: Text | None = Field(...)
    quote: Text
    source: Text


class HandoffRecord(Record):
    """handoff.yml: the contact a request for a human gets when its topic has no contact of its own
    (an id of contacts.yml), with the quote of the page that makes it the general one and its passage."""

    version: StrictInt
    general_contact: Text
    quote: Text
    source: Text


class FactRecord(Record):
    """A fact of an entry, with the verbatim quote and the passage (`source`) that prove it."""

    label: Text
    value: Text
    quote: Text
    source: Text
    current: StrictBool = None  # type: ignore[assignment]  # absent unless pages disagree


class AspectRecord(Record):
    """`aspects: {who|how|figures: ...}` of an entry; `facts` are FactRecords."""

    answer: Text
    facts: Items = None  # type: ignore[assignment]


class CountryRecord(Record):
    """`countries: {<name>: ...}` of an entry: the quote names the country."""

    quote: Text
    source: Text
    role: Text = None  # type: ignore[assignment]


class AudienceRecord(Record):
    """Who the user said they are, and the entry answered instead."""

    who: Text
    said: Items
    answer_with: Text
    quote: Text
    source: Text


class EntryRecord(Record):
    """An entry of entries/*.yml: facts are FactRecords, aspects AspectRecords, countries
    CountryRecords, audiences AudienceRecords."""

    id: Text
    kind: Text
    title: Text
    intents: Items
    answer: Text
    facts: Items
    programme: Text = None  # type: ignore[assignment]  # only for kind programme
    aspects: Table = None  # type: ignore[assignment]
    countries: Table = None  # type: ignore[assignment]
    contacts: Items = None  # type: ignore[assignment]
    audiences: Items = None  # type: ignore[assignment]


def schema_problems(model: type[Record], record: Any, what: str) -> list[str]:
    """What is wrong with `record` as a `model`, one message per field ("fact: missing `quote`")."""
    if not isinstance(record, dict):
        return [f"{what} must be a mapping"]
    try:
        model.parse_obj(record)
    except ValidationError as error:
        fields = list(model.__fields__)
        order = {key: i for i, key in enumerate(record)}
        missing, others = [], []
        for item in error.errors():
            key = str(item["loc"][0])
            kind = item["type"]
            if kind == "value_error.missing":
                missing.append((fields.index(key), f"{what}: missing `{key}`"))
            elif kind == "value_error.extra":
                others.append((order.get(key, 0), f"{what}: unknown field `{key}`"))
            elif kind.startswith("type_error"):
                others.append((order.get(key, 0), f"{what}: `{key}` has the wrong type ({type(record[key]).__name__})"))
            else:
                others.append((order.get(key, 0), f"{what}: `{key}` {item['msg']}"))
        return [message for _, message in sorted(missing)] + [message for _, message in sorted(others)]
    return []


def load_handoff(root: Path) -> HandoffRecord | None:
    """handoff.yml of a knowledge folder read through its schema; None when the file is missing.

    Raises ValueError naming the file when it is unreadable or does not fit HandoffRecord (the
    validator, `python -m bot validate`, says the same with every problem and the references)."""
    path = paths.handoff_file(root)
    if not path.exists():
        return None
    problems: list[Problem] = []
    kfile = _read(path, root, problems)
    if kfile is None:
        raise ValueError("; ".join(map(str, problems)))
    messages = schema_problems(HandoffRecord, kfile.data, "handoff")
    if messages:
        raise ValueError(f"{kfile.name}: {'; '.join(messages)}")
    return HandoffRecord.parse_obj(kfile.data)
