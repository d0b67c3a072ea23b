"""`python -m bot ingest`: turn source pages into versioned knowledge files.

Why: the assistant may only say what the pages say, so everything it knows is derived from them
reproducibly: same pages in, byte-identical files out. Bad files are reported one by one and
skipped; the others are still ingested, and every file is written atomically.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge import paths
from bot.knowledge.contacts_extract import (
    EntityFinder,
    ExtractedContact,
    extract_from_passage,
    merge_with_curated,
)
from bot.knowledge.navigation import PageLayout, repeated_lines, split_layout
from bot.knowledge.passages import derive_title, split_passages
from bot.knowledge.yamlio import dump_yaml, load_yaml, write_atomic

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
PAGE_SUFFIX = ".txt"
# More than this share of control characters means the file is not a text page.
MAX_CONTROL_SHARE = 0.05


class PageError(Exception):
    """A source file that cannot be used as a page (empty, binary, not UTF-8, no text)."""


@dataclass(frozen=True)
class PageText:
    """A decoded source page."""

    path: Path
    lines: tuple[str, ...]
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem(self) -> str:
        return self.path.stem


@dataclass
class IngestReport:
    """What an ingest run did; `warnings` has one readable message per skipped file."""

    pages: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.pages) and not self.errors


def read_page(path: Path) -> PageText:
    """Read and decode one page; PageError with a readable reason if it is not a text page."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PageError(f"cannot be read ({exc.strerror})") from exc
    if not data.strip():
        raise PageError("the file is empty")
    if b"\x00" in data:
        raise PageError("looks like a binary file (it contains NUL bytes), not a text page")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise PageError(f"is not UTF-8 (byte 0x{bad} at offset {exc.start}); convert it to UTF-8") from exc
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    if controls > MAX_CONTROL_SHARE * len(text):
        raise PageError("looks like a binary file (many control characters), not a text page")
    text = unicodedata.normalize("NFC", text)
    lines = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not any(any(ch.isalpha() for ch in line) for line in lines):
        raise PageError("contains no text")
    return PageText(path, lines, hashlib.sha256(data).hexdigest())


def collect_inputs(inputs: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """Page files named by inputs (folders give their *.txt files), sorted; plus warnings."""
    found: list[Path] = []
    warnings: list[str] = []
    for item in inputs:
        if item.is_dir():
            found.extend(sorted(p for p in item.iterdir() if p.suffix == PAGE_SUFFIX and p.is_file()))
        elif item.is_file():
            found.append(item)
        else:
            warnings.append(f"{item}: skipped: no such file or folder")
    unique: dict[str, Path] = {}
    for page_path in found:
        if page_path.stem in unique and unique[page_path.stem].resolve() != page_path.resolve():
            warnings.append(f"{page_path}: skipped: another page is also named {page_path.stem}")
            continue
        unique.setdefault(page_path.stem, page_path)
    return sorted(unique.values(), key=lambda p: p.name), warnings


def _corpus_siblings(pages: Sequence[Path]) -> list[PageText]:
    """Other readable pages of the inputs' folders: navigation is a property of the whole site."""
    chosen = {p.resolve() for p in pages}
    siblings: list[PageText] = []
    for folder in sorted({p.resolve().parent for p in pages}):
        for candidate in sorted(folder.glob(f"*{PAGE_SUFFIX}")):
            if candidate.resolve() in chosen:
                continue
            try:
                siblings.append(read_page(candidate))
            except PageError:
                continue
    return siblings


def page_document(page: PageText, layout: PageLayout) -> dict[str, Any]:
    """Content of data/knowledge/passages/<stem>.yml for one page."""
    passages = [
        {"id": f"{page.stem}.p{p.number:03d}", "section": p.section, "text": p.text}
        for p in split_passages(layout.body)
    ]
    navigation = [
        {"id": f"{page.stem}.n{number:03d}", "text": "\n".join(block)}
        for number, block in enumerate((b for b in (layout.header, layout.footer) if b), start=1)
    ]
    document: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "source": {
            "file": page.name,
            "sha256": page.sha256,
            "title": derive_title(layout.body) or page.stem,
        },
        "passages": passages,
    }
    if navigation:
        document["navigation"] = navigation
    return document


