"""Where things live, in one place, so that CLI, tests and the action server agree.

Why: the action server, `make` and pytest start from different working directories; every path is
derived from this file's location, never from the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

PAGES_DIR_ENV = "OIM_PAGES_DIR"
KNOWLEDGE_DIR_ENV = "OIM_KNOWLEDGE_DIR"


def repo_root() -> Path:
    """The repository root (the folder that holds `bot/`)."""
    return Path(__file__).resolve().parents[2]


def knowledge_dir() -> Path:
    """Knowledge folder: $OIM_KNOWLEDGE_DIR (a staged or test copy), else <repo>/data/knowledge."""
    override = os.environ.get(KNOWLEDGE_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return repo_root() / "data" / "knowledge"


def pages_dir() -> Path:
    """Every source page (the five first pages and those added by `python -m bot update`), in the repo.

    $OIM_PAGES_DIR (a test or staged copy), else <repo>/data/pages.
    """
    override = os.environ.get(PAGES_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return repo_root() / "data" / "pages"


def passages_dir(knowledge: Path) -> Path:
    """Generated passage files, one per source page."""
    return knowledge / "passages"


def entries_dir(knowledge: Path) -> Path:
    """Curated entries (organisation, programmes, events)."""
    return knowledge / "entries"


def contacts_file(knowledge: Path) -> Path:
    """Generated contacts (regex + NER, merged with the curated descriptions)."""
    return knowledge / "contacts.yml"


def curated_contacts_file(knowledge: Path) -> Path:
    """Hand-written contact descriptions keyed by e-mail (input of ingest)."""
    return knowledge / "contacts_curated.yml"


def sources_file(knowledge: Path) -> Path:
    """Curated page titles shown to users."""
    return knowledge / "sources.yml"


def handoff_file(knowledge: Path) -> Path:
    """Curated: the general contact of a request for a human whose topic has no contact of its own."""
    return knowledge / "handoff.yml"


def cache_root() -> Path:
    """Same folder as scripts/lib.sh: $OIM_CACHE_DIR, else $XDG_CACHE_HOME/oim-assistant."""
    explicit = os.environ.get("OIM_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "oim-assistant"
