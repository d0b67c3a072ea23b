"""A handoff that leads somewhere (issue 16, item 5): the staff queue's hours, the reply to "je veux
parler à un humain", a staff reply and how the person gets it.

Pure parts first (hours and next opening on a fixed clock, the reply texts on the real knowledge and
domain, the updates a chat polls for); then the real web application (aiohttp test client) over a
real SQLite store with a fake Rasa HTTP API that records what it is sent (auth, CSRF, validation).
The end-to-end path through the real Rasa and action server is in tests/test_handoff_stack.py.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from actions import answers
from bot.knowledge.handoff_hours import HoursError, StaffHours, general_contact_id, staff_hours
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.knowledge.paths import repo_root
from bot.serving.tracker_stores import open_tracker_store
from bot.serving.web.rasa_client import bot_texts
from bot.serving.web.staff_reply import MAX_REPLY_CHARS, chat_updates, staff_reply_event
from tests.test_staff_queue_dashboard import NOW, asked_human, bot, handled_event, save_all, start, user
from tests.web_app import FakeRasa, config_for, conversation_url, sqlite_endpoints, start_client

DOMAIN: dict[str, Any] = yaml.safe_load((repo_root() / "domain.yml").read_text(encoding="utf-8"))
WEEKDAYS_9_TO_5 = {day: ["09:00-17:00"] for day in ("lundi", "mardi", "mercredi", "jeudi", "vendredi")}
PARIS = StaffHours(queue=True, timezone="Europe/Paris", hours=WEEKDAYS_9_TO_5)
# 2026-12-02 is a Wednesday; Paris is UTC+1 in winter, UTC+2 in summer.
WEDNESDAY_NOON = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)
WEDNESDAY_EARLY = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)  # 07:00 in Paris
WEDNESDAY_EVENING = datetime(2026, 12, 2, 17, 30, tzinfo=timezone.utc)  # 18:30
FRIDAY_EVENING = datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc)
UN_FAX = "212-963-2147"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def render(reply: answers.Reply) -> str:
    """What the person reads, filled as Rasa fills domain templates (the custom marker is not text)."""
    texts = []
    for message in reply.messages:
        variables = {k: v for k, v in message.items() if k not in ("response", "json_message")}
        texts.append(DOMAIN["responses"][message["response"]][0]["text"].format(**variables))
    return "\n".join(texts)


# --- hours -------------------------------------------------------------------------------------

def test_open_and_next_opening_on_a_fixed_clock_in_the_configured_zone() -> None:
    assert PARIS.is_open(WEDNESDAY_NOON) and not PARIS.is_open(WEDNESDAY_EARLY)
    assert not PARIS.is_open(datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc))  # 17:00 in Paris: closed
    assert PARIS.next_opening(WEDNESDAY_EARLY) == datetime(2026, 12, 2, 9, 0, tzinfo=PARIS.zone)
    assert PARIS.next_opening(WEDNESDAY_EVENING) == datetime(2026, 12, 3, 9, 0, tzinfo=PARIS.zone)
    assert PARIS.next_opening(FRIDAY_EVENING) == datetime(2026, 12, 7, 9, 0, tzinfo=PARIS.zone)  # Monday
    # Summer time: 09:00 in Paris is 07:00 UTC.
    summer = PARIS.next_opening(datetime(2026, 7, 4, 12, 0, tzinfo=timezone.utc))
    assert summer is not None and summer.astimezone(timezone.utc) == datetime(2026, 7, 6, 7, 0, tzinfo=timezone.utc)
    assert StaffHours(queue=True).next_opening(WEDNESDAY_NOON) is None  # no hours at all


def test_texts_of_the_hours_and_of_the_next_opening_in_french() -> None:
    assert answers.staff_hours_text(PARIS, DOMAIN) == "du lundi au vendredi de 9 h 00 à 17 h 00 (heure de Paris)"
    assert answers.next_opening_text(PARIS, FRIDAY_EVENING, DOMAIN) == "lundi à 9 h 00 (heure de Paris)"
    assert answers.next_opening_text(PARIS, WEDNESDAY_EARLY, DOMAIN) == "aujourd'hui à 9 h 00 (heure de Paris)"
    assert answers.next_opening_text(PARIS, WEDNESDAY_EVENING, DOMAIN) == "demain à 9 h 00 (heure de Paris)"
    split = StaffHours(queue=True, timezone="Africa/Dakar",
                       hours={"mardi": ["14:00-18:30", "08:30-12:00"], "samedi": "10:00-12:00"})
    assert answers.staff_hours_text(split, DOMAIN) == (
        "le mardi de 8 h 30 à 12 h 00 et de 14 h 00 à 18 h 30 et le samedi de 10 h 00 à 12 h 00 (heure de Dakar)")


@pytest.mark.parametrize("settings, wrong", [
    ({"timezone": "Europe/Pariss"}, "IANA"),
    ({"hours": {"lundi": ["9h-17h"]}}, "range like"),
    ({"hours": {"lundi": ["17:00-09:00"]}}, "ends before"),
    ({"hours": {"monday": ["09:00-17:00"]}}, "unknown weekday"),
    ({"hours": {"lundi": ["09:00-13:00", "12:00-17:00"]}}, "overlapping"),
    ({"queue": "peut-être"}, "neither on nor off"),
    ({"colour": "blue"}, "extra fields"),
])
def test_bad_settings_are_refused_with_the_setting_named(tmp_path: Path, settings: dict[str, Any], wrong: str) -> None:
    path = tmp_path / "hours.yml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    with pytest.raises(HoursError, match=wrong):
        staff_hours({"OIM_STAFF_HOURS_FILE": str(path)})


def test_file_then_environment_overrides(tmp_path: Path) -> None:
    shipped = staff_hours({})
    assert shipped.queue is False and shipped.timezone == "Europe/Paris"  # off until a deployment turns it on
    path = tmp_path / "hours.yml"
    path.write_text("queue: on\ntimezone: America/New_York\nhours:\n  samedi: ['00:00-24:00']\n", encoding="utf-8")
    hours = staff_hours({"OIM_STAFF_HOURS_FILE": str(path)})
    assert hours.queue and hours.timezone_label == "heure de New York" and hours.is_open(datetime(2026, 12, 5, 20, 0))
    hours = staff_hours({"OIM_STAFF_HOURS_FILE": str(path), "OIM_HANDOFF_QUEUE": "off", "OIM_STAFF_TIMEZONE": "Asia/Beirut"})
    assert not hours.queue and hours.timezone_label == "heure de Beirut"


# --- the reply ---------------------------------------------------------------------------------

def test_queue_on_within_hours_says_staff_will_read_it_with_the_hours_and_the_warning(kb: KnowledgeBase) -> None:
    reply = answers.answer_handoff(kb, answers.Turn("ask_human"), DOMAIN, PARIS, WEDNESDAY_NOON)
    text = render(reply)
    assert reply.slots == {"handoff_requested": True}
    assert "file d'attente" in text and "va lire cette conversation" in text
    assert "du lundi au vendredi de 9 h 00 à 17 h 00 (heure de Paris)" in text
    assert "données personnelles" in text and "rappelé" in text
    assert reply.messages[0]["json_message"] == {"handoff": "queued"}  # the web chat starts watching
    assert "ne peux pas vous mettre en relation" not in text


def test_queue_on_outside_hours_says_when_in_the_staff_time_zone(kb: KnowledgeBase) -> None:
    text = render(answers.answer_handoff(kb, answers.Turn("ask_human"), DOMAIN, PARIS, FRIDAY_EVENING))
    assert "ne travaille pas en ce moment" in text and "dès lundi à 9 h 00 (heure de Paris)" in text
    assert "données personnelles" in text


def test_without_a_topic_only_the_general_contact_never_the_un_fax_or_street_address(kb: KnowledgeBase) -> None:
    assert general_contact_id() == "contact.press"
    for hours in (PARIS, None):  # queue on and off
        text = render(answers.answer_handoff(kb, answers.Turn("ask_human"), DOMAIN, hours, WEDNESDAY_NOON))
        assert "ldoyle@iom.int" in text
        assert UN_FAX not in text and "United Nations Plaza" not in text and "migration4development" not in text


def test_the_topic_contact_only_and_the_un_one_only_for_the_un_topic(kb: KnowledgeBase) -> None:
    un_topics = {e.id for e in kb.entries() if "contact.un_desa" in e.contacts}
    assert un_topics
    for entry in kb.entries():
        text = render(answers.answer_handoff(kb, answers.Turn("ask_human", topic=entry.id), DOMAIN, PARIS, WEDNESDAY_NOON))
        assert (UN_FAX in text) == (entry.id in un_topics), entry.id
        assert len(re.findall(r"Source : ", text)) == len(entry.contacts) or (not entry.contacts and text.count("Source : ") == 1)
    text = render(answers.answer_handoff(kb, answers.Turn("ask_human", topic="programme.resettlement"), DOMAIN, None))
    assert "ne peux pas vous mettre en relation" in text and "propre à « " in text and UN_FAX not in text
    assert "file d'attente" not in text and "données personnelles" not in text  # queue off: no promise


def test_queue_on_without_hours_promises_no_time(kb: KnowledgeBase) -> None:
    text = render(answers.answer_handoff(kb, answers.Turn("ask_human"), DOMAIN, StaffHours(queue=True), WEDNESDAY_NOON))
    assert "lira cette conversation" in text and " h " not in text.split("Important")[0]


# --- what the chat polls for ---------------------------------------------------------------------

def staff_bot(text: str, at: float, by: str = "Awa") -> dict[str, Any]:
    event = bot(text, at)
    event["metadata"] = {"staff": by}
    return event


def test_updates_give_staff_replies_after_since_without_the_staff_name() -> None:
    events = [*asked_human("je veux parler à un humain", NOW - 100), staff_bot("Bonjour, je suis là.", NOW - 50),
              staff_bot("Pouvez-vous préciser ?", NOW - 10)]
    updates = chat_updates(events, 0)
    assert [m["text"] for m in updates.messages] == ["Bonjour, je suis là.", "Pouvez-vous préciser ?"]
    assert updates.pending and updates.next_since == NOW - 10 and "Awa" not in json.dumps(updates.as_json())
    later = chat_updates(events, updates.next_since)
    assert later.messages == [] and later.next_since == NOW - 10
    done = chat_updates([*events, handled_event("Awa", now=NOW)], NOW - 10)
    assert not done.pending  # handled: the page stops polling
    assert not chat_updates(None, 0).pending and not chat_updates([*start(NOW), user("bonjour", NOW)], 0).pending


def test_a_messaging_reply_says_a_person_wrote_it_and_bot_texts_keep_the_marker() -> None:
    assert staff_reply_event("telegram-42", "Bonjour", "Awa", now=1.0)["text"].endswith("\nBonjour")
    assert staff_reply_event("telegram-42", "Bonjour", "Awa")["text"] != "Bonjour"
    assert staff_reply_event("web-abcdefgh", "Bonjour", "Awa\n<b>")["metadata"] == {"staff": "Awa <b>"}
    payload = [{"recipient_id": "x", "text": "File d'attente"}, {"recipient_id": "x", "custom": {"handoff": "queued"}},
               {"recipient_id": "x", "text": "Important"}]
    assert bot_texts(payload) == [{"text": "File d'attente", "handoff": "queued"}, {"text": "Important"}]


# --- the web application: reply endpoints and updates ------------------------------------------

# The REST channel answers the queued handoff: its text, the custom payload, the warning.
QUEUED_REPLIES = [{"text": "Votre demande est dans la file d'attente."}, {"custom": {"handoff": "queued"}},
                  {"text": "Important : données personnelles."}]


TOKEN = "in-process-staff-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
WEB_ID = "abcdefgh12345678"


@pytest.fixture()
async def rasa_api() -> AsyncIterator[FakeRasa]:
    api = await FakeRasa(replies=QUEUED_REPLIES).start()
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture()
async def client(tmp_path: Path, rasa_api: FakeRasa) -> AsyncIterator[TestClient]:
    endpoints = sqlite_endpoints(tmp_path)
    await save_all(open_tracker_store(endpoints), {
        f"web-{WEB_ID}": [*asked_human("je veux parler à un humain", NOW - 100), staff_bot("Bonjour <b>!</b>", NOW - 50)],
        "telegram-42": asked_human("un humain svp", NOW - 100),
    })
    web_client = await start_client(config_for(rasa_api.url, rasa_api.url, endpoints, rasa_token="rasa-api-token"))
    try:
        yield web_client
    finally:
        await web_client.close()


async def test_the_chat_answer_says_a_handoff_is_queued(client: TestClient) -> None:
    response = await client.post("/api/chat", json={"sender": WEB_ID, "message": "je veux parler à un humain"})
    data = await response.json()
    assert response.status == 200 and data["handoff"] == "queued"
    assert data["messages"] == [{"text": "Votre demande est dans la file d'attente."}, {"text": "Important : données personnelles."}]


async def test_reply_api_needs_the_token_and_checks_its_body(client: TestClient, rasa_api: FakeRasa) -> None:
    path = conversation_url(f"web-{WEB_ID}", api=True) + "/reply"
    assert (await client.post(path, json={"text": "Bonjour"})).status == 401
    bad = [(b"{", 400, "invalid_json"), (b"[1]", 400, "invalid_json"), (b"\xff", 400, "invalid_json"),
           (json.dumps({"text": "x", "cc": 1}).encode(), 400, "unknown_reply_fields"),
           (json.dumps({"text": 5}).encode(), 400, "invalid_reply"), (json.dumps({}).encode(), 400, "invalid_reply"),
           (json.dumps({"text": " \n\x00 "}).encode(), 400, "empty_reply"),
           (json.dumps({"text": "x" * (MAX_REPLY_CHARS + 1)}).encode(), 413, "reply_too_long"),
           (json.dumps({"text": "x", "by": ["Awa"]}).encode(), 400, "invalid_reply_author"),
           (json.dumps({"text": "x", "by": "A" * 61}).encode(), 400, "invalid_reply_author")]
    for body, status, code in bad:
        response = await client.post(path, data=body, headers={**BEARER, "Content-Type": "application/json"})
        assert (response.status, (await response.json())["error"]) == (status, code), body
    response = await client.post(conversation_url("web-nobody00", api=True) + "/reply", json={"text": "x"}, headers=BEARER)
    assert response.status == 404 and (await response.json())["error"] == "conversation_not_found"
    response = await client.post(conversation_url("staff-ask-1", api=True) + "/reply", json={"text": "x"}, headers=BEARER)
    assert response.status == 404
    assert rasa_api.events == []  # nothing reached Rasa


async def test_reply_api_appends_a_bot_event_with_the_staff_name_and_asks_rasa_to_deliver_it(
    client: TestClient, rasa_api: FakeRasa, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.serving.web.staff_reply"):
        response = await client.post(conversation_url(f"web-{WEB_ID}", api=True) + "/reply", headers=BEARER,
                                     json={"text": "Bonjour, rappelez le 06 12 34 56 78", "by": "Awa"})
    data = await response.json()
    assert response.status == 200 and data["reply"]["by"] == "Awa" and data["reply"]["pushed"] is False
    sender, query, event = rasa_api.events[-1]
    assert sender == f"web-{WEB_ID}" and query == {"token": "rasa-api-token", "execute_side_effects": "true",
                                                    "output_channel": "latest"}
    assert event["event"] == "bot" and event["text"] == "Bonjour, rappelez le 06 12 34 56 78"
    assert event["metadata"] == {"staff": "Awa"}
    assert "06 12 34 56 78" not in caplog.text and "replied in conversation" in caplog.text
    response = await client.post(conversation_url("telegram-42", api=True) + "/reply", headers=BEARER, json={"text": "Bonjour"})
    assert (await response.json())["reply"]["pushed"] is True
    assert rasa_api.events[-1][2]["text"].endswith("\nBonjour") and rasa_api.events[-1][2]["metadata"] == {"staff": "API"}


async def test_reply_form_is_same_site_only_and_records_the_login_name(client: TestClient, rasa_api: FakeRasa) -> None:
    path = conversation_url(f"web-{WEB_ID}") + "/reply"
    response = await client.post(path, data={"text": "Bonjour"}, allow_redirects=False)
    assert response.status == 401 and 'name="token"' in await response.text()
    response = await client.post("/staff/login", data={"token": TOKEN, "name": "Jean"}, allow_redirects=False)
    assert response.status == 303
    forged = await client.post(path, data={"text": "Bonjour"}, headers={"Origin": "https://evil.example"},
                               allow_redirects=False)
    assert forged.status == 403 and rasa_api.events == []
    empty = await client.post(path, data={"text": "  "}, allow_redirects=False)
    assert empty.status == 400 and "vide" in await empty.text()
    response = await client.post(path, data={"text": "Nous vous rappelons demain."}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == conversation_url(f"web-{WEB_ID}") + "#reponse-envoyee"
    assert rasa_api.events[-1][2]["metadata"] == {"staff": "Jean"}
    page = await (await client.get(conversation_url(f"web-{WEB_ID}"))).text()
    assert f'action="{conversation_url(f"web-{WEB_ID}")}/reply"' in page and "Répondre" in page
    assert "Équipe (Awa)" in page and "Bonjour &lt;b&gt;!&lt;/b&gt;" in page  # the staff line, escaped


async def test_updates_endpoint_validates_and_returns_staff_replies(client: TestClient) -> None:
    for query, code in [("", "missing_sender"), ("?sender=a", "invalid_sender"), ("?sender=../../x", "invalid_sender"),
                        (f"?sender={WEB_ID}&since=abc", "invalid_since"), (f"?sender={WEB_ID}&since=nan", "invalid_since"),
                        (f"?sender={WEB_ID}&since=-1", "invalid_since"), (f"?sender={WEB_ID}&x=1", "unknown_update_params")]:
        response = await client.get("/api/chat/updates" + query)
        assert response.status == 400 and (await response.json())["error"] == code, query
    data = await (await client.get(f"/api/chat/updates?sender={WEB_ID}&since=0")).json()
    assert data["pending"] is True and [m["text"] for m in data["messages"]] == ["Bonjour <b>!</b>"]
    assert data["messages"][0]["from"] == "staff" and "Awa" not in json.dumps(data)
    again = await (await client.get(f"/api/chat/updates?sender={WEB_ID}&since={data['next_since']}")).json()
    assert again["messages"] == [] and again["pending"] is True
    nobody = await (await client.get("/api/chat/updates?sender=nobody0000")).json()
    assert nobody == {"messages": [], "pending": False, "next_since": 0.0}


async def test_a_partner_site_allowed_to_chat_may_poll_updates(tmp_path: Path, rasa_api: FakeRasa) -> None:
    partner = "https://partner.example.org"
    web_client = await start_client(config_for(rasa_api.url, rasa_api.url, sqlite_endpoints(tmp_path), cors_origins=(partner,)))
    try:
        response = await web_client.get(f"/api/chat/updates?sender={WEB_ID}", headers={"Origin": partner})
        assert response.status == 200 and response.headers["Access-Control-Allow-Origin"] == partner
        response = await web_client.get(f"/api/chat/updates?sender={WEB_ID}", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in response.headers
    finally:
        await web_client.close()