def _read_curated_contacts(knowledge_dir: Path) -> dict[str, dict[str, Any]]:
    path = paths.curated_contacts_file(knowledge_dir)
    if not path.exists():
        return {}
    data = load_yaml(path) or {}
    return {str(key).lower(): dict(value) for key, value in (data.get("contacts") or {}).items()}


def _stored_passages(knowledge_dir: Path) -> Iterable[tuple[str, str]]:
    """(passage id, text) of every passage file in the knowledge folder, in file order."""
    for path in sorted(paths.passages_dir(knowledge_dir).glob("*.yml")):
        for passage in (load_yaml(path) or {}).get("passages") or []:
            yield str(passage["id"]), str(passage["text"])


def contacts_document(
    knowledge_dir: Path, find_entities: EntityFinder | None, report: IngestReport
) -> dict[str, Any]:
    """Content of contacts.yml, from all passage files present in the knowledge folder."""
    found: list[ExtractedContact] = []
    for passage_id, text in _stored_passages(knowledge_dir):
        found.extend(extract_from_passage(passage_id, text, find_entities))
    curated = _read_curated_contacts(knowledge_dir)
    for key in sorted(set(curated) - {contact.key for contact in found}):
        report.warnings.append(f"contacts_curated.yml: {key} is not in any page (description unused)")
    return {"version": FORMAT_VERSION, "contacts": merge_with_curated(found, curated)}


def ingest(
    inputs: Sequence[Path],
    knowledge_dir: Path,
    find_entities: EntityFinder | None = None,
    check: bool = True,
) -> IngestReport:
    """Ingest the pages named by inputs into knowledge_dir; never raises for a bad page."""
    report = IngestReport()
    files, report.warnings = collect_inputs(inputs)
    pages: list[PageText] = []
    for path in files:
        try:
            pages.append(read_page(path))
        except PageError as exc:
            report.warnings.append(f"{path.name}: skipped: {exc}")
    corpus = [page.lines for page in [*pages, *_corpus_siblings([p.path for p in pages])]]
    if len(corpus) < 2 and pages:
        report.warnings.append("only one page: repeated navigation cannot be detected, none removed")
    repeated = repeated_lines(corpus)
    for page in pages:
        document = page_document(page, split_layout(page.lines, repeated))
        if not document["passages"]:
            report.warnings.append(f"{page.name}: skipped: no text left once the site navigation is removed")
            continue
        target = paths.passages_dir(knowledge_dir) / f"{page.stem}.yml"
        if write_atomic(target, dump_yaml(document)):
            report.written.append(target)
        report.pages.append(page.name)
    if not report.pages:
        report.errors.append("no page could be ingested")
        return report
    if find_entities is None:
        from bot.knowledge.nlp import named_entities

        find_entities = named_entities
    contacts = contacts_document(knowledge_dir, find_entities, report)
    if write_atomic(paths.contacts_file(knowledge_dir), dump_yaml(contacts)):
        report.written.append(paths.contacts_file(knowledge_dir))
    if check and paths.entries_dir(knowledge_dir).is_dir():
        from bot.knowledge.validate import validate_dir

        report.errors.extend(str(problem) for problem in validate_dir(knowledge_dir))
    return report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ingest` subcommand."""
    parser = subparsers.add_parser(
        "ingest",
        help="read source pages and (re)write data/knowledge/passages and contacts.yml",
        description="Read page texts, remove repeated navigation, split into passages, "
        "extract contacts, and write the knowledge files (deterministic, atomic).",
    )
    parser.add_argument(
        "inputs", nargs="*", type=Path, help=f"page files or folders (default: {paths.pages_dir()})"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help=f"knowledge folder (default: {paths.knowledge_dir()})"
    )
    parser.add_argument("--strict", action="store_true", help="exit non-zero if any file is skipped")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """CLI entry point of `ingest`; returns the exit code."""
    inputs = list(args.inputs) or [paths.pages_dir()]
    out = args.out or paths.knowledge_dir()
    report = ingest(inputs, out)
    for message in report.warnings:
        log.warning("%s", message)
    for message in report.errors:
        log.error("%s", message)
    log.info(
        "ingested %d page(s) into %s; %d file(s) changed",
        len(report.pages),
        out,
        len(report.written),
    )
    if not report.ok or (args.strict and report.warnings):
        return 1
    return 0
