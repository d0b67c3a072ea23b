"""`python -m bot validate`: check the knowledge files before anyone relies on them.

Why: the assistant must only repeat what the pages say. Every curated fact carries a verbatim
quote and the passage it comes from; this module proves each quote is really there, that answers
carry no number, e-mail or phone absent from their quotes, that ids are unique and references
resolve, and that every passage file still matches its page in data/pages/. KnowledgeBase.load runs
the same checks (not the page comparison) and refuses invalid knowledge. The fields of each record
(names, types, required or not) are the pydantic models of bot.knowledge.files; this module adds
what a schema cannot say (quotes, numbers, references, disagreements).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge import paths
from bot.knowledge.contacts_extract import find_emails, find_numbers
from bot.knowledge.files import (
    AspectRecord,
    AudienceRecord,
    ContactRecord,
    CountryRecord,
    EntryRecord,
    FactRecord,
    HandoffRecord,
    KnowledgeFile,
    NavigationRecord,
    PassageRecord,
    Problem,
    RawKnowledge,
    Record,
    SourceRecord,
    SourceTitle,
    read_knowledge,
    schema_problems,
)
from bot.knowledge.textnorm import digits_only, fold, folded_words, numbers_in, quote_form

log = logging.getLogger(__name__)

SUPPORTED_VERSION = 1
KINDS = frozenset({"organisation", "programme", "event", "framework"})
ASPECTS = frozenset({"who", "how", "figures"})
CONTACT_TARGETS = frozenset({"press", "md_unit", "un_desa"})
# Lines starting with these keys make Rasa read a YAML file under data/ as training data.
RASA_TRAINING_KEYS = ("nlu:", "responses:", "stories:", "rules:")
# Spelled-out numbers: an answer may only use those its quotes use.
NUMBER_WORDS = frozenset(
    {
        "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze",
        "treize", "quatorze", "quinze", "seize", "vingt", "trente", "quarante", "cinquante",
        "soixante", "cent", "cents", "mille", "million", "millions", "milliard", "milliards",
    }
)  # fmt: skip
MIN_QUOTE_CHARS = 8
_PASSAGE_ID = re.compile(r"^(?P<stem>.+)\.(?P<kind>[pn])(?P<number>\d{3})$")
_INTENT = re.compile(r"^[a-z][a-z0-9_]*$")

@dataclass(frozen=True)
class _PassageText:
    file: str
    section: str
    text: str


@dataclass
class _Evidence:
    """Numbers, e-mails, phones and words an answer is allowed to use."""

    numbers: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)

    def add(self, text: str) -> None:
        self.numbers |= numbers_in(text)
        self.emails |= {email.lower() for email in find_emails(text)}
        self.phones |= {digits_only(n.value) for n in find_numbers(text)}
        self.words |= set(folded_words(text))


class _Checker:
    """Accumulates problems while walking the raw knowledge."""

    def __init__(self, raw: RawKnowledge) -> None:
        self.raw = raw
        self.problems: list[Problem] = list(raw.problems)
        self.passages: dict[str, _PassageText] = {}
        self.contact_ids: set[str] = set()
        self.contact_evidence: dict[str, _Evidence] = {}

    def add(self, file: str, entry: str | None, message: str) -> None:
        self.problems.append(Problem(file, entry, message))

    # -- generic helpers -------------------------------------------------------------------
    def check_version(self, kfile: KnowledgeFile) -> bool:
        if not isinstance(kfile.data, dict):
            self.add(kfile.name, None, "must be a YAML mapping with `version:`")
            return False
        if kfile.data.get("version") != SUPPORTED_VERSION:
            self.add(
                kfile.name, None, f"version must be {SUPPORTED_VERSION}, got {kfile.data.get('version')!r}"
            )
            return False
        return True

    def check_record(self, model: type[Record], record: Any, file: str, entry: str | None, what: str) -> bool:
        """`record` against its schema (bot.knowledge.files); each problem names the field."""
        problems = schema_problems(model, record, what)
        for message in problems:
            self.add(file, entry, message)
        return not problems

    def check_quote(self, file: str, entry: str, what: str, quote: str, source: str) -> None:
        """The quote must be found verbatim (whitespace/apostrophes folded) in the cited passage."""
        passage = self.passages.get(source)
        if passage is None:
            self.add(file, entry, f"{what}: source {source!r} is not a passage id (dangling reference)")
            return
        wanted = quote_form(quote)
        if len(wanted) < MIN_QUOTE_CHARS:
            self.add(file, entry, f"{what}: quote too short to prove anything: {quote!r}")
        elif wanted not in quote_form(passage.text) and wanted not in quote_form(passage.section):
            self.add(file, entry, f"{what}: quote not found in passage {source} ({passage.file}): «{quote}»")

    # -- passages and sources ----------------------------------------------------------------
    def check_passage_files(self) -> None:
        for kfile in self.raw.passage_files:
            if not self.check_version(kfile):
                continue
            source = kfile.data.get("source")
            if not self.check_record(SourceRecord, source, kfile.name, None, "source"):
                continue
            stem = Path(source["file"]).stem
            if Path(kfile.name).stem != stem:
                self.add(kfile.name, None, f"file name does not match source.file {source['file']!r}")
            if not re.fullmatch(r"[0-9a-f]{64}", source["sha256"]):
                self.add(kfile.name, None, "source.sha256 is not a SHA-256 hex digest")
            passages = kfile.data.get("passages")
            if not isinstance(passages, list) or not passages:
                self.add(kfile.name, None, "`passages` must be a non-empty list")
                continue
            records = [(p, "p") for p in passages] + [(n, "n") for n in kfile.data.get("navigation") or []]
            for record, kind in records:
                model = PassageRecord if kind == "p" else NavigationRecord
                if not self.check_record(model, record, kfile.name, None, "passage"):
                    continue
                pid = record["id"]
                match = _PASSAGE_ID.match(pid)
                if not match or match["stem"] != stem or match["kind"] != kind:
                    self.add(kfile.name, pid, f"id must look like {stem}.{kind}NNN")
                if pid in self.passages:
                    self.add(kfile.name, pid, "duplicate passage id")
                    continue
                self.passages[pid] = _PassageText(kfile.name, record.get("section", ""), record["text"])

    def check_sources(self) -> None:
        kfile = self.raw.sources
        if kfile is None or not self.check_version(kfile):
            return
        sources = kfile.data.get("sources")
        if not isinstance(sources, dict):
            self.add(kfile.name, None, "`sources` must be a mapping file name -> {title}")
            return
        known = {p.data["source"]["file"] for p in self.raw.passage_files if _has_source(p)}
        for name, record in sources.items():
            valid = self.check_record(SourceTitle, record, kfile.name, str(name), "source")
            if valid and name not in known:
                self.add(kfile.name, str(name), "no passage file for this source (dangling reference)")

    # -- contacts ----------------------------------------------------------------------------
    def check_contacts(self) -> None:
        kfile = self.raw.contacts
        if kfile is None or not self.check_version(kfile):
            return
        contacts = kfile.data.get("contacts")
        if not isinstance(contacts, list):
            self.add(kfile.name, None, "`contacts` must be a list")
            return
        for record in contacts:
            cid = record.get("id") if isinstance(record, dict) else None
            if not self.check_record(ContactRecord, record, kfile.name, cid, "contact"):
                continue
            cid = str(record["id"])
            if not cid.startswith("contact."):
                self.add(kfile.name, cid, "contact ids start with `contact.`")
            if cid in self.contact_ids:
                self.add(kfile.name, cid, "duplicate contact id")
            self.contact_ids.add(cid)
            if record["target"] is not None and record["target"] not in CONTACT_TARGETS:
                self.add(
                    kfile.name, cid, f"unknown target {record['target']!r} (known: {sorted(CONTACT_TARGETS)})"
                )
            self.check_quote(kfile.name, cid, "contact", record["quote"], record["source"])
            values = [*record["emails"], *record["phones"], *record["faxes"]]
            if not values and not record["address"]:
                self.add(kfile.name, cid, "a contact needs an e-mail, a phone, a fax or an address")
            quoted = quote_form(record["quote"])
            for label in ("emails", "phones", "faxes"):
                for value in record[label]:
                    if not isinstance(value, str) or quote_form(value) not in quoted:
                        self.add(kfile.name, cid, f"{label}: {value!r} is not written in the quote")
            for label in ("name", "address"):
                if record[label] and quote_form(record[label]) not in quoted:
                    self.add(kfile.name, cid, f"{label}: {record[label]!r} is not written in the quote")
            evidence = _Evidence()
            evidence.add(record["quote"])
            self.contact_evidence[cid] = evidence
            for label in ("purpose", "organisation"):
                if record[label]:
                    self.check_supported(kfile.name, cid, label, record[label], evidence)

    def check_contacts_complete(self) -> None:
        """Every e-mail and number written in a passage must be described in contacts.yml."""
        if self.raw.contacts is None or not isinstance(self.raw.contacts.data, dict):
            return
        listed: set[str] = set()
        for record in self.raw.contacts.data.get("contacts") or []:
            if isinstance(record, dict):
                for label in ("emails", "phones", "faxes"):
                    listed |= {
                        digits_only(v) if label != "emails" else v.lower() for v in record.get(label) or []
                    }
        for pid, passage in sorted(self.passages.items()):
            if _PASSAGE_ID.match(pid) and pid.rsplit(".", 1)[1].startswith("n"):
                continue
            for email in find_emails(passage.text):
                if email.lower() not in listed:
                    self.add("contacts.yml", None, f"{email} (in {pid}) is missing: re-run `make ingest`")
            for number in find_numbers(passage.text):
                if digits_only(number.value) not in listed:
                    self.add(
                        "contacts.yml", None, f"{number.value} (in {pid}) is missing: re-run `make ingest`"
                    )

    # -- entries -----------------------------------------------------------------------------
    def check_entries(self) -> None:
        seen_ids: set[str] = set()
        owners: dict[tuple[str, str], str] = {}
        redirects: list[tuple[str, str, str]] = []
        for kfile in self.raw.entry_files:
            if not self.check_version(kfile):
                continue
            entries = kfile.data.get("entries")
            if not isinstance(entries, list):
                self.add(kfile.name, None, "`entries` must be a list")
                continue
            for record in entries:
                eid = record.get("id") if isinstance(record, dict) else None
                if not self.check_record(EntryRecord, record, kfile.name, eid, "entry"):
                    continue
                eid = str(record["id"])
                if eid in seen_ids:
                    self.add(kfile.name, eid, "duplicate entry id")
                seen_ids.add(eid)
                for intent in record["intents"]:
                    if not isinstance(intent, str) or not _INTENT.match(intent):
                        self.add(kfile.name, eid, f"intent {intent!r} is not a valid intent name")
                    elif owners.setdefault(("intent", intent), eid) != eid:
                        self.add(
                            kfile.name,
                            eid,
                            f"intent {intent} already answered by {owners[('intent', intent)]}",
                        )
                self.check_entry(kfile.name, record, owners)
                for audience in record.get("audiences") or []:
                    if isinstance(audience, dict) and isinstance(audience.get("answer_with"), str):
                        redirects.append((kfile.name, eid, audience["answer_with"]))
        for file, eid, target in redirects:
            if target not in seen_ids or target == eid:
                self.add(file, eid, f"audience: answer_with {target!r} is not another entry (dangling reference)")

    def check_entry(self, file: str, record: dict[str, Any], owners: dict[tuple[str, str], str]) -> None:
        eid = record["id"]
        if record["kind"] not in KINDS:
            self.add(file, eid, f"kind must be one of {sorted(KINDS)}")
        programme = record.get("programme")
        if (record["kind"] == "programme") != (programme is not None):
            self.add(file, eid, "`programme` is required for kind programme and only for it")
        if programme is not None and owners.setdefault(("programme", programme), eid) != eid:
            self.add(
                file, eid, f"programme {programme} already described by {owners[('programme', programme)]}"
            )
        if not record["facts"]:
            self.add(file, eid, "an entry needs at least one fact with a quote")
        evidence = _Evidence()
        self.check_facts(file, eid, "fact", record["facts"], evidence)
        aspects = record.get("aspects") or {}
        for name, aspect in aspects.items():
            if name not in ASPECTS:
                self.add(file, eid, f"unknown aspect {name!r} (known: {sorted(ASPECTS)})")
            if self.check_record(AspectRecord, aspect, file, eid, f"aspect {name}"):
                self.check_facts(file, eid, f"aspect {name} fact", aspect.get("facts") or [], evidence)
        for country, mention in (record.get("countries") or {}).items():
            what = f"country {country}"
            if not self.check_record(CountryRecord, mention, file, eid, what):
                continue
            self.check_quote(file, eid, what, mention["quote"], mention["source"])
            if fold(str(country)) not in fold(mention["quote"]):
                self.add(file, eid, f"{what}: the quote does not name {country}")
            evidence.add(mention["quote"])
            if "role" in mention:
                self.check_supported(file, eid, f"{what} role", mention["role"], evidence)
        for audience in record.get("audiences") or []:
            self.check_audience(file, eid, audience)
        for cid in record.get("contacts") or []:
            if cid not in self.contact_ids:
                self.add(file, eid, f"contact {cid!r} does not exist in contacts.yml (dangling reference)")
            elif cid in self.contact_evidence:
                other = self.contact_evidence[cid]
                evidence.numbers |= other.numbers
                evidence.emails |= other.emails
                evidence.phones |= other.phones
                evidence.words |= other.words
        self.check_supported(file, eid, "answer", record["answer"], evidence)
        self.check_supported(file, eid, "title", record["title"], evidence)
        for name, aspect in aspects.items():
            if isinstance(aspect, dict) and isinstance(aspect.get("answer"), str):
                self.check_supported(file, eid, f"aspect {name} answer", aspect["answer"], evidence)

    def check_audience(self, file: str, eid: str, audience: Any) -> None:
        """Its quote is verbatim and uses one of the words that make it apply (so it says why)."""
        if not self.check_record(AudienceRecord, audience, file, eid, "audience"):
            return
        said = {fold(str(word)) for word in audience["said"] if isinstance(word, str) and word.strip()}
        if not said:
            self.add(file, eid, "audience: `said` needs at least one word")
            return
        self.check_quote(file, eid, "audience", audience["quote"], audience["source"])
        if not said & set(folded_words(audience["quote"])):
            self.add(file, eid, f"audience {audience['who']}: the quote uses none of the words in `said`")

    def check_facts(self, file: str, eid: str, what: str, facts: list[Any], evidence: _Evidence) -> None:
        by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for fact in facts:
            if not self.check_record(FactRecord, fact, file, eid, what):
                continue
            label = f"{what} {fact['label']!r}"
            self.check_quote(file, eid, label, fact["quote"], fact["source"])
            quote_evidence = _Evidence()
            quote_evidence.add(fact["quote"])
            self.check_supported(file, eid, f"{label} value", fact["value"], quote_evidence)
            evidence.add(fact["quote"])
            by_label[fact["label"]].append(fact)
        for label, group in by_label.items():
            values = {fact["value"] for fact in group}
            current = [fact for fact in group if fact.get("current") is True]
            if len(values) > 1 and len(current) != 1:
                self.add(
                    file, eid,
                    f"{what}s {label!r} disagree ({' / '.join(sorted(values))}): mark exactly one `current: true`",
                )  # fmt: skip
            elif any("current" in fact for fact in group) and len(current) != 1:
                self.add(file, eid, f"{what}s {label!r}: exactly one must be `current: true`")

    def check_supported(self, file: str, eid: str, what: str, text: str, evidence: _Evidence) -> None:
        """Numbers, e-mails, phones and spelled-out numbers of text must all come from the quotes."""
        for number in sorted(numbers_in(text) - evidence.numbers):
            self.add(file, eid, f"{what}: number {number} appears in none of its quotes")
        for email in find_emails(text):
            if email.lower() not in evidence.emails:
                self.add(file, eid, f"{what}: e-mail {email} appears in none of its quotes or contacts")
        for found in find_numbers(text):
            if digits_only(found.value) not in evidence.phones:
                self.add(file, eid, f"{what}: phone {found.value} appears in none of its quotes or contacts")
        words = set(folded_words(text)) & NUMBER_WORDS
        for word in sorted(words - evidence.words):
            self.add(file, eid, f"{what}: number word {word!r} appears in none of its quotes")

    # -- files as text -----------------------------------------------------------------------
    # -- handoff.yml -------------------------------------------------------------------------
    def check_handoff(self) -> None:
        """The general contact of a request for a human: a contact of contacts.yml, named in a
        verbatim quote of the passage cited (what makes it the general one), like any fact."""
        kfile = self.raw.handoff
        if kfile is None or not self.check_version(kfile):
            return
        if not self.check_record(HandoffRecord, kfile.data, kfile.name, None, "handoff"):
            return
        wanted, quote = str(kfile.data["general_contact"]), str(kfile.data["quote"])
        self.check_quote(kfile.name, wanted, "general_contact", quote, str(kfile.data["source"]))
        if wanted not in self.contact_ids:
            self.add(kfile.name, wanted, f"general_contact {wanted!r} does not exist in contacts.yml (dangling reference)")
            return
        contacts = self.raw.contacts.data.get("contacts") if self.raw.contacts else None
        record = next((c for c in contacts or [] if isinstance(c, dict) and c.get("id") == wanted), {})
        names = [record.get("name"), *record.get("emails", []), *record.get("phones", [])]
        quoted = quote_form(quote)
        if not any(isinstance(name, str) and name and quote_form(name) in quoted for name in names):
            self.add(kfile.name, wanted, "the quote must name the general contact (its name, e-mail or phone)")

    def check_not_rasa_training_data(self) -> None:
        files = [*self.raw.passage_files, *self.raw.entry_files, self.raw.contacts, self.raw.sources, self.raw.handoff]
        for kfile in files:
            if kfile is None:
                continue
            for number, line in enumerate(kfile.path.read_text(encoding="utf-8").splitlines(), 1):
                if line.lstrip().startswith(RASA_TRAINING_KEYS):
                    self.add(
                        kfile.name,
                        None,
                        f"line {number} starts with a Rasa key; Rasa would read this file as training data",
                    )


def _has_source(kfile: KnowledgeFile) -> bool:
    data = kfile.data
    return isinstance(data, dict) and isinstance(data.get("source"), dict) and "file" in data["source"]


def validate_raw(raw: RawKnowledge) -> list[Problem]:
    """Every problem of the knowledge folder (empty list when valid)."""
    checker = _Checker(raw)
    checker.check_passage_files()
    checker.check_sources()
    checker.check_contacts()
    checker.check_contacts_complete()
    checker.check_entries()
    checker.check_handoff()
    checker.check_not_rasa_training_data()
    return checker.problems


def check_against_pages(raw: RawKnowledge, pages: Path) -> list[Problem]:
    """The pages folder holds the pages; each passage file matches its page (hash) and quotes it line by line."""
    if not pages.is_dir():
        return [Problem(str(pages), None, "pages folder not found: the source pages must be there")]
    if not any(pages.glob("*.txt")):
        return [Problem(str(pages), None, "no page (*.txt) in the pages folder")]
    problems: list[Problem] = []
    for kfile in raw.passage_files:
        if not _has_source(kfile):
            continue
        source = kfile.data["source"]
        page = pages / str(source["file"])
        if not page.is_file():
            problems.append(Problem(kfile.name, None, f"source page {page.name} not found in {pages}"))
            continue
        data = page.read_bytes()
        if hashlib.sha256(data).hexdigest() != source.get("sha256"):
            problems.append(
                Problem(kfile.name, None, f"{page.name} changed since ingest: re-run `make ingest`")
            )
            continue
        text = unicodedata.normalize("NFC", data.decode("utf-8-sig"))
        page_lines = [quote_form(line) for line in text.splitlines()]
        records = [*(kfile.data.get("passages") or []), *(kfile.data.get("navigation") or [])]
        for record in records:
            for line in str(record.get("text", "")).split("\n"):
                wanted = quote_form(line)  # a whole line, or whole sentences of a long line
                if not any(wanted in page_line for page_line in page_lines):
                    problems.append(
                        Problem(kfile.name, record.get("id"), f"line not in {page.name}: «{line}»")
                    )
    return problems


def validate_dir(root: Path, pages: Path | None = None) -> list[Problem]:
    """Validate a knowledge folder; with pages, also check the passages against the page files."""
    raw = read_knowledge(root)
    problems = validate_raw(raw)
    if pages is not None:
        problems.extend(check_against_pages(raw, pages))
    return problems


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `validate` subcommand."""
    parser = subparsers.add_parser(
        "validate",
        help="check the knowledge files (schema, verbatim quotes, ids, references)",
        description="Exit 1 and list every problem (file: entry: message) if the knowledge is invalid "
        "or does not match the source pages (a missing or empty pages folder is a problem).",
    )
    parser.add_argument("knowledge_dir", nargs="?", type=Path, default=None,
                        help=f"knowledge folder (default: {paths.knowledge_dir()})")  # fmt: skip
    parser.add_argument("--pages", type=Path, default=None,
                        help=f"folder of the source pages the passages must match (default: {paths.pages_dir()})")  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """CLI entry point of `validate`; returns the exit code."""
    root = args.knowledge_dir or paths.knowledge_dir()
    problems = validate_dir(root, args.pages or paths.pages_dir())
    for problem in problems:
        log.error("%s", problem)
    if problems:
        log.error("%d problem(s) in %s", len(problems), root)
        return 1
    log.info("knowledge in %s is valid", root)
    return 0
