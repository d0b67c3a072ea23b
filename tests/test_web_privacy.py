"""Privacy: personal data is redacted from logs, and old conversations are really deleted."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.knowledge.paths import repo_root
from bot.serving.purge_trackers import purge
from bot.serving.redact import EMAIL_MARK, PHONE_MARK, redact, shorten
from bot.serving.tracker_stores import conversation_ids, open_tracker_store

DAY = 86400


@pytest.mark.parametrize("text, hidden", [
    ("écrivez-moi à fatou.diallo+oim@example.org svp", "fatou.diallo+oim@example.org"),
    ("mon numéro : +41 79 123 45 67", "+41 79 123 45 67"),
    ("appelez le 0041.79.123.45.67", "0041.79.123.45.67"),
    ("tel (022) 717-91-11 merci", "(022) 717-91-11"),
    ("whatsapp 770123456", "770123456"),
])
def test_redact_hides_emails_and_phones(text: str, hidden: str) -> None:
    cleaned = redact(text)
    assert hidden.strip("()") not in cleaned
    assert EMAIL_MARK in cleaned or PHONE_MARK in cleaned


@pytest.mark.parametrize("text", [
    "l'OIM a été créée en 1951",
    "je suis arrivé le 12/03, j'ai 25 ans",
    "la 110e session du Conseil",
])
def test_redact_keeps_years_dates_and_small_numbers(text: str) -> None:
    assert redact(text) == text


def test_shorten_is_one_redacted_line() -> None:
    line = shorten("a@b.org\n" + "x" * 500, limit=50)
    assert "\n" not in line and "a@b.org" not in line and len(line) == 50


@given(st.from_regex(r"\+?[0-9]{2}[ .-]?[0-9]{2,3}[ .-]?[0-9]{3}[ .-]?[0-9]{2,4}", fullmatch=True))
def test_any_phone_like_number_is_redacted(phone: str) -> None:
    assert phone not in redact(f"mon numero est {phone} merci")


# --- purge of the SQL tracker store ----------------------------------------------------------

def _write_endpoints(folder: Path) -> Path:
    endpoints = folder / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: trackers.db\n", encoding="utf-8")
    return endpoints


async def _save(store, sender: str, age_days: float, text: str) -> None:
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    stamp = time.time() - age_days * DAY
    await store.save(DialogueStateTracker.from_events(sender, [UserUttered(text, timestamp=stamp)]))


def test_purge_deletes_only_old_conversations_and_their_text(tmp_path: Path) -> None:
    endpoints = _write_endpoints(tmp_path)
    store = open_tracker_store(endpoints)
    asyncio.run(_save(store, "old", 40, "SECRET-OLD mon numéro"))
    asyncio.run(_save(store, "recent", 1, "encore là"))

    dry = purge(endpoints, 30, dry_run=True)
    assert (dry.conversations, dry.dry_run) == (1, True)
    assert asyncio.run(conversation_ids(store)) == ["old", "recent"]

    result = purge(endpoints, 30)
    assert (result.store, result.conversations, result.events) == ("sql", 1, 1)
    assert asyncio.run(conversation_ids(store)) == ["recent"]
    # VACUUM ran: the deleted text is gone from the file itself, not just from the table.
    assert b"SECRET-OLD" not in (tmp_path / "trackers.db").read_bytes()
    with sqlite3.connect(tmp_path / "trackers.db") as db:
        assert db.execute("select count(*) from events").fetchone() == (1,)


def test_purge_of_redis_store_explains_that_redis_expires_by_itself(tmp_path: Path) -> None:
    env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": "1", "REDIS_DB": "0", "REDIS_PASSWORD": "",
           "REDIS_KEY_PREFIX": "oim", "REDIS_RECORD_EXP": "600", "ACTION_ENDPOINT_URL": "http://x/webhook"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "purge-trackers", "--older-than-days", "30",
         "--endpoints", str(repo_root() / "endpoints.redis.yml")],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing to do" in result.stdout and "600 s" in result.stdout


def test_purge_cli_refuses_nonsense(tmp_path: Path) -> None:
    endpoints = _write_endpoints(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "purge-trackers", "--older-than-days", "0", "--endpoints", str(endpoints)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "greater than 0" in result.stderr
