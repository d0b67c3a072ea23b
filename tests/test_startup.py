"""The update gates' candidate servers start as `make run` starts Rasa (bot/serving/startup.py).

Before, the candidate stack ran Rasa's stock `rest:` channel with no tracker store: the gates judged
another server than the one users get. Every one of them is Rasa's own, unpatched `rasa run`; what is
ours comes in through credentials.yml and endpoints.yml.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import yaml

from bot.knowledge.paths import knowledge_dir, repo_root
from bot.maintenance.candidate_stack import CandidateStack
from bot.serving import startup
from bot.serving.sqlite_tracker_store import STORE_TYPE


def test_run_sh_docker_and_the_gates_start_rasas_own_server() -> None:
    assert '"$venv/bin/rasa" run --model' in (repo_root() / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert "exec rasa run --model" in (repo_root() / "docker-compose.yml").read_text(encoding="utf-8")
    command = startup.rasa_command("m.tar.gz", "e.yml", "c.yml", 5005, token="-tok")
    assert command[1:4] == ["-m", "rasa", "run"] and "--auth-token=-tok" in command


def test_private_credentials_are_ours_without_messaging_connectors(tmp_path: Path) -> None:
    env = {"TELEGRAM_ACCESS_TOKEN": "t", "TELEGRAM_VERIFY": "v", "TELEGRAM_WEBHOOK_URL": "https://x.example/wh"}
    private = yaml.safe_load(startup.write_credentials(tmp_path / "c.yml", env=env, connectors=False).read_text())
    assert set(private) == set(yaml.safe_load((repo_root() / "credentials.yml").read_text(encoding="utf-8")))
    assert "bot.serving.rest_channel.ResilientRestInput" in private


def test_candidate_stack_runs_our_channel_and_store(model_path: Path, tmp_path: Path) -> None:
    with CandidateStack(model_path, knowledge_dir(), tmp_path / "candidate") as stack:
        # Our REST channel: a message with nothing to read gets a polite answer (stock Rasa: nothing).
        assert stack.send("startup-test", " \u0007 ")[0]["text"]
        assert stack.send("startup-test", "bonjour")
        assert stack.parse("bonjour")["intent"]["name"] == "greet"
    endpoints = (tmp_path / "candidate" / "candidate-endpoints.yml").read_text(encoding="utf-8")
    assert f"type: {STORE_TYPE}" in endpoints
    with sqlite3.connect(tmp_path / "candidate" / "candidate-trackers.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM events WHERE sender_id = 'startup-test'").fetchone()[0] > 0
