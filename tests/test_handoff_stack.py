"""A handoff that leads somewhere, end to end (issue 16, item 5): the real action server with the
staff queue on, the real Rasa (REST and the Telegram connector, the platform being the local
simulator of tests/simulators) and the web service. A person asks for a human in the web chat: the
reply says the request is in the staff queue and warns about personal data; a staff member answers
through the console's API: the reply is in the tracker (a `bot` event naming them) and the chat
gets it from /api/chat/updates. A Telegram user asking the same gets the staff reply pushed as a
Telegram message (Rasa's execute_side_effects through the connector's output channel).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SCREENSHOTS, WEB_STAFF_TOKEN, web_settings
from tests.simulators.platforms import PlatformSimulators
from tests.stack import (
    ActionServer,
    RasaServer,
    WebServer,
    base_env,
    free_port,
    http_request,
    start_all,
    stop_all,
    write_sqlite_endpoints,
)
from tests.web_app import conversation_url

SIDS = {"twilio_sid": "ACtestaccount00000000000000000000", "twilio_token": "twilio-auth-token-4410",
        "telegram_token": "123456:telegram-test-token", "graph_token": "page-token-5521"}
BEARER = {"Authorization": f"Bearer {WEB_STAFF_TOKEN}", "Content-Type": "application/json"}
ALWAYS = "queue: on\ntimezone: Europe/Paris\nhours:\n" + "".join(
    f"  {day}: ['00:00-24:00']\n" for day in ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"))
UN_FAX = "212-963-2147"


@dataclass
class Handoff:
    rasa: RasaServer
    web: WebServer
    sims: PlatformSimulators


@pytest.fixture(scope="module")
def handoff(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Handoff]:
    workdir = tmp_path_factory.mktemp("handoff")
    hours = workdir / "staff_hours.yml"
    hours.write_text(ALWAYS, encoding="utf-8")
    sims = PlatformSimulators(**SIDS).start()
    started: list = []
    try:
        actions = ActionServer(port=free_port(), log_path=workdir / "actions.log",
                               env={**base_env(), "OIM_STAFF_HOURS_FILE": str(hours)})
        started.append(actions)
        endpoints = write_sqlite_endpoints(workdir / "endpoints.yml", actions.url, workdir / "trackers.db")
        env = {**base_env(), "TELEGRAM_ACCESS_TOKEN": SIDS["telegram_token"], "TELEGRAM_VERIFY": "oim_test_bot",
               "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/webhooks/telegram/webhook",
               "TELEGRAM_SECRET_TOKEN": "tg-secret-0123456789", "TELEGRAM_API_BASE_URL": f"{sims.url}/telegram"}
        rasa = RasaServer(port=free_port(), model=model_path, endpoints=endpoints, log_path=workdir / "rasa.log", env=env)
        started.append(rasa)
        start_all(actions, rasa)
        rasa.actions = actions  # type: ignore[attr-defined]
        web = WebServer(port=free_port(), log_path=workdir / "web.log", settings=web_settings(
            rasa, OIM_STAFF_TOKEN=WEB_STAFF_TOKEN, OIM_RASA_TOKEN=rasa.token)).start()
        started.insert(0, web)
        yield Handoff(rasa, web, sims)
    finally:
        for web in [p for p in started if isinstance(p, WebServer)]:
            web.stop()  # first: its keep-alive connections would hold Rasa's graceful shutdown
        stop_all(*started)
        sims.stop()


def reply(web: WebServer, conversation: str, text: str) -> dict:
    status, _, body = web.request("POST", conversation_url(conversation, WEB_STAFF_TOKEN, api=True) + "/reply",
                                  json.dumps({"text": text, "by": "Awa"}).encode(), BEARER)
    assert status == 200, body
    return json.loads(body)


def test_web_chat_handoff_staff_reply_reaches_the_chat_and_the_tracker(handoff: Handoff) -> None:
    web, rasa = handoff.web, handoff.rasa
    sender = uuid.uuid4().hex
    status, data = web.chat(sender, "je veux parler à un humain")
    text = "\n".join(m["text"] for m in data["messages"])
    assert status == 200 and data.get("handoff") == "queued", data
    assert "file d'attente" in text and "va lire cette conversation" in text
    assert "données personnelles" in text and UN_FAX not in text and "ldoyle@iom.int" in text

    status, _, body = web.request("GET", f"/api/chat/updates?sender={sender}&since=0")
    before = json.loads(body)
    assert status == 200 and before["pending"] is True and before["messages"] == []

    sent = reply(web, f"web-{sender}", "Bonjour, je suis Awa de l'équipe. <b>Comment</b> puis-je vous aider ?")
    assert sent["reply"]["by"] == "Awa"
    status, _, body = web.request("GET", f"/api/chat/updates?sender={sender}&since={before['next_since']}")
    updates = json.loads(body)
    assert status == 200 and updates["pending"] is True
    assert [m["text"] for m in updates["messages"]] == ["Bonjour, je suis Awa de l'équipe. <b>Comment</b> puis-je vous aider ?"]
    assert updates["messages"][0]["from"] == "staff"

    staff_events = [e for e in rasa.tracker(f"web-{sender}")["events"]
                    if e["event"] == "bot" and (e.get("metadata") or {}).get("staff")]
    assert [(e["text"][:24], e["metadata"]["staff"]) for e in staff_events] == [("Bonjour, je suis Awa de ", "Awa")]

    status, _, body = web.request("GET", conversation_url(f"web-{sender}", WEB_STAFF_TOKEN, api=True), headers=BEARER)
    kinds = [(line["kind"], line["by"]) for line in json.loads(body)["transcript"]]
    assert status == 200 and ("staff", "Awa") in kinds

    status, data = web.chat(sender, "c'est quoi l'OIM ?")  # the conversation goes on after the staff reply
    assert status == 200 and data["messages"] and "handoff" not in data


def test_a_telegram_user_gets_the_staff_reply_as_a_telegram_message(handoff: Handoff) -> None:
    sims, chat = handoff.sims, "4444444"
    update = {"update_id": 40001, "message": {"message_id": 1, "date": 1441645532,
              "from": {"id": int(chat), "is_bot": False, "first_name": "Amina", "language_code": "fr"},
              "chat": {"id": int(chat), "type": "private"}, "text": "je veux parler à un humain"}}
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "tg-secret-0123456789"}
    status, _, _ = http_request(f"{handoff.rasa.url}/webhooks/telegram/webhook", "POST", json.dumps(update).encode(), headers)
    assert status == 200
    answers = sims.wait_sent("telegram", chat, 0, minimum=2)  # the first-contact notice, then the answer (quiet after)
    assert any("file d'attente" in m.text for m in answers)
    before = len(sims.sent("telegram", chat))
    reply(handoff.web, f"telegram-{chat}", "Bonjour, ici l'équipe : nous vous rappelons demain.")
    pushed = sims.wait_sent("telegram", chat, before, minimum=1)
    assert pushed[-1].text.endswith("Bonjour, ici l'équipe : nous vous rappelons demain.")
    assert pushed[-1].text.startswith("Message d'une personne de l'équipe")


def test_in_a_real_browser_the_staff_reply_appears_in_the_chat(handoff: Handoff, phone: Any) -> None:
    """chat.js polls /api/chat/updates only while a request for a person is pending and shows the
    staff reply as text, labelled as from a person."""
    page = phone
    page.goto(handoff.web.url + "/")
    page.get_by_label("Votre message").fill("je veux parler à un humain")
    page.get_by_role("button", name="Envoyer").click()
    page.locator("li.message.bot").filter(has_text="file d'attente").first.wait_for(timeout=60_000)
    conversation = "web-" + page.evaluate("window.localStorage.getItem('oim-chat-sender')")

    reply(handoff.web, conversation, "Bonjour, ici Awa. <img src=x onerror=\"window.__xss=1\"> Je vous lis.")
    staff = page.locator("li.message.staff")
    staff.first.wait_for(timeout=30_000)  # within one polling period (10 s) and a margin
    assert "Bonjour, ici Awa." in staff.first.inner_text() and "<img" in staff.first.inner_text()
    assert page.evaluate("window.__xss") is None  # shown as text, never as HTML
    assert "Une personne de l'équipe" in staff.first.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "chat-staff-reply-phone.png"), full_page=False)
    assert page.problems == []
