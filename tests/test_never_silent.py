"""The assistant is never silent: every odd input, on every channel, gets a French answer.

Sent for real to the running stack (the session's `stack` and `web_service` fixtures: one Rasa server,
one action server, one web service, the cached model):

- the REST channel (/webhooks/rest/webhook, bot/serving/rest_channel.py): HTTP 200 and at least one message;
- Rasa's socket.io channel (credentials.yml, session persistence on): at least one `bot_uttered`;
- the web service (POST /api/chat): 200 with messages, or one of its documented 4xx answers whose
  JSON `message` is the French sentence the chat page shows (every input in process, in front of a
  fake Rasa; the inputs whose answer has content to check, for real through `web_service`).

A reply counts when it is non-empty French text. Some inputs need more than an answer: the long story
is answered about its question (Libye / retour), distress points to emergency services ("urgence"),
and markup typed by the user never comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.stack import RasaServer, WebServer, post_json

STORY_QUESTION = "comment je peux rentrer chez moi depuis la Libye ?"
STORY_SENTENCES = [
    "Bonjour, je m'appelle Ibrahim et je vous écris parce que je ne sais plus quoi faire.",
    "Je suis parti de mon village il y a presque deux ans avec mon cousin, pour chercher du travail.",
    "Nous avons traversé le désert dans un camion, nous étions plus de trente, sans assez d'eau.",
    "Arrivés à Sebha, des hommes nous ont enfermés dans une maison pendant plusieurs semaines.",
    "Ma famille a dû envoyer de l'argent pour que je puisse sortir, ma mère a vendu ses chèvres.",
    "Ensuite je suis allé à Tripoli, j'ai travaillé sur des chantiers, parfois sans être payé.",
    "Mon cousin a pris un bateau l'année dernière et je n'ai plus jamais eu de ses nouvelles.",
    "Moi je n'ai pas voulu monter sur le bateau, j'avais trop peur de la mer.",
    "Maintenant je n'ai plus de travail, je dors chez un ami et je n'ai plus de papiers.",
    "Ma mère est malade et elle me demande tous les jours quand je vais revenir à la maison.",
    "Un ami m'a dit que votre organisation pouvait aider les gens comme moi.",
    "Je ne veux plus rester ici, je veux seulement revoir ma famille et recommencer ma vie chez moi.",
]


def make_story(length: int = 2600) -> str:
    """A French story of about `length` characters told before its question (how people write)."""
    body = ""
    index = 0
    while len(body) + len(STORY_QUESTION) + 1 < length - 60:
        body += STORY_SENTENCES[index % len(STORY_SENTENCES)] + " "
        index += 1
    return body + "Alors voilà, je vous pose ma question : " + STORY_QUESTION


def make_long(length: int = 6000) -> str:
    unit = "Je vous écris encore pour raconter mon voyage et tout ce qui s'est passé depuis mon départ. "
    return (unit * (length // len(unit) + 1))[:length]


STORY = make_story()
LONG = make_long()

# (id, text): every kind of odd input a person (or a buggy client) sends.
INPUTS = [
    ("empty", ""),
    ("spaces", "   "),
    ("tab-newline", "\t\n"),
    ("question-mark", "?"),
    ("dots", "..."),
    ("emoji", "👍"),
    ("decoration-only", "### ;;; >>> ~~"),  # cleaned away entirely (bot/knowledge/user_text.py)
    ("bell-char", "bonjour\u0007"),
    ("html-script", "<b>bonjour</b><script>alert(1)</script>"),
    ("story-2600", STORY),
    ("long-6000", LONG),
    ("distress", "je n'en peux plus"),
    ("slash-restart", "/restart"),
    ("arabic", "مرحبا"),
    ("random-letters", "qsdkfj qsdlkfj"),
    ("combien", "combien ?"),
]
IDS = [name for name, _ in INPUTS]

# The web service's documented 4xx answers (README, "Web chat"): the page shows their `message`.
WEB_4XX_CODES = {
    400: {"invalid_json", "invalid_encoding", "unknown_fields", "missing_sender", "invalid_sender",
          "missing_message", "invalid_message", "empty_message"},
    413: {"message_too_long", "payload_too_large"},
}

FRENCH_WORDS = frozenset({
    "le", "la", "les", "l", "de", "des", "du", "d", "un", "une", "et", "est", "vous", "votre", "vos", "je", "j",
    "pour", "pas", "ne", "que", "qui", "qu", "en", "sur", "avec", "dans", "au", "aux", "ce", "cette", "il",
    "elle", "ou", "par", "plus", "écrivez", "posez",
})


def looks_french(text: str) -> bool:
    """Non-empty text with at least two distinct common French words (crude, but catches silence,
    English or Arabic echoes and technical messages)."""
    words = set(re.findall(r"[a-zà-öø-ÿœæ]+", text.lower()))
    return len(words & FRENCH_WORDS) >= 2


def assert_french_reply(channel: str, name: str, texts: list[str], raw: Any) -> None:
    spoken = [t for t in texts if isinstance(t, str) and t.strip()]
    assert spoken, f"{channel}: silent for input {name!r}; got {raw!r}"[:1500]
    assert any(looks_french(t) for t in spoken), f"{channel}: no French reply for {name!r}: {spoken!r}"[:1500]


def assert_content(channel: str, name: str, texts: list[str]) -> None:
    """What some inputs need beyond an answer."""
    said = "\n".join(texts)
    assert "<script" not in said.lower(), f"{channel}: markup echoed for {name!r}: {said[:500]!r}"
    if name == "story-2600":
        assert "Libye" in said or "retour" in said.lower(), f"{channel}: story not answered about its question: {said[:800]!r}"
    if name == "distress":
        assert "urgence" in said.lower(), f"{channel}: distress without emergency pointer: {said[:800]!r}"


def test_inputs_are_what_the_brief_says() -> None:
    assert 2500 <= len(STORY) <= 2700 and STORY.endswith(STORY_QUESTION)
    assert len(LONG) == 6000


# --- REST channel ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, text", INPUTS, ids=IDS)
def test_rest_channel_always_answers_in_french(stack: RasaServer, name: str, text: str) -> None:
    status, body = post_json(f"{stack.url}/webhooks/rest/webhook",
                             {"sender": f"ns-rest-{name}-{uuid.uuid4().hex[:8]}", "message": text}, 90)
    assert status == 200, f"REST: HTTP {status} for {name!r}: {body[:300]}"
    messages = json.loads(body)
    assert isinstance(messages, list), body[:300]
    texts = [str(m.get("text") or "") for m in messages if isinstance(m, dict)]
    assert_french_reply("REST", name, texts, messages)
    assert_content("REST", name, texts)


# --- socket.io channel -------------------------------------------------------------------------

def _tracker_events(stack: RasaServer, sender: str) -> list[dict[str, Any]]:
    url = f"{stack.url}/conversations/{sender}/tracker?include_events=ALL&token={stack.token}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read()).get("events") or []


def _turn_finished(events: list[dict[str, Any]]) -> bool:
    """The user message is in the tracker and the assistant went back to listening after it."""
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    return bool(users) and any(
        e.get("event") == "action" and e.get("name") == "action_listen" for e in events[users[-1] + 1:]
    )


@dataclass
class SocketTurn:
    replies: list[dict[str, Any]]  # what the socket.io client received
    finished: bool  # the tracker shows the turn complete
    stored: list[str]  # what Rasa stored as said (to tell a silent assistant from a lost delivery)


async def socket_turn(stack: RasaServer, text: str, timeout_s: float = 90) -> SocketTurn:
    """One user message over socket.io, as Rasa's web widgets send it: session_request with the
    widget's own session id, then user_uttered; the bot_uttered payloads that came back.

    Long-polling transport: the venv's engineio needs a newer aiohttp than Rasa's for websockets.
    """
    import aiohttp
    import socketio

    session_id = f"ns-sio-{uuid.uuid4().hex}"
    replies: list[dict[str, Any]] = []
    confirmed = asyncio.Event()
    http = aiohttp.ClientSession()  # ours, so that closing it ends the pending long-poll at once
    client = socketio.AsyncClient(reconnection=False, http_session=http)

    async def on_confirm(*_: Any) -> None:
        confirmed.set()

    async def on_bot(data: Any) -> None:
        replies.append(data if isinstance(data, dict) else {"text": data})

    client.on("session_confirm", on_confirm)
    client.on("bot_uttered", on_bot)
    try:
        await client.connect(stack.url, socketio_path="/socket.io", transports=["polling"], wait_timeout=30)
        await client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(confirmed.wait(), 30)
        await client.emit("user_uttered", {"message": text, "session_id": session_id})
        deadline = time.monotonic() + timeout_s
        finished, events = False, []
        while time.monotonic() < deadline:
            events = await asyncio.to_thread(_tracker_events, stack, session_id)
            finished = _turn_finished(events)
            if finished:
                break
            await asyncio.sleep(0.3)
        # The messages were emitted before the tracker was saved: give the last ones time to arrive.
        grace = time.monotonic() + 1.5
        while time.monotonic() < grace and not replies:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        stored = [str(e.get("text") or "") for e in events if e.get("event") == "bot"]
        return SocketTurn(list(replies), finished, stored)
    finally:
        # A polling client's disconnect waits for the server's long-poll (25 s): do not wait for it.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(client.disconnect(), 0.5)
        await http.close()


@pytest.mark.parametrize("name, text", INPUTS, ids=IDS)
async def test_socketio_channel_always_answers_in_french(stack: RasaServer, name: str, text: str) -> None:
    turn = await socket_turn(stack, text)
    texts = [str(r.get("text") or "") for r in turn.replies]
    assert_french_reply("socket.io", name, texts, {"received": turn.replies, "turn_finished": turn.finished,
                                                   "rasa_said": turn.stored})
    assert_content("socket.io", name, texts)


# --- web service -------------------------------------------------------------------------------

def check_web_answer(name: str, status: int, data: dict[str, Any], content: bool = True) -> list[str]:
    """200 with messages, or a documented 4xx whose French `message` the page shows; the texts.
    `content`: also what the answer must say (only when a real assistant answered)."""
    if status == 200:
        messages = data.get("messages")
        assert isinstance(messages, list), data
        texts = [str(m.get("text") or "") for m in messages if isinstance(m, dict)]
    else:
        assert data.get("error") in WEB_4XX_CODES.get(status, set()), \
            f"web: HTTP {status} for {name!r} is not a documented answer the page can show: {data!r}"
        texts = [str(data.get("message") or "")]
    assert_french_reply("web", name, texts, {"status": status, "body": data})
    if status != 200:  # a refusal cannot be about the question; it is checked as French above
        assert "<script" not in texts[0].lower()
    elif content:
        assert_content("web", name, texts)
    return texts


@pytest.mark.parametrize("name, text", INPUTS, ids=IDS)
async def test_web_chat_refuses_in_french_or_passes_the_text_on(fake_rasa: Any, tmp_path: Path,
                                                                 name: str, text: str) -> None:
    """In process (tests/web_app.py): every input is either refused with a French 4xx the page shows,
    or passed on to Rasa as clean words whose answer comes back as it is. What Rasa answers to these
    inputs is the REST test above; the whole web path is checked for real below."""
    from tests.web_app import chat_body, config_for, sqlite_endpoints, start_client

    web = await start_client(config_for(fake_rasa.url, fake_rasa.url, sqlite_endpoints(tmp_path)))
    try:
        response = await web.post("/api/chat", data=chat_body(f"ns-web-{uuid.uuid4().hex[:16]}", text),
                                  headers={"Content-Type": "application/json"})
        status, data = response.status, await response.json()
    finally:
        await web.close()
    if status == 200:
        assert [m["message"] for m in fake_rasa.received] and fake_rasa.received[0]["message"].strip()
        assert not fake_rasa.received[0]["message"].startswith("/")
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", fake_rasa.received[0]["message"])
    else:
        assert fake_rasa.received == []  # refused before Rasa
    check_web_answer(name, status, data, content=False)


# The web path for real (web service -> Rasa -> action server) on the inputs whose answer has content
# to check; the other inputs' answers are the REST channel's, checked above.
WEB_REAL = [(name, text) for name, text in INPUTS if name in {"story-2600", "distress", "html-script", "emoji"}]


@pytest.mark.parametrize("name, text", WEB_REAL, ids=[name for name, _ in WEB_REAL])
def test_web_chat_always_answers_in_french(web_service: WebServer, name: str, text: str) -> None:
    sender = f"ns-web-{uuid.uuid4().hex[:16]}"
    status, data = web_service.chat(sender, text)
    assert status == 200, data
    check_web_answer(name, status, data)
