"""The web service (`python -m bot web`) in front of the real Rasa and action servers.

Chat page, conversation through /api/chat, slash commands neutralised, rate limits, CORS,
security headers, /health, polite answers when Rasa fails, and redacted logs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import WEB_PARTNER_ORIGIN, web_settings
from tests.stack import ActionServer, RasaServer, WebServer, free_port

STATIC = Path(__file__).resolve().parent.parent / "bot" / "serving" / "web" / "static"
UNAVAILABLE = "Désolé, je ne peux pas répondre pour le moment"


def new_sender() -> str:
    return uuid.uuid4().hex


def user_texts(tracker: dict) -> list[str]:
    return [e.get("text") for e in tracker["events"] if e["event"] == "user"]


@pytest.fixture(scope="module")
def limited_web(stack: RasaServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """Tight limits: 2 messages a minute per conversation, 4 per address."""
    settings = web_settings(stack, OIM_RATE_SENDER_PER_MIN="2", OIM_RATE_IP_PER_MIN="4")
    web = WebServer(free_port(), tmp_path_factory.mktemp("limited") / "web.log", settings).start()
    yield web
    web.stop()


@pytest.fixture(scope="module")
def impatient_web(stack: RasaServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """Waits at most 2 s for Rasa."""
    settings = web_settings(stack, OIM_RASA_TIMEOUT="2")
    web = WebServer(free_port(), tmp_path_factory.mktemp("impatient") / "web.log", settings).start()
    yield web
    web.stop()


@pytest.fixture(scope="module")
def orphan_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """Configured for the Redis topology, but nothing runs at those addresses."""
    dead = str(free_port())
    settings = {
        "OIM_RASA_URL": f"http://127.0.0.1:{free_port()}", "OIM_ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
        "OIM_STORE": "redis", "REDIS_HOST": "127.0.0.1", "REDIS_PORT": dead, "REDIS_DB": "0",
        "REDIS_PASSWORD": "", "REDIS_KEY_PREFIX": "oim", "REDIS_RECORD_EXP": "60",
        "ACTION_ENDPOINT_URL": "http://127.0.0.1:1/webhook",
    }
    web = WebServer(free_port(), tmp_path_factory.mktemp("orphan") / "web.log", settings).start()
    yield web
    web.stop()


# --- the page --------------------------------------------------------------------------------

def test_chat_page_is_french_accessible_and_has_no_inline_script(web_service: WebServer) -> None:
    status, headers, body = web_service.request("GET", "/")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in page
    assert 'name="viewport"' in page
    assert '<label for="message"' in page and 'id="message"' in page
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None, "inline scripts are forbidden by the CSP"
    assert "Source" in (STATIC / "chat.js").read_text()
    assert "innerHTML" not in (STATIC / "chat.js").read_text()
    assert "http://" not in page.replace('http://www.w3.org', "") and "https://" not in page  # no CDN


def test_security_headers_on_pages_api_and_errors(web_service: WebServer) -> None:
    for method, path in (("GET", "/"), ("GET", "/static/chat.js"), ("GET", "/nope"), ("POST", "/api/chat")):
        _, headers, _ = web_service.request(method, path, b"{}" if method == "POST" else None)
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_unknown_api_path_is_json_404(web_service: WebServer) -> None:
    status, headers, body = web_service.request("GET", "/api/nothing")
    assert status == 404 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"] == "not_found"


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


def test_rasa_rest_channel_neutralises_slash_commands_too(stack: RasaServer) -> None:
    """Defence in depth: credentials.yml's REST channel (bot/serving/rest_channel.py) also strips them."""
    sender = new_sender()
    stack.send(sender, "bonjour")
    stack.send(sender, "/restart")
    tracker = stack.tracker(sender)
    assert "restart" not in [e["event"] for e in tracker["events"]]
    assert user_texts(tracker) == ["bonjour", "restart"]


# --- limits, origins -------------------------------------------------------------------------

def test_per_sender_rate_limit_gives_429_with_retry_after(limited_web: WebServer) -> None:
    sender = new_sender()
    for _ in range(2):
        assert limited_web.chat(sender, "bonjour")[0] in (200, 503)
    payload = json.dumps({"sender": sender, "message": "bonjour"}).encode()
    status, headers, body = limited_web.request("POST", "/api/chat", payload)
    assert status == 429
    data = json.loads(body)
    assert data["error"] == "rate_limited" and "Réessayez dans" in data["message"]
    assert 1 <= int(headers["retry-after"]) <= 60 and data["retry_after"] == int(headers["retry-after"])


