"""The connectors' fixed French texts, read from `texts.yml` (never written in Python)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

TEXTS_FILE = Path(__file__).with_name("texts.yml")


@dataclass(frozen=True)
class Choice:
    """One entry of a menu: what the user sees, and what the assistant reads when it is chosen."""

    title: str
    payload: str


@dataclass(frozen=True)
class Texts:
    first_contact: str
    privacy_line: str
    media: str
    edited: str
    error: str
    numbered_prompt: str
    menu_intro: str
    menu: tuple[Choice, ...]
    telegram_start: str

    def notice(self, privacy_url: str = "") -> str:
        privacy = self.privacy_line.format(url=privacy_url) if privacy_url else ""
        return self.first_contact.format(privacy=privacy).strip()


@functools.lru_cache(maxsize=4)
def load_texts(path: Path = TEXTS_FILE) -> Texts:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    keys = ("first_contact", "privacy_line", "media", "edited", "error", "numbered_prompt", "menu_intro",
            "telegram_start")
    missing = [key for key in (*keys, "menu") if not data.get(key)]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    menu = tuple(Choice(str(item["title"]), str(item["payload"])) for item in data["menu"])
    return Texts(**{key: str(data[key]).strip() for key in keys}, menu=menu)
