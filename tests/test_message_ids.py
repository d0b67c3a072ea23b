"""A user message handled once (issue 17): the REST channel's message ids (bot/serving/idempotency.py).

Against the `redis_topology` replicas (two Rasa servers on one real Redis tracker and lock store,
tests/conftest.py): a copy of a message (same `message_id`, or same nginx `X-Request-ID`) is not
stored or handled again and gets the same reply, on the same replica or another, one after the other
or both at once. Then issue 17's case end to end: deploy/nginx/nginx.conf in front of a replica that
dies after saving the turn, before answering (a proxy to replica 1 that closes the connection once
Rasa has answered it), and replica 2: nginx passes the message on, and it is stored once. Plus the
pure parts in process.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from bot.serving.idempotency import MAX_MESSAGE_ID_CHARS, header_message_id, stored_reply
from bot.serving.rest_channel import BadRequest, parse_request
from tests.conftest import Topology
from tests.stack import RasaServer, http_request, run_at_once

# --- in process ----------------------------------------------------------------------------------


def test_the_reply_of_a_stored_message_is_its_bot_messages_up_to_the_next_user_message() -> None:
    events = [
        UserUttered("bonjour", message_id="m1"),
        ActionExecuted("utter_greet"),
        BotUttered("Bonjour !\n\nQue puis-je faire ?", {"buttons": [{"title": "OIM", "payload": "oim"}]}),
        BotUttered("Autre message"),
        ActionExecuted("action_listen"),
        UserUttered("merci", message_id="m2"),
        BotUttered("De rien."),
    ]
    assert [m["text"] for m in stored_reply(events, "m1")] == ["Bonjour !\n\nQue puis-je faire ?", "Autre message"]
    assert stored_reply(events, "m1")[0]["buttons"] == [{"title": "OIM", "payload": "oim"}]
    assert [m["text"] for m in stored_reply(events, "m2")] == ["De rien."]
    assert stored_reply(events, "m3") is None
    assert stored_reply([UserUttered("x", message_id="m4")], "m4") == []  # stored, said nothing


def _body(**fields: Any) -> bytes:
    return json.dumps({"sender": "u", "message": "bonjour", **fields}).encode()


def test_the_client_message_id_is_checked_and_the_header_is_optional() -> None:
    assert parse_request(_body(message_id="abc-1"), 5000).message_id == "abc-1"
    assert parse_request(_body(), 5000).message_id is None
    for bad in ["", " abc", "a" * (MAX_MESSAGE_ID_CHARS + 1), "a\nb", 5, ["x"], {"x": 1}]:
        with pytest.raises(BadRequest, match="message_id"):
            parse_request(_body(message_id=bad), 5000)
    assert header_message_id("0123456789abcdef0123456789abcdef") == "0123456789abcdef0123456789abcdef"
    for ignored in [None, "", "a" * (MAX_MESSAGE_ID_CHARS + 1), "a\x00b"]:
        assert header_message_id(ignored) is None  # a bad header is ignored, never a 400


# --- real replicas on Redis ----------------------------------------------------------------------


def send(server: RasaServer, sender: str, text: str, message_id: str | None = None,
         request_id: str | None = None) -> list[dict[str, Any]]:
    payload: dict[str, Any] = {"sender": sender, "message": text}
    if message_id is not None:
        payload["message_id"] = message_id
    headers = {"Content-Type": "application/json"}
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    status, _, body = http_request(f"{server.url}/webhooks/rest/webhook", "POST", json.dumps(payload).encode(),
                                   headers, timeout_s=120)
    assert status == 200, body
    return json.loads(body)


def user_events(server: RasaServer, sender: str) -> list[tuple[str, str]]:
    return [(e["text"], e.get("message_id")) for e in server.tracker(sender)["events"] if e["event"] == "user"]


def new_sender(tag: str) -> str:
    return f"msgid-{tag}-{uuid.uuid4().hex[:10]}"


def test_a_message_sent_twice_with_one_id_is_handled_once(redis_topology: Topology) -> None:
    a, b = redis_topology.rasa
    sender = new_sender("twice")
    first = send(a, sender, "retour volontaire", message_id="client-1")
    again_same_replica = send(a, sender, "retour volontaire", message_id="client-1")
    again_other_replica = send(b, sender, "retour volontaire", message_id="client-1")
    assert first and all(m.get("text") for m in first)
    assert again_same_replica == first and again_other_replica == first
    assert user_events(b, sender) == [("retour volontaire", "client-1")]

    # The next message is handled, and a late copy of the first still gets the first's reply.
    follow_up = send(b, sender, "et depuis le yemen ?", message_id="client-2")
    assert follow_up and send(a, sender, "retour volontaire", message_id="client-1") == first
    assert user_events(a, sender) == [("retour volontaire", "client-1"), ("et depuis le yemen ?", "client-2")]


def test_different_ids_or_no_id_are_handled_every_time(redis_topology: Topology) -> None:
    a, b = redis_topology.rasa
    sender = new_sender("distinct")
    assert send(a, sender, "bonjour", message_id="x-1")
    assert send(b, sender, "bonjour", message_id="x-2")
    assert send(a, sender, "bonjour")
    assert send(b, sender, "bonjour")
    events = user_events(a, sender)
    assert [text for text, _ in events] == ["bonjour"] * 4
    assert [mid for _, mid in events[:2]] == ["x-1", "x-2"]
    assert len({mid for _, mid in events}) == 4  # Rasa's own random ids when none is given


def test_nginx_request_id_is_used_and_the_client_id_wins(redis_topology: Topology) -> None:
    a, b = redis_topology.rasa
    sender = new_sender("header")
    nginx_id = uuid.uuid4().hex
    first = send(a, sender, "c'est quoi l'OIM ?", request_id=nginx_id)
    assert send(b, sender, "c'est quoi l'OIM ?", request_id=nginx_id) == first  # nginx's retry
    assert user_events(a, sender) == [("c'est quoi l'OIM ?", nginx_id)]

    other = uuid.uuid4().hex
    send(a, sender, "merci", message_id="mine", request_id=other)  # stored under the client's id
    send(b, sender, "merci", request_id=other)  # so nginx's id alone is a new message
    assert user_events(b, sender)[1:] == [("merci", "mine"), ("merci", other)]


def test_two_copies_at_once_on_two_replicas_are_handled_once(redis_topology: Topology) -> None:
    """The lock store serialises the copies; the check runs inside the lock, so the second copy
    sees the first one's saved turn (nginx retrying while a resend arrives, say)."""
    a, b = redis_topology.rasa
    for round_ in range(3):
        sender = new_sender(f"race{round_}")
        send(a, sender, "bonjour")
        replies, errors = run_at_once([functools.partial(send, server, sender, "retour volontaire", message_id="same")
                                       for server in (a, b)])
        assert not errors, errors
        assert len(replies) == 2 and replies[0] == replies[1] and replies[0]
        assert [text for text, _ in user_events(b, sender)] == ["bonjour", "retour volontaire"]


