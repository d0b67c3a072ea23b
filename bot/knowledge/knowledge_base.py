"""KnowledgeBase: the validated, immutable view of data/knowledge used by the Rasa actions.

Why: actions must never answer from unchecked data. `KnowledgeBase.load` is a pure function from
the knowledge folder to an immutable object (so a later reload is just "load again and swap"); it
validates everything and raises KnowledgeError instead of serving a wrong quote. spaCy is only
loaded on the first `search()` call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from bot.knowledge import paths
from bot.knowledge.files import Problem, RawKnowledge, read_knowledge
from bot.knowledge.records import (
    Aspect,
    Audience,
    Contact,
    CountryMention,
    Entry,
    Fact,
    Passage,
    SearchHit,
    name_key,
)
from bot.knowledge.textnorm import fold
from bot.knowledge.validate import validate_raw

# The records live in bot.knowledge.records; importing them from here keeps working.
__all__ = [
    "Aspect", "Audience", "Contact", "CountryMention", "Entry", "Fact", "KnowledgeBase", "KnowledgeError",
    "Passage", "SearchHit", "name_key",
]

if TYPE_CHECKING:
    from bot.knowledge.question_analysis import AnsweringRules
    from bot.knowledge.safety import SafetyRules
    from bot.knowledge.search import PassageIndex


class KnowledgeError(Exception):
    """The knowledge files are missing or invalid; `problems` lists every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid knowledge ({len(self.problems)} problem(s)):\n{lines}")


def _fact(record: Mapping[str, Any]) -> Fact:
    return Fact(record["label"], record["value"], record["quote"], record["source"], record.get("current"))


def _entry(record: Mapping[str, Any]) -> Entry:
    aspects = {
        name: Aspect(name, aspect["answer"], tuple(_fact(f) for f in aspect.get("facts") or []))
        for name, aspect in (record.get("aspects") or {}).items()
    }
    countries = {
        name: CountryMention(name, m["quote"], m["source"], m.get("role"))
        for name, m in (record.get("countries") or {}).items()
    }
    return Entry(
        id=record["id"],
        kind=record["kind"],
        title=record["title"],
        intents=tuple(record["intents"]),
        answer=record["answer"],
        facts=tuple(_fact(f) for f in record["facts"]),
        programme=record.get("programme"),
        aspects=MappingProxyType(aspects),
        countries=MappingProxyType(countries),
        contacts=tuple(record.get("contacts") or []),
        audiences=tuple(
            Audience(a["who"], frozenset(fold(w) for w in a["said"]), a["answer_with"], a["quote"], a["source"])
            for a in record.get("audiences") or []
        ),
    )


def _contact(record: Mapping[str, Any]) -> Contact:
    return Contact(
        id=record["id"],
        target=record["target"],
        name=record["name"],
        organisation=record["organisation"],
        purpose=record["purpose"],
        emails=tuple(record["emails"]),
        phones=tuple(record["phones"]),
        faxes=tuple(record["faxes"]),
        address=record["address"],
        quote=record["quote"],
        source=record["source"],
    )