def test_per_address_rate_limit_counts_every_sender(limited_web: WebServer) -> None:
    statuses = [limited_web.chat(new_sender(), "bonjour")[0] for _ in range(3)]
    assert statuses[-1] == 429  # 2 hits in the previous test + these: over 4 a minute


def test_cors_allow_list(web_service: WebServer) -> None:
    preflight = {"Origin": WEB_PARTNER_ORIGIN, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    status, headers, _ = web_service.request("OPTIONS", "/api/chat", headers=preflight)
    assert status == 204 and headers["access-control-allow-origin"] == WEB_PARTNER_ORIGIN

    evil = {**preflight, "Origin": "https://evil.example.net"}
    assert web_service.request("OPTIONS", "/api/chat", headers=evil)[0] == 403
    payload = json.dumps({"sender": new_sender(), "message": "bonjour"}).encode()
    status, headers, body = web_service.request("POST", "/api/chat", payload, {"Origin": "https://evil.example.net"})
    assert status == 403 and json.loads(body)["error"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in headers

    status, headers, _ = web_service.request("POST", "/api/chat", payload, {"Origin": WEB_PARTNER_ORIGIN})
    assert status == 200 and headers["access-control-allow-origin"] == WEB_PARTNER_ORIGIN


# --- health and failures ---------------------------------------------------------------------

def test_health_is_200_when_every_part_is_up(web_service: WebServer) -> None:
    status, _, body = web_service.request("GET", "/health")
    data = json.loads(body)
    assert status == 200, data
    assert data["status"] == "ok" and data["down"] == []
    assert data["parts"]["rasa"]["status"] == "up" and data["parts"]["action_server"]["status"] == "up"
    assert data["info"]["redis"] == "not_used"
    assert data["info"]["knowledge"]["status"] == "up"


def test_health_names_every_part_that_is_down(orphan_web: WebServer) -> None:
    started = time.monotonic()
    status, _, body = orphan_web.request("GET", "/health")
    assert time.monotonic() - started < 4
    data = json.loads(body)
    assert status == 503 and data["status"] == "unavailable"
    assert set(data["down"]) == {"rasa", "action_server", "redis"}


def test_rasa_unreachable_gives_the_polite_message_at_once(orphan_web: WebServer) -> None:
    started = time.monotonic()
    status, body = orphan_web.chat(new_sender(), "c'est quoi l'OIM ?")
    assert time.monotonic() - started < 2
    assert status == 503 and body["error"] == "assistant_unavailable"
    assert body["message"].startswith(UNAVAILABLE)


def test_rasa_frozen_gives_the_polite_message_after_the_timeout(impatient_web: WebServer, stack: RasaServer) -> None:
    assert stack.process is not None
    os.killpg(stack.process.pid, signal.SIGSTOP)  # Rasa hangs: accepts connections, never answers
    try:
        started = time.monotonic()
        status, body = impatient_web.chat(new_sender(), "bonjour")
        elapsed = time.monotonic() - started
    finally:
        os.killpg(stack.process.pid, signal.SIGCONT)
    assert status == 503 and body["message"].startswith(UNAVAILABLE)
    assert 2 <= elapsed < 2 + 2  # OIM_RASA_TIMEOUT=2, then the answer within 2 s
    assert impatient_web.chat(new_sender(), "bonjour")[0] == 200  # Rasa is back


def test_action_server_down_gives_the_polite_message(web_service: WebServer, stack: RasaServer) -> None:
    """When its actions fail Rasa's channel answers its own error text (stock Rasa answers
    nothing, which the web service turns into a 503): either way the person reads an apology."""
    actions: ActionServer = stack.actions  # type: ignore[attr-defined]
    actions.stop()
    try:
        started = time.monotonic()
        status, body = web_service.chat(new_sender(), "c'est quoi l'OIM ?")
        elapsed = time.monotonic() - started
    finally:
        actions.start()
    if status == 503:
        assert body["error"] == "assistant_unavailable"
        text = body["message"]
    else:
        assert status == 200, body
        text = "\n".join(m["text"] for m in body["messages"])
    assert text.startswith(UNAVAILABLE), text
    assert elapsed < 5
    assert web_service.chat(new_sender(), "c'est quoi l'OIM ?")[0] == 200


# --- logs ------------------------------------------------------------------------------------

def test_logs_never_show_phones_or_emails_typed_by_users(web_service: WebServer) -> None:
    sender = new_sender()
    web_service.chat(sender, "mon numéro est +41 79 555 12 34 et mon courriel amina.k@example.org")
    time.sleep(0.5)
    log = web_service.log_text()
    assert sender[:8] in log  # the message was logged (debug level is on for this instance)
    assert "555 12 34" not in log and "amina.k@example.org" not in log
    assert "[téléphone]" in log and "[courriel]" in log
