"""Staff console: the maintainers' inbox (/staff/inbox, /api/staff/inbox) and its two actions.

In process: the real aiohttp application over a real SQLite store written with Rasa's own
SQLTrackerStore and events, as the Rasa server writes them; the actions write to a copy of the
project (INBOX_PROJECT), never to this checkout's data/ or tests/.
"""

from __future__ import annotations

import html
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.knowledge.paths import repo_root
from bot.maintenance.qa_set import load_items
from bot.serving.inbox_files import NLU_FILE, QA_FILE
from bot.serving.tracker_stores import open_tracker_store
from bot.serving.web.app import create_app
from bot.serving.web.config import WebConfig
from bot.serving.web.inbox_views import INBOX_PROJECT
from tests.project_copy import copy_project
from tests.web_app import conversation_url

TOKEN = "inbox-tests-staff-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
NOW = time.time()
PHONE = "06 12 34 56 78"
SCRIPT = "<script>alert('x')</script>"


def exchange(text: str, at: float, intent: str, confidence: float, feedback: str | None = None) -> list:
    """The events Rasa stores for one question and its answer (+ the chat's feedback)."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

    events = [
        ActionExecuted("action_session_start", timestamp=at - 2),
        SessionStarted(timestamp=at - 2),
        ActionExecuted("action_listen", timestamp=at - 2),
        UserUttered(text, intent={"name": intent, "confidence": confidence}, timestamp=at - 1),
        BotUttered("Je n'ai pas cette information dans mes documents.", timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
    ]
    if feedback:
        events.append(SlotSet("feedback", feedback, timestamp=at + 1))
    return events


CONVERSATIONS = {
    "web-aaaaaaaa1": exchange(f"combien coute le billet d'avion ? rappelez moi {PHONE}", NOW - 300, "nlu_fallback", 0.2),
    "web-aaaaaaaa2": exchange("le billet d'avion coute combien", NOW - 200, "nlu_fallback", 0.31),
    "web-aaaaaaaa3": exchange(f"c koi l'oim {SCRIPT}", NOW - 100, "ask_iom_identity", 0.55),
    "web-aaaaaaaa4": exchange("et pour la libye", NOW - 50, "inform", 0.97, feedback="pas_utile"),
    "web-aaaaaaaa5": exchange("bonjour", NOW - 20, "greet", 0.99),
    "staff-ask-0123abcd": exchange("question du personnel", NOW - 10, "nlu_fallback", 0.1),
}


async def save_all(endpoints: Path) -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    store = open_tracker_store(endpoints)
    for sender, events in CONVERSATIONS.items():
        await store.save(DialogueStateTracker.from_events(sender, events))


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture()
async def client(tmp_path: Path, project: Path) -> AsyncIterator[TestClient]:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: trackers.db\n", encoding="utf-8")
    await save_all(endpoints)
    # Rasa is never contacted by the inbox; retention 0: no purge task (retention: tests/test_inbox.py).
    config = WebConfig(endpoints=endpoints, staff_token=TOKEN, rasa_urls=("http://127.0.0.1:9",),
                       actions_url="http://127.0.0.1:9", retention_days=0)
    app = create_app(config)
    app[INBOX_PROJECT] = project
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def test_api_lists_fallbacks_grouped_redacted_and_feedback(client: TestClient) -> None:
    response = await client.get("/api/staff/inbox", headers=BEARER)
    assert response.status == 200
    body = await response.text()
    assert PHONE not in body and "34 56 78" not in body  # not "06 12": "2026-12-06 12:17" holds it
    data = await response.json()
    lines = {line["text"]: line for line in data["lines"]}
    ticket = data["lines"][0]  # asked twice: first
    assert ticket["count"] == 2 and ticket["conversations"] == 2 and ticket["reasons"] == {"fallback": 2}
    assert {v["text"] for v in ticket["variants"]} == {
        "combien coute le billet d'avion ? rappelez moi [téléphone]", "le billet d'avion coute combien"}
    assert lines[f"c koi l'oim {SCRIPT}"]["reasons"] == {"low_confidence": 1}
    assert lines["et pour la libye"]["reasons"] == {"negative_feedback": 1}
    assert "bonjour" not in lines and "question du personnel" not in lines  # understood; staff test
    assert data["messages"] == 4 and data["scanned"] == 5


async def test_inbox_needs_the_staff_token(client: TestClient) -> None:
    assert (await client.get("/api/staff/inbox")).status == 401
    refused = await client.post("/api/staff/inbox/nlu", json={"text": "x", "intent": "greet"})
    assert refused.status == 401
    page = await client.get("/staff/inbox")
    assert "billet" not in await page.text()  # the login form, nothing of the inbox


async def test_page_shows_lines_escaped_with_both_actions(client: TestClient) -> None:
    response = await client.get("/staff/inbox", headers=BEARER)
    assert response.status == 200
    page = await response.text()
    assert html.escape("le billet d'avion coute combien", quote=True) in page
    assert SCRIPT not in page and "&lt;script&gt;" in page
    assert PHONE not in page
    assert 'action="/staff/inbox/nlu"' in page and 'action="/staff/inbox/qa"' in page
    assert '<option value="ask_contact">' in page and "nlu_fallback</option>" not in page
    assert f'href="{conversation_url("web-aaaaaaaa4", TOKEN)}"' in page and "/staff/conversations/web-" not in page
    assert 'href="/staff/inbox" aria-current="page"' in page


async def test_api_add_nlu_writes_the_line_to_the_project_copy(client: TestClient, project: Path) -> None:
    key = (await (await client.get("/api/staff/inbox", headers=BEARER)).json())["lines"][0]["key"]
    response = await client.post("/api/staff/inbox/nlu", headers=BEARER,
                                 json={"key": key, "variant": 2, "intent": "ask_movement_assistance"})
    assert response.status == 200, await response.text()
    result = await response.json()
    assert result["written"] is True and result["file"] == str(NLU_FILE)
    written = yaml.safe_load((project / NLU_FILE).read_text(encoding="utf-8"))
    assert written["nlu"] == [{"intent": "ask_movement_assistance", "examples": f"- {result['text']}\n"}]
    assert result["text"] in {"le billet d'avion coute combien", "combien coute le billet d'avion ? rappelez moi [téléphone]"}
    assert not (repo_root() / NLU_FILE).exists()  # the checkout is untouched
    again = await client.post("/api/staff/inbox/nlu", headers=BEARER,
                              json={"text": result["text"], "intent": "ask_movement_assistance"})
    assert (await again.json())["written"] is False
    bad = await client.post("/api/staff/inbox/nlu", headers=BEARER, json={"text": "x y z", "intent": "ask_lottery"})
    assert bad.status == 400 and (await bad.json())["error"] == "inbox_write_failed"


async def test_form_add_nlu_redacts_whatever_is_posted(client: TestClient, project: Path) -> None:
    response = await client.post("/staff/inbox/nlu", headers=BEARER, allow_redirects=False,
                                 data={"text": f"mon numero {PHONE} pour le bateau", "intent": "ask_contact"})
    assert response.status == 303 and response.headers["Location"] == "/staff/inbox?done=nlu"
    content = (project / NLU_FILE).read_text(encoding="utf-8")
    assert "mon numero [téléphone] pour le bateau" in content and PHONE not in content


async def test_form_add_qa_appends_a_valid_case(client: TestClient, project: Path) -> None:
    response = await client.post("/staff/inbox/qa", headers=BEARER, allow_redirects=False, data={
        "text": "le billet d'avion coute combien", "category": "gap",
        "expect_any": "pas cette information\nne précisent pas", "forbid": "euros", "expect_all": "", "source": ""})
    assert response.status == 303 and response.headers["Location"] == "/staff/inbox?done=qa"
    item = load_items(project / QA_FILE)[-1]
    assert (item.id, item.turns, item.expect_any, item.forbid) == (
        "inbox-01", ["le billet d'avion coute combien"], ["pas cette information", "ne précisent pas"], ["euros"])
    done = await client.get("/staff/inbox?done=qa", headers=BEARER)
    assert "Cas de test ajouté" in await done.text()
    refused = await client.post("/staff/inbox/qa", headers=BEARER, data={"text": "autre", "category": "gap"})
    assert refused.status == 400
    assert html.escape("Rien n'a été écrit : give the expected answer", quote=True) in await refused.text()


async def test_cross_site_form_posts_are_refused(client: TestClient, project: Path) -> None:
    response = await client.post("/staff/inbox/nlu", headers={**BEARER, "Origin": "https://evil.example"},
                                 data={"text": "bonjour le monde", "intent": "greet"})
    assert response.status == 403
    assert not (project / NLU_FILE).exists()