# --- through nginx: a replica that dies between saving the turn and answering ----------------------

DYING_REPLICA = r'''
import json, sys
import aiohttp
from aiohttp import web

port, target, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]

async def rest(request):
    body = await request.read()
    headers = {"Content-Type": "application/json"}
    if "X-Request-ID" in request.headers:
        headers["X-Request-ID"] = request.headers["X-Request-ID"]
    async with aiohttp.ClientSession() as session:
        async with session.post(target + "/webhooks/rest/webhook", data=body, headers=headers) as answer:
            reply = await answer.text()
    with open(log, "a") as out:
        out.write(json.dumps({"request_id": request.headers.get("X-Request-ID"), "body": body.decode(),
                              "reply": reply}) + "\n")
    request.transport.close()  # the turn is saved in Redis; the replica dies before answering
    raise ConnectionResetError("died")

async def status(request):
    return web.json_response({})

app = web.Application()
app.router.add_post("/webhooks/rest/webhook", rest)
app.router.add_get("/status", status)
web.run_app(app, host="127.0.0.1", port=port, print=None)
'''


def test_nginx_retry_after_a_replica_died_having_saved_the_turn_is_stored_once(
    redis_topology: Topology, tmp_path: Path
) -> None:
    from tests.test_nginx import Stack, answers, wait_until

    a, b = redis_topology.rasa
    stack = Stack(tmp_path)  # nginx with deploy/nginx/nginx.conf; its two upstreams replaced below
    dying_port = stack.upstreams["a"][0]
    script, log = tmp_path / "dying.py", tmp_path / "dying.jsonl"
    script.write_text(DYING_REPLICA)
    dying = subprocess.Popen([sys.executable, str(script), str(dying_port), a.url, str(log)],
                             stdout=open(tmp_path / "dying.log", "ab"),  # noqa: SIM115 - owned by the child
                             stderr=subprocess.STDOUT, start_new_session=True)
    stack.upstreams = {"a": (dying_port, dying), "b": (b.port, None)}  # b: the fixture's, never stopped here
    replies: dict[str, list[dict[str, Any]]] = {}
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{dying_port}/status"), what="dying replica")
        stack.start_nginx()
        for i in range(4):  # round-robin: some reach the dying replica first (3 failures: left out)
            sender = new_sender(f"nginx{i}")
            body = json.dumps({"sender": sender, "message": "retour volontaire"}).encode()
            status, _, reply = http_request(f"{stack.url}/webhooks/rest/webhook", "POST", body,
                                            {"Content-Type": "application/json"}, timeout_s=120)
            assert status == 200, reply
            replies[sender] = json.loads(reply)
            assert replies[sender] and all(m.get("text") for m in replies[sender])
            assert [text for text, _ in user_events(b, sender)] == ["retour volontaire"]  # once
    finally:
        stack.stop()
    died = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    assert died, "no message reached the dying replica"
    for record in died:
        sender = json.loads(record["body"])["sender"]
        assert json.loads(record["reply"]) == replies[sender]  # the reply the dead replica never sent
        assert user_events(b, sender) == [("retour volontaire", record["request_id"])]
