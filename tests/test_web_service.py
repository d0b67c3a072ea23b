"""The web service (`python -m bot web`): in process where Rasa is not the point, for real where it is.

In process (aiohttp's test client on `create_app`, a fake Rasa: tests/web_app.py): the chat page,
security headers, JSON errors, rate limits, CORS, /health (all up, all down), the polite answer
when Rasa is unreachable, frozen or silent, and redacted logs. Against the real Rasa and action
servers (the session's `stack` and `web_service`): a real answer with its source, conversations
namespaced in Rasa's tracker store, slash commands arriving as plain text, `-v` logs redacted.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.knowledge.paths import repo_root
from tests.stack import RasaServer, WebServer, free_port
from tests.web_app import FAKE_ANSWER, FakeRasa, chat_body, config_for, sqlite_endpoints, start_client

STATIC = Path(__file__).resolve().parent.parent / "bot" / "serving" / "web" / "static"
UNAVAILABLE = "Désolé, je ne peux pas répondre pour le moment"
PARTNER_ORIGIN = "https://partner.example.org"
JSON = {"Content-Type": "application/json"}


def new_sender() -> str:
    return uuid.uuid4().hex


def user_texts(tracker: dict) -> list[str]:
    return [e.get("text") for e in tracker["events"] if e["event"] == "user"]


@pytest.fixture()
async def client(fake_rasa: FakeRasa, tmp_path: Path) -> AsyncIterator[TestClient]:
    web = await start_client(config_for(fake_rasa.url, fake_rasa.url, sqlite_endpoints(tmp_path), cors_origins=(PARTNER_ORIGIN,)))
    try:
        yield web
    finally:
        await web.close()


async def chat(client: TestClient, sender: str, message: str, **headers: str) -> tuple[int, dict]:
    response = await client.post("/api/chat", data=chat_body(sender, message), headers={**JSON, **headers})
    return response.status, await response.json()


# --- the page --------------------------------------------------------------------------------

async def test_chat_page_is_french_accessible_and_has_no_inline_script(client: TestClient) -> None:
    response = await client.get("/")
    page = await response.text()
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in page
    assert 'name="viewport"' in page
    assert '<label for="message"' in page and 'id="message"' in page
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None, "inline scripts are forbidden by the CSP"
    assert "Source" in (STATIC / "chat.js").read_text()
    assert "innerHTML" not in (STATIC / "chat.js").read_text()
    assert "http://" not in page.replace('http://www.w3.org', "") and "https://" not in page  # no CDN


async def test_security_headers_on_pages_api_and_errors(client: TestClient) -> None:
    for method, path in (("GET", "/"), ("GET", "/static/chat.js"), ("GET", "/nope"), ("POST", "/api/chat")):
        response = await client.request(method, path, data=b"{}" if method == "POST" else None)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


async def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    response = await client.get("/api/nothing")
    assert response.status == 404 and response.headers["content-type"].startswith("application/json")
    assert (await response.json())["error"] == "not_found"


async def test_the_message_rasa_receives_is_cleaned_and_namespaced(client: TestClient, fake_rasa: FakeRasa) -> None:
    sender = new_sender()
    for typed in ("  bonjour\x07 ", "/restart", '/ask_human{"programme": "evacuation"}', "// /greet"):
        status, body = await chat(client, sender, typed)
        assert status == 200 and body == {"messages": [{"text": FAKE_ANSWER}]}
    assert [{k: v for k, v in body.items() if k != "message_id"} for body in fake_rasa.received] == [
        {"sender": "web-" + sender, "message": text}
        for text in ("bonjour", "restart", 'ask_human{"programme": "evacuation"}', "greet")
    ]
    ids = [body["message_id"] for body in fake_rasa.received]
    assert len(set(ids)) == len(ids)  # one id per message (its retries keep it: test_web_units.py)


# --- limits, origins -------------------------------------------------------------------------

async def test_per_sender_then_per_address_rate_limits_give_429_with_retry_after(fake_rasa: FakeRasa, tmp_path: Path) -> None:
    """2 messages a minute per conversation, 4 per address."""
    config = config_for(fake_rasa.url, fake_rasa.url, sqlite_endpoints(tmp_path), sender_per_minute=2, ip_per_minute=4)
    web = await start_client(config)
    try:
        sender = new_sender()
        for _ in range(2):
            assert (await chat(web, sender, "bonjour"))[0] == 200
        response = await web.post("/api/chat", data=chat_body(sender, "bonjour"), headers=JSON)
        assert response.status == 429
        data = await response.json()
        assert data["error"] == "rate_limited" and "Réessayez dans" in data["message"]
        retry = int(response.headers["retry-after"])
        assert 1 <= retry <= 60 and data["retry_after"] == retry
        # The address: 2 hits above (the refused one is not counted) + 2 more reach its 4 a minute.
        statuses = [(await chat(web, new_sender(), "bonjour"))[0] for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert len(fake_rasa.received) == 4  # refused messages never reach Rasa
    finally:
        await web.close()


async def test_cors_allow_list(client: TestClient) -> None:
    preflight = {"Origin": PARTNER_ORIGIN, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    response = await client.options("/api/chat", headers=preflight)
    assert response.status == 204 and response.headers["access-control-allow-origin"] == PARTNER_ORIGIN

    evil = {**preflight, "Origin": "https://evil.example.net"}
    assert (await client.options("/api/chat", headers=evil)).status == 403
    payload = chat_body(new_sender(), "bonjour")
    response = await client.post("/api/chat", data=payload, headers={"Origin": "https://evil.example.net"})
    assert response.status == 403 and (await response.json())["error"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers

    response = await client.post("/api/chat", data=payload, headers={"Origin": PARTNER_ORIGIN})
    assert response.status == 200 and response.headers["access-control-allow-origin"] == PARTNER_ORIGIN


# --- health and failures ---------------------------------------------------------------------

async def test_health_is_200_when_every_part_is_up(client: TestClient) -> None:
    response = await client.get("/health")
    data = await response.json()
    assert response.status == 200, data
    assert data["status"] == "ok" and data["down"] == []
    assert data["parts"]["rasa"]["status"] == "up" and data["parts"]["action_server"]["status"] == "up"
    assert data["info"]["redis"] == "not_used"
    assert data["info"]["knowledge"]["status"] == "up"


@pytest.fixture()
async def orphan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TestClient]:
    """Configured for the Redis topology (endpoints.redis.yml), but nothing runs at those addresses."""
    for name, value in {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(free_port()), "REDIS_DB": "0",
                        "REDIS_PASSWORD": "", "REDIS_KEY_PREFIX": "oim", "REDIS_RECORD_EXP": "60",
                        "ACTION_ENDPOINT_URL": "http://127.0.0.1:1/webhook"}.items():
        monkeypatch.setenv(name, value)
    config = config_for(f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}",
                        repo_root() / "endpoints.redis.yml")
    web = await start_client(config)
    try:
        yield web
    finally:
        await web.close()


async def test_health_names_every_part_that_is_down(orphan: TestClient) -> None:
    started = time.monotonic()
    response = await orphan.get("/health")
    assert time.monotonic() - started < 4
    data = await response.json()
    assert response.status == 503 and data["status"] == "unavailable"
    assert set(data["down"]) == {"rasa", "action_server", "redis"}


async def test_rasa_unreachable_gives_the_polite_message_at_once(orphan: TestClient) -> None:
    started = time.monotonic()
    status, body = await chat(orphan, new_sender(), "c'est quoi l'OIM ?")
    assert time.monotonic() - started < 2
    assert status == 503 and body["error"] == "assistant_unavailable"
    assert body["message"].startswith(UNAVAILABLE)


async def test_rasa_frozen_gives_the_polite_message_after_the_timeout(fake_rasa: FakeRasa, tmp_path: Path) -> None:
    """Rasa accepts the connection and never answers: the web service waits OIM_RASA_TIMEOUT (2 s)."""
    web = await start_client(config_for(fake_rasa.url, fake_rasa.url, sqlite_endpoints(tmp_path), rasa_timeout_s=2.0))
    try:
        fake_rasa.mode = "frozen"
        started = time.monotonic()
        status, body = await chat(web, new_sender(), "bonjour")
        elapsed = time.monotonic() - started
        assert status == 503 and body["message"].startswith(UNAVAILABLE)
        assert 2 <= elapsed < 2 + 2  # OIM_RASA_TIMEOUT=2, then the answer within 2 s
        fake_rasa.mode = "answer"
        assert (await chat(web, new_sender(), "bonjour"))[0] == 200  # Rasa is back
    finally:
        await web.close()


@pytest.mark.parametrize("mode", ["silent", "error"])
async def test_rasa_without_a_message_gives_the_polite_message(client: TestClient, fake_rasa: FakeRasa, mode: str) -> None:
    """Stock Rasa answers `[]` when the action server is down, or an HTTP 500 when it fails: the
    person reads the apology (our REST channel's own apology with a killed action server is
    tests/test_reliability.py)."""
    fake_rasa.mode = mode
    started = time.monotonic()
    status, body = await chat(client, new_sender(), "c'est quoi l'OIM ?")
    assert status == 503 and body["error"] == "assistant_unavailable"
    assert body["message"].startswith(UNAVAILABLE)
    assert time.monotonic() - started < 5
    fake_rasa.mode = "answer"
    assert (await chat(client, new_sender(), "c'est quoi l'OIM ?"))[0] == 200


# --- logs ------------------------------------------------------------------------------------

async def test_logs_never_show_phones_or_emails_typed_by_users(client: TestClient,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    sender = new_sender()
    with caplog.at_level(logging.DEBUG, logger="bot.serving.web"):
        await chat(client, sender, "mon numéro est +41 79 555 12 34 et mon courriel amina.k@example.org")
    log = caplog.text
    assert sender[:8] in log  # the message was logged (debug level is on)
    assert "555 12 34" not in log and "amina.k@example.org" not in log
    assert "[téléphone]" in log and "[courriel]" in log


# --- conversations ---------------------------------------------------------------------------

def test_a_question_gets_a_french_answer_with_its_source(web_service: WebServer) -> None:
    status, body = web_service.chat(new_sender(), "c'est quoi l'OIM ?")
    assert status == 200, body
    text = "\n".join(m["text"] for m in body["messages"])
    assert "OIM" in text and "Source" in text


def test_web_conversations_are_namespaced_in_rasa(web_service: WebServer, stack: RasaServer) -> None:
    sender = new_sender()
    assert web_service.chat(sender, "bonjour")[0] == 200
    assert user_texts(stack.tracker("web-" + sender)) == ["bonjour"]


@pytest.mark.parametrize("typed, expected", [("/restart", "restart"), ("/greet", "greet"),
                                             ('/ask_human{"programme": "evacuation"}', 'ask_human{"programme": "evacuation"}')])
def test_slash_commands_typed_by_a_user_are_plain_text(web_service: WebServer, stack: RasaServer,
                                                       typed: str, expected: str) -> None:
    sender = new_sender()
    assert web_service.chat(sender, "bonjour")[0] == 200
    status, _ = web_service.chat(sender, typed)
    assert status == 200 or status == 503  # the NLU may have nothing to say: never a command
    tracker = stack.tracker("web-" + sender)
    assert user_texts(tracker) == ["bonjour", expected], "the conversation must not be reset"
    assert not [e for e in tracker["events"] if e["event"] in {"restart", "session_started"}][1:]
    assert tracker["slots"].get("handoff_requested") in (None, False) or "ask_human" in typed
    forced = [e for e in tracker["events"] if e["event"] == "user" and (e.get("text") or "").startswith("/")]
    assert forced == []




def test_the_running_service_logs_at_debug_level_without_phones_or_emails(web_service: WebServer) -> None:
    """`python -m bot -v web` (the session's web_service): debug logs on, and still redacted."""
    sender = new_sender()
    web_service.chat(sender, "mon numéro est +41 79 555 12 34 et mon courriel amina.k@example.org")
    time.sleep(0.5)
    log = web_service.log_text()
    assert sender[:8] in log  # the message was logged (debug level is on for this instance)
    assert "555 12 34" not in log and "amina.k@example.org" not in log
    assert "[téléphone]" in log and "[courriel]" in log
