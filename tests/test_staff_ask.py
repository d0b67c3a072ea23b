"""Staff console, "ask as the caller" (/staff/ask, /api/staff/ask): the assistant's reply through
Rasa's REST channel on a throw-away conversation, and the evidence from the knowledge files.

In process (tests/web_app.py: a fake Rasa that answers a fixed reply) for the protection, the input
checks, the escaping and the evidence; one test on the real stack asks the real question.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import WEB_STAFF_TOKEN, web_settings
from tests.stack import RasaServer, WebServer, free_port
from tests.web_app import STAFF_TOKEN, FakeRasa, config_for, sqlite_endpoints, start_client

BEARER = {"Authorization": f"Bearer {STAFF_TOKEN}"}
QUESTION = "combien d'États membres compte l'OIM ?"
SCRIPT = "<script>alert('x')</script>"
REPLY = ("L'OIM compte 175 États membres. Les documents que je connais ne précisent pas la liste des pays."
         " <b>gras</b>")


@pytest.fixture()
async def rasa() -> AsyncIterator[FakeRasa]:
    """Answering REPLY, what the test wants the assistant to have said."""
    fake = await FakeRasa(reply=REPLY).start()
    try:
        yield fake
    finally:
        await fake.close()


RASA_API_TOKEN = "fake-rasa-api-token"


@pytest.fixture()
async def client(rasa: FakeRasa, tmp_path: Path) -> AsyncIterator[TestClient]:
    web_client = await start_client(config_for(rasa.url, rasa.url, sqlite_endpoints(tmp_path), rasa_token=RASA_API_TOKEN))
    try:
        yield web_client
    finally:
        await web_client.close()


def ask_path(base: str, question: str, previous: str | None = None) -> str:
    params: dict[str, Any] = {"q": question}
    if previous is not None:
        params["previous"] = previous
    return f"{base}?{urllib.parse.urlencode(params)}"


async def test_the_token_is_required(client: TestClient, rasa: FakeRasa) -> None:
    response = await client.get(ask_path("/api/staff/ask", QUESTION))
    assert response.status == 401 and (await response.json())["error"] == "unauthorized"
    response = await client.get(ask_path("/api/staff/ask", QUESTION), headers={"Authorization": "Bearer wrong-token-0123456789"})
    assert response.status == 401
    response = await client.get(ask_path("/staff/ask", QUESTION))
    body = await response.text()
    assert 'name="token"' in body and "175" not in body  # the login form, nothing else
    assert rasa.received == []  # nothing reached the assistant


async def test_api_gives_the_reply_evidence_gaps_and_contacts(client: TestClient, rasa: FakeRasa) -> None:
    response = await client.get(ask_path("/api/staff/ask", QUESTION, "bonjour\n\nje suis au Niger"), headers=BEARER)
    assert response.status == 200, await response.text()
    data = await response.json()
    assert data["reply"] == REPLY and data["messages"] == [{"text": REPLY}]
    # The same pipeline as the chat: every turn, in order, on one fresh throw-away conversation.
    assert rasa.texts() == ["bonjour", "je suis au Niger", QUESTION]
    senders = {item["sender"] for item in rasa.received}
    assert senders == {data["conversation_id"]} and data["conversation_id"].startswith("staff-ask-")
    assert data["not_in_documents"] == ["Les documents que je connais ne précisent pas la liste des pays."]
    best = [e for e in data["evidence"] if "175" in e["text"]]
    assert best, data["evidence"]
    assert best[0]["passage_id"] and best[0]["page"].endswith(".txt") and best[0]["sentence_id"] and best[0]["page_title"]
    assert all({"emails", "phones", "purpose"} <= set(c) for c in data["contacts"])

    again = await (await client.get(ask_path("/api/staff/ask", QUESTION), headers=BEARER)).json()
    assert again["conversation_id"] != data["conversation_id"]  # never the same conversation twice


async def test_page_escapes_user_text_and_has_no_inline_script(client: TestClient, rasa: FakeRasa) -> None:
    rasa.reply = f"Réponse {SCRIPT} 175"
    response = await client.get(ask_path("/staff/ask", f"{QUESTION} {SCRIPT}", SCRIPT), headers=BEARER)
    body = await response.text()
    assert response.status == 200, body
    assert SCRIPT not in body and "&lt;script&gt;alert(" in body
    assert re.findall(r"<script[^>]*>", body) == ['<script src="/static/staff.js" defer>']
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    # Keyboard and screen readers: every field has its label; the copy button waits for the script.
    for field in ("q", "previous", "reply-text"):
        assert f'<label for="{field}">' in body and f'id="{field}"' in body
    assert 'data-copy-target="reply-text" hidden' in body and 'role="status"' in body
    assert body.index('id="q"') < body.index('id="previous"') < body.index('Voir la réponse') < body.index('id="reply-text"')
    assert "Phrases des documents" in body and "passage <code>" in body
    static = await client.get("/static/staff.js")
    assert static.status == 200 and "clipboard" in await static.text()


async def test_form_and_bad_questions(client: TestClient, rasa: FakeRasa) -> None:
    response = await client.get("/staff/ask", headers=BEARER)
    body = await response.text()
    assert response.status == 200 and '<form method="get" action="/staff/ask"' in body and 'aria-current="page"' in body
    for path, code in [(ask_path("/api/staff/ask", "  "), "missing_question"),
                       (ask_path("/api/staff/ask", "x" * 1001), "question_too_long"),
                       (ask_path("/api/staff/ask", "oim", "\n".join(["a"] * 6)), "too_many_turns")]:
        response = await client.get(path, headers=BEARER)
        assert response.status == 400 and (await response.json())["error"] == code
    response = await client.get(ask_path("/staff/ask", ""), headers=BEARER)
    assert response.status == 400 and 'role="alert"' in await response.text()
    assert rasa.received == []
    await client.get(ask_path("/api/staff/ask", "/restart"), headers=BEARER)
    assert rasa.texts() == ["restart"]  # a Rasa command is read as words, as in the chat


async def test_assistant_down(client: TestClient, rasa: FakeRasa) -> None:
    rasa.mode = "error"
    response = await client.get(ask_path("/api/staff/ask", QUESTION), headers=BEARER)
    assert response.status == 503 and (await response.json())["error"] == "assistant_unavailable"
    response = await client.get(ask_path("/staff/ask", QUESTION), headers=BEARER)
    body = await response.text()
    assert response.status == 503 and "ne peux pas répondre" in body and QUESTION.replace("'", "&#x27;") in body


def test_real_stack_answers_175_with_its_passage(web_service: WebServer) -> None:
    path = ask_path("/api/staff/ask", QUESTION)
    status, _, _ = web_service.request("GET", path)
    assert status == 401
    status, _, body = web_service.request("GET", ask_path("/staff/ask", QUESTION))
    assert 'name="token"' in body.decode() and "175" not in body.decode()

    status, _, body = web_service.request("GET", path, headers={"Authorization": f"Bearer {WEB_STAFF_TOKEN}"},
                                          timeout_s=90)
    assert status == 200, body
    data = json.loads(body)
    assert "175" in data["reply"], data["reply"]
    assert data["conversation_id"].startswith("staff-ask-")
    evidence = [e for e in data["evidence"] if "175" in e["text"]]
    assert evidence and evidence[0]["passage_id"], data["evidence"]
    assert evidence[0]["supports_reply"] and not evidence[0]["outdated"]
    assert any(e["outdated"] and "166" in e["text"] for e in data["evidence"])  # older figure, flagged
    assert data["topic"] == "org.member_states"  # read back from the tracker store
    assert data["evidence"][0]["text"] == evidence[0]["text"]  # the sentence to quote comes first

    # A staff question asking for a human is not listed as someone's request.
    status, _, body = web_service.request("GET", ask_path("/api/staff/ask", "je veux parler à un humain"),
                                          headers={"Authorization": f"Bearer {WEB_STAFF_TOKEN}"}, timeout_s=90)
    assert status == 200, body
    asked = json.loads(body)["conversation_id"]
    status, _, body = web_service.request("GET", "/api/staff/handoffs",
                                          headers={"Authorization": f"Bearer {WEB_STAFF_TOKEN}"})
    assert status == 200 and asked not in body.decode()


# --- "Utile / Pas utile" in the web chat ---------------------------------------------------------

async def test_feedback_is_appended_to_the_conversation_through_rasa(client: TestClient, rasa: FakeRasa) -> None:
    response = await client.post("/api/chat/feedback", json={"sender": "visitor-0123456789", "value": "pas_utile"})
    assert response.status == 200 and (await response.json())["recorded"] is True
    [(sender, query, event)] = rasa.events
    assert sender == "web-visitor-0123456789" and query["token"] == RASA_API_TOKEN  # the chat's own conversation
    assert event["event"] == "slot" and event["name"] == "feedback" and event["value"] == "pas_utile"
    for body, code in [({"sender": "visitor-0123456789", "value": "super"}, "invalid_feedback"),
                       ({"sender": "x", "value": "utile"}, "invalid_sender"),
                       ({"sender": "visitor-0123456789", "value": "utile", "extra": 1}, "unknown_fields")]:
        response = await client.post("/api/chat/feedback", json=body)
        assert response.status == 400 and (await response.json())["error"] == code
    response = await client.post("/api/chat/feedback", data=b"{", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert len(rasa.events) == 1
    script = await (await client.get("/static/chat.js")).text()
    assert "/api/chat/feedback" in script and "aria-pressed" in script and "Pas utile" in script


async def test_feedback_without_rasa_token_is_unavailable(rasa: FakeRasa, tmp_path: Path) -> None:
    web_client = await start_client(config_for(rasa.url, rasa.url, sqlite_endpoints(tmp_path)))
    try:
        response = await web_client.post("/api/chat/feedback", json={"sender": "visitor-0123456789", "value": "utile"})
        assert response.status == 503 and (await response.json())["error"] == "feedback_unavailable"
    finally:
        await web_client.close()


def test_real_stack_feedback_is_stored_and_counted(stack: RasaServer, tmp_path: Path) -> None:
    settings = web_settings(stack, OIM_STAFF_TOKEN=WEB_STAFF_TOKEN, OIM_RASA_TOKEN=stack.token)
    web_server = WebServer(port=free_port(), log_path=tmp_path / "web.log", settings=settings).start()
    try:
        bearer = {"Authorization": f"Bearer {WEB_STAFF_TOKEN}"}
        before = json.loads(web_server.request("GET", "/api/staff/feedback", headers=bearer)[2])["feedback"]
        sender = "feedback-" + uuid.uuid4().hex[:12]
        status, data = web_server.chat(sender, QUESTION)
        assert status == 200 and data["messages"]
        body = json.dumps({"sender": sender, "value": "pas_utile"}).encode()
        status, _, answer = web_server.request("POST", "/api/chat/feedback", body, {"Content-Type": "application/json"})
        assert status == 200, answer
        events = stack.tracker("web-" + sender)["events"]
        assert any(e.get("event") == "slot" and e.get("name") == "feedback" and e.get("value") == "pas_utile"
                   for e in events)
        after = json.loads(web_server.request("GET", "/api/staff/feedback", headers=bearer)[2])["feedback"]
        assert after["pas_utile"] == before["pas_utile"] + 1
        assert web_server.request("GET", "/api/staff/feedback")[0] == 401
        cookie = session_cookie(web_server)
        page = web_server.request("GET", "/staff/queue", headers=cookie)[2].decode()
        assert "Avis donnés dans le chat" in page and f"<strong>{after['pas_utile']}</strong>" in page
    finally:
        web_server.stop()


def session_cookie(web_server: WebServer) -> dict[str, str]:
    form = urllib.parse.urlencode({"token": WEB_STAFF_TOKEN}).encode()
    status, headers, _ = web_server.request("POST", "/staff/login", form,
                                            {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303, status
    return {"Cookie": headers["set-cookie"].split(";", 1)[0]}
