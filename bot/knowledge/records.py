"""The records of the knowledge: entries, facts, contacts, passages, search hits.

Why a module apart from KnowledgeBase: the search (bot.knowledge.search) and the sentence index
work on passages without needing the loader, and the loader builds its index with the search:
with the records here, neither imports the other at module level.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.knowledge.textnorm import fold


@dataclass(frozen=True)
class Fact:
    """A curated fact and the verbatim quote that proves it."""

    label: str
    value: str
    quote: str
    source: str  # passage id
    current: bool | None = None  # set where pages disagree: True for the value to use today


@dataclass(frozen=True)
class Aspect:
    """A focused answer about an entry: `who` (eligibility), `how` (how to ask), `figures`."""

    name: str
    answer: str
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class CountryMention:
    """A country the documents name for an entry, with the quote that names it."""

    name: str
    quote: str
    source: str
    role: str | None = None


@dataclass(frozen=True)
class Audience:
    """Who a user may say they are, and the entry that answers them instead, with the quote why.

    Why: the same words ("je veux rentrer") call for another programme when the user said earlier
    that they are a refugee; which one is a fact of the documents, so it lives in the entry.
    """

    who: str
    said: frozenset[str]  # folded words (no accents, lower case)
    answer_with: str  # entry id
    quote: str
    source: str


@dataclass(frozen=True)
class Entry:
    """A curated topic (organisation fact sheet, programme, event, framework)."""

    id: str
    kind: str
    title: str
    intents: tuple[str, ...]
    answer: str
    facts: tuple[Fact, ...]
    programme: str | None = None
    aspects: Mapping[str, Aspect] = field(default_factory=lambda: MappingProxyType({}))
    countries: Mapping[str, CountryMention] = field(default_factory=lambda: MappingProxyType({}))
    contacts: tuple[str, ...] = ()
    audiences: tuple[Audience, ...] = ()

    def aspect(self, name: str) -> Aspect | None:
        """The aspect `who`, `how` or `figures`, or None when the documents say nothing about it."""
        return self.aspects.get(name)

    def country(self, name: str) -> CountryMention | None:
        """The mention of a country, matched without accents/case/punctuation.

        "yemen" finds "Yémen"; a name that is part of the written one also matches
        ("Etats-Unis" finds "États-Unis d'Amérique", "Tanzanie" finds "République-Unie de Tanzanie").
        """
        wanted = name_key(name)
        if not wanted:
            return None
        for key, mention in self.countries.items():
            written = name_key(key)
            if wanted == written or (len(wanted) >= 4 and f" {wanted} " in f" {written} "):
                return mention
        return None

    def facts_labelled(self, label: str) -> tuple[Fact, ...]:
        """All facts with this label (several when pages disagree; see Fact.current)."""
        return tuple(fact for fact in self.facts if fact.label == label)

    @property
    def sources(self) -> tuple[str, ...]:
        """Passage ids the entry relies on, in order of first use."""
        ids = [f.source for f in self.facts]
        ids += [f.source for aspect in self.aspects.values() for f in aspect.facts]
        ids += [m.source for m in self.countries.values()]
        ids += [a.source for a in self.audiences]
        return tuple(dict.fromkeys(ids))


@dataclass(frozen=True)
class Contact:
    """A contact exactly as written in a page, with a curated description of whom it reaches."""

    id: str
    target: str | None
    name: str | None
    organisation: str | None
    purpose: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    faxes: tuple[str, ...]
    address: str | None
    quote: str
    source: str


# The fields of Contact that hold a way to reach it (answering.yml's contact_channels name them).
CONTACT_CHANNELS = ("phones", "faxes", "emails", "address")


@dataclass(frozen=True)
class Passage:
    """A passage of a source page (navigation blocks have navigation=True and are never searched)."""

    id: str
    source_file: str
    section: str
    text: str
    navigation: bool = False


@dataclass(frozen=True)
class SearchHit:
    """A ranked passage; `score` is normalised to 0..1 (see bot.knowledge.search.GOOD_SCORE)."""

    passage_id: str
    source_file: str
    title: str
    section: str
    text: str
    score: float
    raw_score: float = 0.0


def name_key(name: str) -> str:
    """Lower case, no accents, words separated by one space: how names are compared."""
    return re.sub(r"[^a-z0-9]+", " ", fold(name)).strip()
