"""Bad input on the web chat API: a clear 4xx JSON in French, and nothing reaches Rasa.

In process (tests/web_app.py): the real aiohttp application in front of a fake Rasa that records
what it receives. Rasa's own REST channel under bad input is tests/test_bad_input.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.web_app import FAKE_ANSWER, FakeRasa, config_for, sqlite_endpoints, start_client

SENDER = "bad-input-" + uuid.uuid4().hex[:12]
HUGE = "a" * 100_000
JSON = {"Content-Type": "application/json"}


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


@pytest.fixture()
async def client(fake_rasa: FakeRasa, tmp_path: Path) -> AsyncIterator[TestClient]:
    web = await start_client(config_for(fake_rasa.url, fake_rasa.url, sqlite_endpoints(tmp_path)))
    try:
        yield web
    finally:
        await web.close()


@pytest.mark.parametrize("name, raw, status, code", WEB_CASES, ids=[c[0] for c in WEB_CASES])
async def test_web_service_refuses_bad_input_clearly(client: TestClient, fake_rasa: FakeRasa, name: str, raw: bytes,
                                                     status: int, code: str) -> None:
    response = await client.post("/api/chat", data=raw, headers=JSON)
    body = await response.read()
    assert response.status == status, body[:300]
    assert response.headers["content-type"].startswith("application/json")
    data = json.loads(body)
    assert data["error"] == code
    assert data["message"] and data["message"][0].isupper()  # a French sentence, not a stack trace
    assert b"Traceback" not in body
    assert fake_rasa.received == []  # refused before Rasa


async def test_a_valid_message_reaches_rasa_once_and_its_answer_comes_back(client: TestClient, fake_rasa: FakeRasa) -> None:
    """The counterpart of the refusals above: the same client, a good message, one call to Rasa."""
    response = await client.post("/api/chat", data=as_json(sender=SENDER, message="bonjour"), headers=JSON)
    assert response.status == 200
    assert await response.json() == {"messages": [{"text": FAKE_ANSWER}]}
    assert [(m["sender"], m["message"], len(m["message_id"])) for m in fake_rasa.received] == [("web-" + SENDER, "bonjour", 32)]


async def test_html_in_a_message_is_never_returned_as_html(client: TestClient) -> None:
    payload = as_json(sender=uuid.uuid4().hex, message="<script>alert(1)</script><img src=x onerror=alert(2)>")
    response = await client.post("/api/chat", data=payload, headers=JSON)
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_get_on_the_chat_api_is_405_json(client: TestClient) -> None:
    response = await client.get("/api/chat")
    assert response.status == 405 and (await response.json())["error"] == "method_not_allowed"