class KnowledgeBase:
    """Entries, contacts and passages of a validated knowledge folder. Read-only."""

    def __init__(
        self,
        entries: Sequence[Entry],
        contacts: Sequence[Contact],
        passages: Sequence[Passage],
        titles: Mapping[str, str],
        root: Path | None = None,
    ) -> None:
        self.root = root
        self._entry_list: tuple[Entry, ...] = tuple(entries)
        self._contact_list: tuple[Contact, ...] = tuple(contacts)
        self._passage_list: tuple[Passage, ...] = tuple(passages)
        self._titles = MappingProxyType(dict(titles))
        self._entries = {e.id: e for e in self._entry_list}
        self._by_intent = {intent: e for e in self._entry_list for intent in e.intents}
        self._by_programme = {e.programme: e for e in self._entry_list if e.programme}
        self._contacts = {c.id: c for c in self._contact_list}
        self._passages = {p.id: p for p in self._passage_list}
        self._index: PassageIndex | None = None
        self._index_lock = threading.Lock()
        self._answering: AnsweringRules | None = None
        self._safety: SafetyRules | None = None

    @classmethod
    def load(cls, knowledge_dir: Path | str | None = None) -> KnowledgeBase:
        """Load and validate a knowledge folder (default <repo>/data/knowledge).

        Raises KnowledgeError listing every problem if the files are missing or invalid.
        """
        root = Path(knowledge_dir) if knowledge_dir is not None else paths.knowledge_dir()
        raw = read_knowledge(root)
        problems = validate_raw(raw)
        kb = cls.from_raw(raw) if not problems else None
        if kb is not None:
            problems.extend(kb._load_rules(root))
        if problems or kb is None:
            raise KnowledgeError(problems)
        return kb

    def _load_rules(self, root: Path) -> list[Problem]:
        """Read answering.yml and safety.yml (how questions are read); their problems, if any."""
        from pydantic import ValidationError

        from bot.knowledge.question_analysis import ANSWERING_FILE, AnsweringRules
        from bot.knowledge.safety import SAFETY_FILE, SafetyRules

        problems: list[Problem] = []
        for name, model, attribute in (
            (ANSWERING_FILE, AnsweringRules, "_answering"),
            (SAFETY_FILE, SafetyRules, "_safety"),
        ):
            try:
                setattr(self, attribute, model.load(root))
            except (OSError, ValueError, re.error, ValidationError, yaml.YAMLError) as error:
                # A YAML slip (a key given twice, an unclosed bracket) too: the last good rules stay.
                problems.append(Problem(name, None, f"invalid: {error}".replace("\n", " ")))
        for situation in self.answering.situations if self._answering else []:
            if situation.entry not in self._entries:
                problems.append(Problem(ANSWERING_FILE, None, f"situation {situation.name}: no entry {situation.entry}"))
        return problems

    @property
    def answering(self) -> AnsweringRules:
        """How questions are read (data/knowledge/answering.yml)."""
        if self._answering is None:
            from bot.knowledge.question_analysis import AnsweringRules

            self._answering = AnsweringRules.load(self.root or paths.knowledge_dir())
        return self._answering

    @property
    def safety(self) -> SafetyRules:
        """Safety triggers (data/knowledge/safety.yml)."""
        if self._safety is None:
            from bot.knowledge.safety import SafetyRules

            self._safety = SafetyRules.load(self.root or paths.knowledge_dir())
        return self._safety

    @classmethod
    def from_raw(cls, raw: RawKnowledge) -> KnowledgeBase:
        """Build from already validated raw data."""
        passages: list[Passage] = []
        titles: dict[str, str] = {}
        for kfile in raw.passage_files:
            source = kfile.data["source"]
            titles[source["file"]] = source["title"]
            for record in kfile.data["passages"]:
                passages.append(Passage(record["id"], source["file"], record["section"], record["text"]))
            for record in kfile.data.get("navigation") or []:
                passages.append(Passage(record["id"], source["file"], "", record["text"], navigation=True))
        if raw.sources is not None:
            for name, record in raw.sources.data["sources"].items():
                titles[name] = record["title"]
        entries = [_entry(r) for kfile in raw.entry_files for r in kfile.data["entries"]]
        contacts = [_contact(r) for r in raw.contacts.data["contacts"]] if raw.contacts else []
        return cls(entries, contacts, passages, titles, raw.root)

    # -- lookups ---------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        """Every entry, in file order (a new list: the knowledge base itself never changes)."""
        return list(self._entry_list)

    def passages(self, include_navigation: bool = False) -> tuple[Passage, ...]:
        """Passages in file order (navigation blocks only on request)."""
        return tuple(p for p in self._passage_list if include_navigation or not p.navigation)

    def entry(self, entry_id: str) -> Entry | None:
        """The entry with this id (e.g. "programme.resettlement")."""
        return self._entries.get(entry_id)

    def entry_citing(self, passage_id: str) -> Entry | None:
        """The first entry (in file order) whose facts cite this passage: what a quote of it is about."""
        return next((e for e in self._entry_list if passage_id in e.sources), None)

    def entry_for_intent(self, intent: str) -> Entry | None:
        """The entry that answers this intent (e.g. "ask_resettlement")."""
        return self._by_intent.get(intent)

    def entry_for_programme(self, programme: str) -> Entry | None:
        """The programme entry for an entity value (e.g. "voluntary_return")."""
        return self._by_programme.get(programme)

    def entries_for_country(self, country: str) -> list[Entry]:
        """Entries whose documents name this country (accent/case-insensitive), in file order."""
        return [e for e in self._entry_list if e.country(country) is not None]

    def contact(self, contact_id: str) -> Contact | None:
        """The contact with this id (e.g. "contact.press")."""
        return self._contacts.get(contact_id)

    def contacts_for(self, target: str | None = None, entry_id: str | None = None) -> list[Contact]:
        """Contacts for a `contact_target` value and/or listed by an entry; all if neither given."""
        if entry_id is not None:
            entry = self._entries.get(entry_id)
            found = [self._contacts[c] for c in entry.contacts] if entry else []
        else:
            found = list(self._contact_list)
        return [c for c in found if target is None or c.target == target]

    def passage(self, passage_id: str) -> Passage | None:
        """A passage (or navigation block) by id."""
        return self._passages.get(passage_id)

    def source_title(self, passage_or_file_id: str) -> str:
        """Title of the page a passage id, file name or file stem belongs to ("" if unknown)."""
        passage = self._passages.get(passage_or_file_id)
        if passage is not None:
            return self._titles.get(passage.source_file, "")
        for name, title in self._titles.items():
            if passage_or_file_id in (name, Path(name).stem):
                return title
        return ""

    # -- search ----------------------------------------------------------------------------
    def search(self, query: str, k: int = 3) -> list[SearchHit]:
        """Best passages for a free question, score > 0 only (builds the index on first use)."""
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    from bot.knowledge.search import PassageIndex

                    self._index = PassageIndex.build(self.passages())
        hits = []
        for passage, score, raw_score in self._index.search(query, k):
            hits.append(
                SearchHit(
                    passage.id,
                    passage.source_file,
                    self.source_title(passage.id),
                    passage.section,
                    passage.text,
                    score,
                    raw_score,
                )
            )
        return hits
