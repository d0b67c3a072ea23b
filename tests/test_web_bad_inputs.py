"""Bad input, sent for real: the web service answers a clear 4xx JSON; Rasa never fails with 5xx."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.stack import RasaServer, WebServer, http_request

SENDER = "bad-input-" + uuid.uuid4().hex[:12]
HUGE = "a" * 100_000


def as_json(**fields: object) -> bytes:
    return json.dumps(fields).encode()


WEB_CASES = [
    ("empty body", b"", 400, "invalid_json"),
    ("empty message", as_json(sender=SENDER, message=""), 400, "empty_message"),
    ("whitespace", as_json(sender=SENDER, message="  \n\t  "), 400, "empty_message"),
    ("100 kB body", as_json(sender=SENDER, message=HUGE), 413, "payload_too_large"),
    ("5001 characters", as_json(sender=SENDER, message="é" * 5001), 413, "message_too_long"),
    ("binary", bytes(range(256)), 400, "invalid_encoding"),
    ("invalid UTF-8", b'{"sender": "' + SENDER.encode() + b'", "message": "\xc3\x28"}', 400, "invalid_encoding"),
    ("wrong JSON", b'{"sender": "abc", "message": ', 400, "invalid_json"),
    ("JSON list", b'["bonjour"]', 400, "invalid_json"),
    ("unknown field", as_json(sender=SENDER, message="bonjour", metadata={"a": 1}), 400, "unknown_fields"),
    ("missing sender", as_json(message="bonjour"), 400, "missing_sender"),
    ("invalid sender", as_json(sender="<b>x</b>", message="bonjour"), 400, "invalid_sender"),
    ("missing message", as_json(sender=SENDER), 400, "missing_message"),
    ("number message", as_json(sender=SENDER, message=42), 400, "invalid_message"),
    ("only a slash", as_json(sender=SENDER, message="/"), 400, "empty_message"),
]


@pytest.mark.parametrize("name, raw, status, code", WEB_CASES, ids=[c[0] for c in WEB_CASES])
def test_web_service_refuses_bad_input_clearly(web_service: WebServer, name: str, raw: bytes,
                                               status: int, code: str) -> None:
    got, headers, body = web_service.request("POST", "/api/chat", raw, {"Content-Type": "application/json"})
    assert got == status, body[:300]
    assert headers["content-type"].startswith("application/json")
    data = json.loads(body)
    assert data["error"] == code
    assert data["message"] and data["message"][0].isupper()  # a French sentence, not a stack trace
    assert b"Traceback" not in body


def test_html_in_a_message_is_never_returned_as_html(web_service: WebServer) -> None:
    payload = as_json(sender=uuid.uuid4().hex, message="<script>alert(1)</script><img src=x onerror=alert(2)>")
    status, headers, body = web_service.request("POST", "/api/chat", payload, {"Content-Type": "application/json"})
    assert status in (200, 503)
    assert headers["content-type"].startswith("application/json")
    assert headers["x-content-type-options"] == "nosniff"


def test_get_on_the_chat_api_is_405_json(web_service: WebServer) -> None:
    status, headers, body = web_service.request("GET", "/api/chat")
    assert status == 405 and json.loads(body)["error"] == "method_not_allowed"


RASA_CASES = [
    ("empty body", b""),
    ("empty message", as_json(sender=SENDER, message="")),
    ("whitespace", as_json(sender=SENDER, message="   ")),
    ("100 kB", as_json(sender=SENDER, message=HUGE)),
    ("binary", bytes(range(256))),
    ("invalid UTF-8", b'{"sender": "x", "message": "\xc3\x28"}'),
    ("wrong JSON", b'{"sender": '),
    ("HTML", as_json(sender=SENDER, message="<script>alert(1)</script>")),
    ("/restart", as_json(sender=SENDER, message="/restart")),
    ("/greet", as_json(sender=SENDER, message="/greet")),
    ("unknown fields", as_json(sender=SENDER, message="bonjour", foo="bar", metadata=[1, 2])),
    ("missing sender", as_json(message="bonjour")),
    ("number message", as_json(sender=SENDER, message=12)),
]


@pytest.mark.parametrize("name, raw", RASA_CASES, ids=[c[0] for c in RASA_CASES])
def test_rasa_webhook_survives_bad_input(stack: RasaServer, name: str, raw: bytes) -> None:
    status, headers, body = http_request(f"{stack.url}/webhooks/rest/webhook", "POST", raw,
                                         {"Content-Type": "application/json"}, timeout_s=60)
    assert status < 500, (status, body[:300])
    if status == 200 and b"script" in body:
        assert headers.get("content-type", "").startswith("application/json")


def test_rasa_still_healthy_after_bad_input(stack: RasaServer) -> None:
    assert http_request(stack.url + "/")[0] == 200
    assert stack.texts(uuid.uuid4().hex, "bonjour")
