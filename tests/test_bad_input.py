"""Bad input on the REST channel (bot/serving/rest_channel.py): never a 5xx, never markup echoed back,
never a command typed by a user, and the server is still healthy afterwards.

Property-based (hypothesis) plus the named cases of the issue: empty, whitespace, 100 kB, binary,
invalid UTF-8, HTML/script, SQL-like, emoji-only, RTL, unknown fields, no sender. What the channel
decides before Rasa (bot.serving.rest_channel.parse_request: 400, polite reply, or the text Rasa
reads) is checked in process on hundreds of generated bodies; the running stack gets the named
cases and a few generated texts, to check what only the whole assistant can show (an answer, and no
markup echoed back).
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.knowledge.paths import repo_root
from bot.serving.rest_channel import (
    DEFAULT_MAX_MESSAGE_CHARS,
    BadRequest,
    IncomingMessage,
    PoliteReply,
    parse_request,
)
from tests.stack import RasaServer, post_json

DOMAIN: dict[str, Any] = yaml.safe_load((repo_root() / "domain.yml").read_text(encoding="utf-8"))

# Over HTTP, each generated text is a real turn (NLU + actions): a few suffice next to the named cases.
HTTP_SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
IN_PROCESS = settings(max_examples=200, deadline=None)

# JSON values of every kind, nested a little.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
# Text users could type or paste: any Unicode, markup, SQL, emoji, right-to-left scripts.
user_texts = st.one_of(
    st.text(max_size=300),
    st.sampled_from([
        "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<b>bonjour</b>",
        "'; DROP TABLE events; --", "1 OR 1=1", "🙂🙂🙂", "🇫🇷", "مرحبا، ما هي المنظمة الدولية للهجرة؟",
        "שלום", "/restart", "/session_start", "/ask_contact{\"contact_target\": \"press\"}", "\u202eevil",
        # Where a reply could quote the user (a country or a contact name the documents lack).
        "et depuis le <script>alert(1)</script> ?", "rapatriement depuis <img src=x onerror=alert(1)>",
        "le numéro de <script>x</script> ?", "je suis bloqué en <b>Libye</b>",
    ]),
    st.builds(lambda a, b: f"{a}<script>{b}</script>", st.text(max_size=20), st.text(max_size=20)),
)


def webhook(server: RasaServer) -> str:
    return f"{server.url}/webhooks/rest/webhook"


def assert_sane(status: int, body: str) -> list[dict[str, Any]]:
    """No 5xx; a 400 says why in JSON; a 200 is a list of messages with no markup from the user."""
    assert status < 500, f"HTTP {status}: {body[:300]}"
    if status == 400:
        assert "error" in json.loads(body)
        return []
    assert status == 200, f"HTTP {status}: {body[:300]}"
    messages = json.loads(body)
    assert isinstance(messages, list)
    said = " ".join(str(m.get("text", "")) for m in messages).lower()
    assert "<script" not in said and "<img" not in said, said[:500]
    return messages


def decide(body: bytes) -> IncomingMessage | BadRequest | PoliteReply:
    """What the channel does with a webhook body, before Rasa: 400, polite reply, or Rasa reads the text."""
    try:
        return parse_request(body, DEFAULT_MAX_MESSAGE_CHARS)
    except (BadRequest, PoliteReply) as refused:
        return refused


def assert_clean(incoming: IncomingMessage) -> None:
    """What Rasa gets: words, never a command, never a control character."""
    assert incoming.text and incoming.text == incoming.text.strip()
    assert not incoming.text.startswith("/")
    assert not any(ch in incoming.text for ch in "\x00\x07\x1b\x7f")


@IN_PROCESS
@given(message=user_texts)
def test_any_user_text_is_read_or_answered_politely(message: str) -> None:
    """A string message with a good sender is never a 400: Rasa reads clean text, or a polite reply."""
    outcome = decide(json.dumps({"sender": "someone", "message": message}).encode())
    assert not isinstance(outcome, BadRequest), outcome
    if isinstance(outcome, PoliteReply):
        assert outcome.response_name in DOMAIN["responses"] and outcome.sender == "someone"
    else:
        assert_clean(outcome)
        assert "<script" not in outcome.text.lower() or "<script" in message.lower()


@IN_PROCESS
@given(payload=st.dictionaries(st.sampled_from(["sender", "message", "metadata", "input_channel", "extra", "x"]),
                               json_values, max_size=5))
def test_any_json_object_is_refused_read_or_answered_politely(payload: dict[str, Any]) -> None:
    """Any JSON object: a 400 naming the problem, or a polite reply, or clean text (never an exception)."""
    outcome = decide(json.dumps(payload).encode())
    if isinstance(outcome, BadRequest):
        assert str(outcome)
        assert not isinstance(payload.get("message"), str) or "sender" in str(outcome) or "metadata" in str(outcome)
    elif isinstance(outcome, PoliteReply):
        assert outcome.response_name in DOMAIN["responses"]
    else:
        assert isinstance(payload.get("message"), str)
        assert_clean(outcome)


@IN_PROCESS
@given(raw=st.binary(max_size=2000))
def test_any_bytes_are_refused_read_or_answered_politely(raw: bytes) -> None:
    outcome = decide(raw)
    if isinstance(outcome, IncomingMessage):
        assert_clean(outcome)
    else:
        assert str(outcome)


@HTTP_SETTINGS
@given(message=user_texts)
def test_any_user_text_is_answered_or_refused_cleanly(stack: RasaServer, message: str) -> None:
    status, body = post_json(webhook(stack), {"sender": f"prop-{uuid.uuid4().hex}", "message": message}, 60)
    messages = assert_sane(status, body)
    if status == 200:
        assert messages and all(m.get("text") for m in messages), body


@pytest.mark.parametrize(
    ("message", "response"),
    [("", "utter_ask_rephrase"), ("   ", "utter_ask_rephrase"), ("\n\t ", "utter_ask_rephrase"),
     ("/", "utter_ask_rephrase"), ("// /", "utter_ask_rephrase"), ("\x07", "utter_ask_rephrase"),
     ("x" * 100_000, "utter_message_too_long")],
)
def test_empty_blank_and_huge_messages_get_a_polite_reply(stack: RasaServer, message: str, response: str) -> None:
    """A messaging user never sees an HTTP error: the domain's polite text, as a normal 200 answer."""
    status, body = post_json(webhook(stack), {"sender": "bad-empty", "message": message})
    assert status == 200, body[:200]
    assert [m.get("text") for m in json.loads(body)] == [DOMAIN["responses"][response][0]["text"]]


