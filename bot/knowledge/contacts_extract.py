"""Find e-mails, phone and fax numbers and postal addresses in passages.

Why: a wrong or invented contact is the worst possible answer. Contacts are therefore extracted
from the page text (regular expressions for values, spaCy NER for people and organisations),
kept exactly as written, and only *described* by hand (contacts_curated.yml, keyed by e-mail).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.knowledge.passages import LineKind, classify

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# "+41 79 285 7123", "+ 1-212-963-2147": an international number always starts with "+".
INTERNATIONAL_NUMBER = re.compile(r"\+[ \u00a0]?\d{1,3}(?:[ \u00a0.-]?\(?\d{1,4}\)?){2,6}")
# "Tél. : 01 23 45 67 89": a national number only counts after a phone or fax label.
LABELLED_NUMBER = re.compile(
    r"(?:t[ée]l(?:[ée]phone)?|phone|fax|t[ée]l[ée]copie)\.?\s*:?\s*(?P<number>\d[\d\s.()-]{5,}\d)",
    re.IGNORECASE,
)
_FAX_LABEL = re.compile(r"(?:fax|t[ée]l[ée]copie)\W*$", re.IGNORECASE)
_LABEL_WINDOW = 25
MAX_ADDRESS_LINES = 6

# An entity recogniser: text -> [(entity text, label)], e.g. [("Leonard Doyle", "PER")].
EntityFinder = Callable[[str], Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class FoundNumber:
    """A phone or fax number exactly as written."""

    value: str
    is_fax: bool


@dataclass(frozen=True)
class ExtractedContact:
    """Contact values found together in one passage, with the text that contains them."""

    emails: tuple[str, ...]
    phones: tuple[str, ...]
    faxes: tuple[str, ...]
    address: str | None
    quote: str
    source: str
    name: str | None = None
    organisation: str | None = None

    @property
    def key(self) -> str:
        """Key of the curated description: the first e-mail, else the first number."""
        return (self.emails or self.phones or self.faxes or (self.address or "",))[0].lower()


def find_emails(text: str) -> list[str]:
    """E-mail addresses in text, in order, without duplicates."""
    return list(dict.fromkeys(EMAIL.findall(text)))


def find_numbers(text: str) -> list[FoundNumber]:
    """Phone and fax numbers in text, exactly as written, in order, without duplicates."""
    spans: dict[tuple[int, int], str] = {}
    for match in INTERNATIONAL_NUMBER.finditer(text):
        spans[match.span()] = match.group().strip()
    for match in LABELLED_NUMBER.finditer(text):
        start, end = match.span("number")
        if not any(s <= start < e for s, e in spans):
            spans[(start, end)] = match.group("number").strip()
    found: dict[str, FoundNumber] = {}
    for (start, _end), value in sorted(spans.items()):
        before = text[max(0, start - _LABEL_WINDOW) : start]
        found.setdefault(value, FoundNumber(value, bool(_FAX_LABEL.search(before))))
    return list(found.values())


def _has_contact_value(line: str) -> bool:
    return bool(EMAIL.search(line) or find_numbers(line))


def _address_lines(lines: Sequence[str], first_value_line: int) -> list[str]:
    """Short lines just above the contact values that hold a postal address (they contain digits)."""
    start = first_value_line
    while (
        start > 0
        and first_value_line - start < MAX_ADDRESS_LINES
        and classify(lines[start - 1]) is LineKind.SHORT
        and not _has_contact_value(lines[start - 1])
    ):
        start -= 1
    block = list(lines[start:first_value_line])
    return block if any(ch.isdigit() for line in block for ch in line) else []


def extract_from_passage(
    passage_id: str, text: str, find_entities: EntityFinder | None = None
) -> list[ExtractedContact]:
    """Contacts of one passage: each run of consecutive lines with contact values is one contact."""
    lines = text.split("\n")
    contacts: list[ExtractedContact] = []
    index = 0
    while index < len(lines):
        if not _has_contact_value(lines[index]):
            index += 1
            continue
        end = index
        while end + 1 < len(lines) and _has_contact_value(lines[end + 1]):
            end += 1
        address = _address_lines(lines, index)
        value_text = "\n".join(lines[index : end + 1])
        numbers = find_numbers(value_text)
        quote = "\n".join([*address, value_text])
        name, organisation = _people_and_organisations(quote, find_entities)
        contacts.append(
            ExtractedContact(
                emails=tuple(find_emails(value_text)),
                phones=tuple(n.value for n in numbers if not n.is_fax),
                faxes=tuple(n.value for n in numbers if n.is_fax),
                address="\n".join(address) or None,
                quote=quote,
                source=passage_id,
                name=name,
                organisation=organisation,
            )
        )
        index = end + 1
    return contacts


def _people_and_organisations(text: str, find_entities: EntityFinder | None) -> tuple[str | None, str | None]:
    """First person and first organisation named in text (single-line entities only)."""
    if find_entities is None:
        return None, None
    name = organisation = None
    for entity, label in find_entities(text):
        if "\n" in entity:
            continue  # NER spans across address lines are noise
        if label == "PER" and name is None:
            name = entity
        elif label == "ORG" and organisation is None:
            organisation = entity
    return name, organisation


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def merge_with_curated(
    extracted: Iterable[ExtractedContact], curated: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Contact records for contacts.yml: extracted values + curated id/target/purpose/names.

    A contact without a curated description gets an id derived from its e-mail and a neutral
    purpose, so that a new page needs no code change.
    """
    records: dict[str, dict[str, Any]] = {}
    for found in extracted:
        description = curated.get(found.key, {})
        contact_id = str(description.get("id") or f"contact.{_slug(found.key)}")
        if contact_id in records:
            continue  # the same contact repeated on several pages: the first occurrence is cited
        records[contact_id] = {
            "id": contact_id,
            "target": description.get("target"),
            "name": description.get("name", found.name),
            "organisation": description.get("organisation", found.organisation),
            "purpose": description.get("purpose")
            or "Contact indiqué dans les documents (aucune description n'a été rédigée).",
            "emails": list(found.emails),
            "phones": list(found.phones),
            "faxes": list(found.faxes),
            "address": found.address,
            "quote": found.quote,
            "source": found.source,
        }
    return [records[key] for key in sorted(records)]
