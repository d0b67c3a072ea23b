"""The web service's building blocks on their own: config, input checks, limits, auth, highlight."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.serving.web.chat_input import InputError, neutralise_command, parse_chat_request
from bot.serving.web.config import ConfigError, WebConfig
from bot.serving.web.highlight import highlight_html, match_spans, query_terms
from bot.serving.web.rasa_client import bot_texts

SENDER = "abcdef12-3456"


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


# --- configuration ---------------------------------------------------------------------------

def test_config_defaults_without_any_variable() -> None:
    config = WebConfig.from_env({})
    assert (config.host, config.port) == ("127.0.0.1", 8080)
    assert config.rasa_urls == ("http://127.0.0.1:5005",)
    assert config.actions_url == "http://127.0.0.1:5055"
    assert config.endpoints.name == "endpoints.yml"
    assert not config.staff_enabled
    assert config.cors_origins == ()


def test_config_reads_every_variable() -> None:
    config = WebConfig.from_env({
        "OIM_WEB_PORT": "9000", "OIM_RASA_URL": "http://a:5005/, http://b:5005",
        "ACTION_ENDPOINT_URL": "http://actions:5055/webhook", "OIM_STORE": "redis",
        "OIM_STAFF_TOKEN": "x" * 20, "OIM_CORS_ORIGINS": "https://oim.example.org, http://localhost:3000",
        "OIM_RATE_SENDER_PER_MIN": "5", "OIM_TRUST_FORWARDED_FOR": "yes",
    })
    assert config.port == 9000
    assert config.rasa_urls == ("http://a:5005", "http://b:5005")
    assert config.actions_url == "http://actions:5055"
    assert config.endpoints.name == "endpoints.redis.yml"
    assert config.staff_enabled
    assert config.cors_origins == ("https://oim.example.org", "http://localhost:3000")
    assert config.sender_per_minute == 5 and config.trust_forwarded_for


def test_config_lists_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        WebConfig.from_env({
            "OIM_WEB_PORT": "eighty", "OIM_RASA_URL": "ftp://rasa", "OIM_STAFF_TOKEN": "short",
            "OIM_CORS_ORIGINS": "oim.example.org", "OIM_RASA_TIMEOUT": "-1", "OIM_COOKIE_SECURE": "maybe",
            "OIM_ENDPOINTS": "/nowhere/endpoints.yml",
        })
    message = str(caught.value)
    for name in ("OIM_WEB_PORT", "OIM_RASA_URL", "OIM_STAFF_TOKEN", "OIM_CORS_ORIGINS",
                 "OIM_RASA_TIMEOUT", "OIM_COOKIE_SECURE", "OIM_ENDPOINTS"):
        assert name in message
    assert len(caught.value.problems) == 7


def test_cli_refuses_a_bad_configuration_clearly(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "bot", "web", "--port", "8080"],
                            env={**os.environ, "OIM_STAFF_TOKEN": "abc"}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "OIM_STAFF_TOKEN is too short" in result.stderr


# --- chat input ------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, status, code", [
    (b"", 400, "invalid_json"),
    (b"not json", 400, "invalid_json"),
    (b"[1, 2]", 400, "invalid_json"),
    (b"\xff\xfe\x00binary", 400, "invalid_encoding"),
    (b'{"sender": "abcdef12", "message": "caf\xe9"}', 400, "invalid_encoding"),
    (body(message="bonjour"), 400, "missing_sender"),
    (body(sender="", message="bonjour"), 400, "missing_sender"),
    (body(sender="short", message="bonjour"), 400, "invalid_sender"),
    (body(sender="../../etc/passwd", message="bonjour"), 400, "invalid_sender"),
    (body(sender=12345678, message="bonjour"), 400, "invalid_sender"),
    (body(sender=SENDER), 400, "missing_message"),
    (body(sender=SENDER, message=["a"]), 400, "invalid_message"),
    (body(sender=SENDER, message=""), 400, "empty_message"),
    (body(sender=SENDER, message=" \n\t "), 400, "empty_message"),
    (body(sender=SENDER, message="///"), 400, "empty_message"),
    (body(sender=SENDER, message="\x00\x01"), 400, "empty_message"),
    (body(sender=SENDER, message="a" * 2001), 413, "message_too_long"),
    (body(sender=SENDER, message="hi", metadata={"x": 1}), 400, "unknown_fields"),
])
def test_bad_chat_requests_are_refused_with_a_code(raw: bytes, status: int, code: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_chat_request(raw, 2000)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_a_valid_request_is_cleaned() -> None:
    request = parse_chat_request(body(sender=SENDER, message="  c'est quoi l'OIM ?\x00 "), 2000)
    assert request.message == "c'est quoi l'OIM ?"
    assert request.rasa_sender == "web-" + SENDER


@pytest.mark.parametrize("typed, sent", [
    ("/restart", "restart"),
    ("/greet", "greet"),
    ("  //ask_human{\"x\": 1}", "ask_human{\"x\": 1}"),
    ("/ /session_start", "session_start"),
    ("bonjour / au revoir", "bonjour / au revoir"),
])
def test_leading_slashes_never_reach_rasa(typed: str, sent: str) -> None:
    assert neutralise_command(typed) == sent
    assert parse_chat_request(body(sender=SENDER, message=typed), 2000).message == sent


@given(st.text(max_size=300))
def test_nothing_sent_to_rasa_starts_with_a_slash(text: str) -> None:
    try:
        request = parse_chat_request(body(sender=SENDER, message=text), 2000)
    except InputError:
        return
    assert request.message and not request.message.startswith("/")
    assert request.message == request.message.strip()


def test_only_text_messages_come_back_from_rasa() -> None:
    payload = [{"recipient_id": "x", "text": "Bonjour"}, {"image": "http://x/y.png"}, {"text": "  "}, "junk"]
    assert bot_texts(payload) == [{"text": "Bonjour"}]
    assert bot_texts({"not": "a list"}) == []


# Rate limits (limits) and staff session cookies (itsdangerous): tests/test_settings_and_limits.py


# --- highlight -------------------------------------------------------------------------------

def test_highlight_escapes_then_marks() -> None:
    text = "Le <b>retour</b> volontaire & l'Œuvre des retours au Yémen"
    html = highlight_html(text, "retour <script>alert(1)</script> yemen oeuvre amp")
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert "<mark>retour</mark>" in html and "<mark>retour</mark>s" in html
    assert "<mark>Yémen</mark>" in html and "<mark>Œuvre</mark>" in html
    assert "&amp;" in html and "<mark>amp</mark>" not in html
    assert "script" not in html


def test_stopwords_and_one_letter_words_are_not_highlighted() -> None:
    assert query_terms("Le retour de l'OIM") == ["retour", "oim"]
    assert match_spans("la la", ["la"]) == [(0, 2), (3, 5)]


@given(st.text(max_size=200), st.text(max_size=40))
def test_highlight_never_lets_markup_through(text: str, query: str) -> None:
    html = highlight_html(text, query)
    stripped = html.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in stripped and ">" not in stripped


def test_the_access_log_has_no_query_string_and_no_phone_number(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from bot.serving.web.middleware import PathOnlyAccessLogger

    access = PathOnlyAccessLogger(logging.getLogger("test.access"), "")
    with caplog.at_level(logging.INFO, logger="test.access"):
        for path in ("/models/live?token=s3cret-token-0123456789", "/api/chat/updates?sender=web-abc&since=1",
                     "/staff/conversations/whatsapp-+33612345678"):
            access.log(make_mocked_request("GET", path), web.Response(text="ok"), 0.01)
    text = caplog.text
    assert '"GET /models/live" 200' in text and '"GET /api/chat/updates" 200' in text
    assert "s3cret" not in text and "web-abc" not in text and "612345678" not in text


async def test_a_message_retried_on_another_replica_keeps_its_message_id() -> None:
    """The first replica reads the message and drops the connection (killed after saving the turn):
    the retry on the next replica carries the same message_id, so Rasa can answer the copy with the
    stored turn instead of handling it twice (bot/serving/idempotency.py); a new message gets a new id."""
    import aiohttp
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from bot.serving.web.rasa_client import RasaClient

    seen: dict[str, list[str]] = {"dying": [], "alive": []}

    async def dying(request: web.Request) -> web.Response:
        seen["dying"].append((await request.json())["message_id"])
        assert request.transport is not None
        request.transport.close()
        return web.json_response([])

    async def alive(request: web.Request) -> web.Response:
        body = await request.json()
        seen["alive"].append(body["message_id"])
        return web.json_response([{"recipient_id": body["sender"], "text": "Bonjour"}])

    servers = []
    for handler in (dying, alive):
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", handler)
        servers.append(TestServer(app))
        await servers[-1].start_server()
    try:
        async with aiohttp.ClientSession() as session:
            urls = [str(server.make_url("")).rstrip("/") for server in servers]
            client = RasaClient(session, urls, timeout_s=5)
            assert await client.send("web-1", "bonjour") == [{"text": "Bonjour"}]
            assert len(seen["dying"]) == 1 and seen["alive"] == seen["dying"]
            await client.send("web-1", "merci")  # round-robin: this one may go straight to "alive"
            assert len(set(seen["alive"])) == 2
    finally:
        for server in servers:
            await server.close()