@pytest.mark.parametrize("payload", [[], "bonjour", 42, None, {"message": 42}, {"message": ["bonjour"]},
                                     {"message": "bonjour", "sender": 12}, {"message": "bonjour", "metadata": "x"}])
def test_wrong_json_shapes_get_a_clear_400(stack: RasaServer, payload: Any) -> None:
    status, body = post_json(webhook(stack), payload)
    assert status == 400, body[:200]
    assert json.loads(body)["error"]


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe\xfa", b'{"message": "bonjour', b'{"message": "caf\xe9"}',
                                 b"\x00" * 64, bytes(range(256))])
def test_invalid_utf8_and_broken_json_get_a_clear_400(stack: RasaServer, raw: bytes) -> None:
    status, body = post_json(webhook(stack), None, raw=raw)
    assert status == 400, body[:200]
    assert json.loads(body)["error"]


@pytest.mark.parametrize("message", [
    "<script>alert('x')</script> bonjour",
    "'; DROP TABLE events; -- qui dirige l'OIM ?",
    "🙂🙂🙂",
    "مرحبا، ما هي المنظمة الدولية للهجرة؟",
    "c koi l'oim \x00\x07 ?",
    "et depuis le <script>alert(1)</script> ?",
    "je suis bloqué en <img src=x onerror=alert(1)>",
    "rapatriement depuis <img src=x onerror=alert(1)>",
    "le numéro de <script>x</script> ?",
    "שלום",
])
def test_odd_but_real_messages_are_answered(stack: RasaServer, message: str) -> None:
    status, body = post_json(webhook(stack), {"sender": f"odd-{uuid.uuid4().hex}", "message": message}, 60)
    messages = assert_sane(status, body)
    assert status == 200 and messages and all(m.get("text") for m in messages), body[:300]


def test_unknown_fields_and_missing_sender_are_fine(stack: RasaServer) -> None:
    for payload in ({"message": "bonjour"}, {"message": "bonjour", "sender": "extra", "foo": [1, 2], "bar": {}}):
        status, body = post_json(webhook(stack), payload)
        messages = assert_sane(status, body)
        assert status == 200 and "OIM" in " ".join(m["text"] for m in messages)


@pytest.mark.parametrize("command", ["/restart", "/session_start", "/ask_contact{\"contact_target\": \"press\"}",
                                     "  /greet", "//goodbye"])
def test_users_cannot_trigger_intents_or_commands(stack: RasaServer, command: str) -> None:
    """Rasa reads "/intent{...}" as a command: the channel strips the "/" so it is plain text."""
    sender = f"cmd-{uuid.uuid4().hex}"
    stack.texts(sender, "qui dirige l'OIM ?")
    replies = stack.send(sender, command)
    assert replies, "a slash message must still be answered"
    events = stack.tracker(sender)["events"]
    first_user = next(i for i, e in enumerate(events) if e["event"] == "user")
    after = [e["event"] for e in events[first_user:]]
    assert "restart" not in after and "session_started" not in after, after
    last = next(e for e in reversed(events) if e["event"] == "user")
    assert last["text"] == command.strip().lstrip("/ "), last["text"]
    # An NLU prediction, not the 1.0 of a "/intent" command.
    assert last["parse_data"]["intent"]["confidence"] < 1.0, last["parse_data"]["intent"]


def test_server_is_still_healthy_after_bad_input(stack: RasaServer) -> None:
    with urllib.request.urlopen(f"{stack.url}/", timeout=10) as response:
        assert response.status == 200
    with urllib.request.urlopen(f"{stack.url}/webhooks/rest/", timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ok"}
    answer = " ".join(stack.texts(f"after-{uuid.uuid4().hex}", "qui dirige l'OIM ?"))
    assert "Source" in answer, answer


def test_stream_mode_answers_json_lines(stack: RasaServer) -> None:
    """Rasa's `?stream=true` still works through our channel: one JSON message per line."""
    status, body = post_json(f"{webhook(stack)}?stream=true", {"sender": f"stream-{uuid.uuid4().hex}",
                                                               "message": "bonjour"}, 60)
    assert status == 200, body[:200]
    messages = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert messages and "OIM" in " ".join(m["text"] for m in messages)
