"""Knowledge-only changes go live in the running action server: no training, no restart.

The real action server (`rasa run actions`) is started on a COPY of data/knowledge
(OIM_KNOWLEDGE_DIR) and called through its webhook exactly as the Rasa server calls it. A corrected
answer is served within a couple of seconds; a broken file (bad YAML, a quote that is not in its
passage) is rejected with an error in the server log while the last good answers keep coming.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge.paths import KNOWLEDGE_DIR_ENV, knowledge_dir, repo_root
from bot.knowledge.yamlio import dump_yaml
from tests.stack import ActionServer, base_env, free_port, post_json

INTENT = "ask_member_states"
REJECTED = "knowledge files rejected"
RELOAD_TIMEOUT_S = 15.0


def _domain() -> dict[str, Any]:
    return yaml.safe_load((repo_root() / "domain.yml").read_text(encoding="utf-8"))


def _entry_file(folder: Path, intent: str) -> tuple[Path, int]:
    """The entries file and index of the entry answering `intent`."""
    for path in sorted((folder / "entries").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for index, entry in enumerate(data.get("entries") or []):
            if intent in (entry.get("intents") or []):
                return path, index
    raise AssertionError(f"no knowledge entry answers {intent}")


def _set_answer_marker(folder: Path, marker: str) -> None:
    """Rewrite the entry's answer to start with a marker sentence (no digits: validation stays happy).

    At the start: a reply leads with the page sentence that answers the question and quotes only
    the first sentence(s) of the entry's answer under it (actions/focused.py).
    """
    path, index = _entry_file(folder, INTENT)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry = data["entries"][index]
    base = re.sub(r"^Correction de test \w\. ", "", entry["answer"])
    entry["answer"] = f"{marker} {base}" if marker else base
    path.write_text(dump_yaml(data), encoding="utf-8")


def ask(server: ActionServer, intent: str = INTENT, text: str = "combien d'états membres ?") -> str:
    """Call action_answer_question as the Rasa server would; returns every text variable joined."""
    tracker = {
        "sender_id": "reload-test",
        "slots": {},
        "latest_message": {"intent": {"name": intent, "confidence": 1.0}, "entities": [], "text": text},
        "latest_event_time": time.time(),
        "followup_action": None,
        "paused": False,
        "events": [],
        "latest_input_channel": "rest",
        "active_loop": {},
        "latest_action": {"action_name": "action_listen"},
        "latest_action_name": "action_listen",
    }
    payload = {
        "next_action": "action_answer_question",
        "sender_id": "reload-test",
        "tracker": tracker,
        "domain": _domain(),
        "version": "3.6.21",
    }
    status, body = post_json(f"{server.url}/webhook", payload, timeout_s=30)
    assert status == 200, body
    responses = json.loads(body).get("responses") or []
    return "\n".join(
        str(v) for r in responses for k, v in r.items() if isinstance(v, str) and k != "response"
    )


def wait_for(server: ActionServer, predicate: Any, timeout_s: float = RELOAD_TIMEOUT_S) -> tuple[str, float]:
    """Ask until predicate(answer) holds; returns (answer, seconds it took)."""
    started = time.monotonic()
    answer = ""
    while time.monotonic() - started < timeout_s:
        answer = ask(server)
        if predicate(answer):
            return answer, time.monotonic() - started
        time.sleep(0.3)
    raise AssertionError(f"no matching answer within {timeout_s} s; last answer: {answer!r}")


def rejections(server: ActionServer) -> int:
    return server.log_path.read_text(encoding="utf-8", errors="replace").count(REJECTED)


@pytest.fixture(scope="module")
def knowledge_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("knowledge") / "knowledge"
    shutil.copytree(knowledge_dir(), copy)
    return copy


@pytest.fixture(scope="module")
def action_server(knowledge_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    env = base_env()
    env[KNOWLEDGE_DIR_ENV] = str(knowledge_copy)
    log = tmp_path_factory.mktemp("actions") / "actions.log"
    server = ActionServer(port=free_port(), log_path=log, env=env).start()
    try:
        yield server
    finally:
        server.stop()


def test_corrected_answer_is_served_without_restart(
    action_server: ActionServer, knowledge_copy: Path
) -> None:
    before = ask(action_server)
    assert "175" in before, before  # the real answer from the copied knowledge
    assert "Correction de test A" not in before

    _set_answer_marker(knowledge_copy, "Correction de test A.")
    after, seconds = wait_for(action_server, lambda answer: "Correction de test A" in answer)
    print(f"\ncorrected answer live after {seconds:.1f} s (no restart, no training)")
    assert "175" in after
    assert action_server.process is not None and action_server.process.poll() is None


def test_broken_files_are_rejected_and_last_good_answers_keep_coming(
    action_server: ActionServer, knowledge_copy: Path
) -> None:
    _set_answer_marker(knowledge_copy, "Correction de test B.")
    wait_for(action_server, lambda answer: "Correction de test B" in answer)
    path, index = _entry_file(knowledge_copy, INTENT)
    good = path.read_text(encoding="utf-8")

    # 1. Invalid YAML (an unclosed flow sequence).
    count = rejections(action_server)
    path.write_text(good + "\n  - id: [broken\n", encoding="utf-8")
    _wait_for_rejection(action_server, count)
    assert "Correction de test B" in ask(action_server)

    # 2. Valid YAML, but a fact whose quote is not in the passage it cites.
    count = rejections(action_server)
    data = yaml.safe_load(good)
    data["entries"][index]["facts"][0]["quote"] = "L'OIM compte 999 États membres selon une page inventée"
    path.write_text(dump_yaml(data), encoding="utf-8")
    _wait_for_rejection(action_server, count)
    answer = ask(action_server)
    assert "Correction de test B" in answer and "999" not in answer

    # 3. Fixed: the next good version goes live again.
    path.write_text(good, encoding="utf-8")
    _set_answer_marker(knowledge_copy, "Correction de test C.")
    wait_for(action_server, lambda answer: "Correction de test C" in answer)


def _wait_for_rejection(server: ActionServer, count_before: int, timeout_s: float = RELOAD_TIMEOUT_S) -> None:
    """Keep asking (each request may trigger the reload check) until the log shows the rejection."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        answer = ask(server)
        assert answer, "the action server stopped answering"
        if rejections(server) > count_before:
            return
        time.sleep(0.3)
    log_tail = server.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
    raise AssertionError(f"no '{REJECTED}' error in the action server log within {timeout_s} s:\n{log_tail}")
