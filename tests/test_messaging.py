"""Messaging connectors (bot/serving/messaging) end to end: WhatsApp (Twilio), Telegram, Messenger.

One Rasa server (all three connectors, configured by environment variables through
bot.serving.channels, as in production) + the real action server; the platforms are the local
simulators of tests/simulators, reached through the connectors' API base URL settings (no
patching). Webhook payloads come from the platforms' documentation (tests/fixtures/).
The pure parts (splitting, signatures, payload parsing, retries) are tested in-process first.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.serving.messaging.base import Incoming, MenuMemory
from bot.serving.messaging.messenger import parse_messenger_body, quick_replies
from bot.serving.messaging.sender import HttpSender
from bot.serving.messaging.shaping import LIMITS, chosen, numbered_menu, size, split_message
from bot.serving.messaging.signatures import (
    messenger_signature,
    messenger_signature_valid,
    telegram_secret_valid,
    twilio_signature,
    twilio_signature_valid,
)
from bot.serving.messaging.telegram import inline_keyboard, parse_telegram_update
from bot.serving.messaging.texts import Choice, load_texts
from bot.serving.messaging.whatsapp import WhatsAppInput, parse_twilio_form
from tests.simulators.platforms import PlatformSimulators
from tests.stack import (
    ActionServer,
    RasaServer,
    base_env,
    free_port,
    http_request,
    start_all,
    stop_all,
    write_sqlite_endpoints,
)

FIXTURES = Path(__file__).parent / "fixtures"
TEXTS = load_texts()


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["payload"]


# --- pure functions ------------------------------------------------------------------------------

ANSWER = ("L'OIM aide les migrants bloqués à rentrer chez eux. Elle organise le voyage et l'accueil. "
          "Elle travaille avec les gouvernements.\n\nSource : Aide au retour volontaire")


def test_an_answer_under_the_limit_is_one_message_blank_lines_included() -> None:
    assert split_message(ANSWER, LIMITS["whatsapp"]) == [ANSWER]


@pytest.mark.parametrize("platform", sorted(LIMITS))
def test_a_long_answer_is_cut_between_sentences_with_the_source_kept_with_its_end(platform: str) -> None:
    limit = LIMITS[platform]
    sentences = [f"Phrase numéro {i} de la réponse, qui explique un point précis du programme." for i in range(120)]
    text = " ".join(sentences) + "\n\nSource : Aide au retour volontaire"
    parts = split_message(text, limit)
    assert len(parts) > 1 and all(size(part) <= limit for part in parts)
    assert all(part.endswith(".") for part in parts[:-1])  # only between sentences
    assert parts[-1].endswith("Source : Aide au retour volontaire")
    assert not parts[-1].startswith("Source")  # never alone: the end of the answer is with it
    assert " ".join(parts).replace("\n\nSource", " Source") == text.replace("\n\nSource", " Source")


def test_the_closing_advice_after_the_source_stays_in_the_last_message() -> None:
    text = "Un. " * 150 + "Deux.\n\nSource : Page\n\nPour une réponse sûre, demandez-moi les contacts de l'OIM."
    parts = split_message(text, 300)
    assert all(size(p) <= 300 for p in parts)
    assert parts[-1].endswith("Source : Page\n\nPour une réponse sûre, demandez-moi les contacts de l'OIM.")
    assert parts[-1].startswith("Un. ") or parts[-1].startswith("Deux.")


def test_sizes_count_emoji_as_telegram_does() -> None:
    assert size("👍") == 2 and size("é") == 1
    parts = split_message("👍 Bien. " * 600, LIMITS["telegram"])
    assert all(size(p) <= 4096 for p in parts) and len(parts) >= 2


def test_a_sentence_longer_than_the_limit_is_cut_between_words() -> None:
    parts = split_message("mot " * 1000, 1600)
    assert all(size(p) <= 1600 for p in parts) and all(not p.endswith("mo") for p in parts)


def test_numbered_menu_and_the_number_that_comes_back() -> None:
    menu = TEXTS.menu
    text = numbered_menu(menu, TEXTS.numbered_prompt)
    assert text.splitlines()[0] == f"1. {menu[0].title}"
    assert text.splitlines()[-1] == "Répondez 1, 2 ou 3."
    assert chosen("2", menu) == menu[1] and chosen(" 3. ", menu) == menu[2] and chosen("2)", menu) == menu[1]
    assert chosen("4", menu) is None and chosen("2 enfants", menu) is None and chosen("1", ()) is None


def test_menus_are_kept_per_conversation_and_bounded() -> None:
    memory = MenuMemory(size=2)
    memory.remember("a", [Choice("A", "a")])
    memory.remember("b", [Choice("B", "b")])
    memory.remember("c", [Choice("C", "c")])
    assert memory.last("a") == () and memory.last("c") == (Choice("C", "c"),)


async def test_a_number_sent_to_another_replica_picks_from_the_menu_in_the_tracker_store() -> None:
    """Replicas share the tracker store, not their memory: the replica that gets "2" reads the
    menu the conversation was last shown (a bot message's buttons, else the notice's fixed menu)."""
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = InMemoryTrackerStore(Domain.empty())
    agent = type("Agent", (), {"tracker_store": store})()
    replica = WhatsAppInput("AC1", "token", "+14155238886", webhook_url="https://example.org/webhooks/twilio/webhook")
    address, conversation = "+33600000000", "whatsapp-+33600000000"
    assert (await replica.stored_state(agent, conversation)).new  # no tracker yet: first contact

    tracker = DialogueStateTracker(conversation, [])
    tracker.update(UserUttered("bonjour"))
    tracker.update(BotUttered("Bonjour !"))
    await store.save(tracker)
    stored = await replica.stored_state(agent, conversation)
    assert not stored.new and stored.menu == TEXTS.menu  # only the notice's menu was offered
    assert replica.resolve(Incoming("text", address, "2"), stored) == TEXTS.menu[1].payload

    buttons = [{"title": "Évacuations", "payload": "c'est quoi une évacuation ?"},
               {"title": "Contacts", "payload": "qui contacter ?"}]
    tracker.update(UserUttered("aide"))
    tracker.update(BotUttered("Voici :", data={"buttons": buttons}))
    await store.save(tracker)
    stored = await replica.stored_state(agent, conversation)
    assert replica.resolve(Incoming("text", address, "2"), stored) == "qui contacter ?"
    assert replica.resolve(Incoming("text", address, "3"), stored) == "3"  # not on that menu: typed text

    replica.menus.remember(conversation, [Choice("Plus récent", "menu envoyé ici")])  # sent after the store's
    assert replica.resolve(Incoming("text", address, "1"), stored) == "menu envoyé ici"


def test_buttons_for_telegram_and_messenger() -> None:
    keyboard = inline_keyboard(TEXTS.menu)["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard] == ["1", "2", "3"]
    replies = quick_replies(TEXTS.menu)
    assert [r["payload"] for r in replies] == ["1", "2", "3"] and all(len(r["title"]) <= 20 for r in replies)


def test_texts_live_in_yaml_and_the_notice_says_what_it_must() -> None:
    notice = TEXTS.notice()
    assert "automatique" in notice and "pages publiques" in notice and "données personnelles" in notice
    assert "une personne" in notice and "{" not in notice
    assert "https://oim.example/vie-privee" in TEXTS.notice("https://oim.example/vie-privee")


PUBLIC_TWILIO_URL = "https://bot.example.org/webhooks/twilio/webhook"


def test_twilio_signature_round_trip_and_tampering() -> None:
    form = list(fixture("twilio_whatsapp_text.json").items())
    signature = twilio_signature("token-1", PUBLIC_TWILIO_URL, form)
    assert twilio_signature_valid("token-1", PUBLIC_TWILIO_URL, form, signature)
    assert not twilio_signature_valid("token-2", PUBLIC_TWILIO_URL, form, signature)
    assert not twilio_signature_valid("token-1", "http://127.0.0.1:5005/webhooks/twilio/webhook", form, signature)
    tampered = [(k, "Bonjour" if k == "Body" else v) for k, v in form]
    assert not twilio_signature_valid("token-1", PUBLIC_TWILIO_URL, tampered, signature)
    assert not twilio_signature_valid("token-1", PUBLIC_TWILIO_URL, form, "")


def test_twilio_signature_matches_the_documented_example() -> None:
    """The worked example of Twilio's "Validating requests" documentation (auth token 12345)."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    form = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
            ("From", "+12349013030"), ("To", "+18005551212")]
    assert twilio_signature("12345", url, form) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio_signature_valid("12345", url, form, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


def test_telegram_secret_and_messenger_signature() -> None:
    assert telegram_secret_valid("s3cret", "s3cret")
    assert not telegram_secret_valid("s3cret", "s3cre") and not telegram_secret_valid("s3cret", None)
    body = json.dumps(fixture("messenger_text.json")).encode()
    assert messenger_signature_valid("app-secret", body, messenger_signature("app-secret", body))
    assert not messenger_signature_valid("app-secret", body + b" ", messenger_signature("app-secret", body))
    assert not messenger_signature_valid("app-secret", body, messenger_signature("other", body))
    import hashlib
    import hmac

    legacy = "sha1=" + hmac.new(b"app-secret", body, hashlib.sha1).hexdigest()
    assert not messenger_signature_valid("app-secret", body, legacy)  # legacy SHA-1 header refused


def test_payloads_from_the_documentation_are_parsed() -> None:
    assert parse_twilio_form(fixture("twilio_whatsapp_text.json")) == Incoming(
        "text", "+33612345678", "Hello", {"platform": "whatsapp"})
    assert parse_twilio_form(fixture("twilio_whatsapp_voice.json")).kind == "media"  # type: ignore[union-attr]
    assert parse_twilio_form(fixture("twilio_whatsapp_location.json")).kind == "media"  # type: ignore[union-attr]
    assert parse_twilio_form({**fixture("twilio_whatsapp_text.json"), "From": "+33612345678"}) is None  # SMS
    assert parse_telegram_update(fixture("telegram_update_text.json"))[0] == Incoming(
        "text", "1111111", "Hello", {"platform": "telegram"})
    for name, kind in [("voice", "media"), ("sticker", "media"), ("edited", "edited")]:
        assert parse_telegram_update(fixture(f"telegram_update_{name}.json"))[0].kind == kind  # type: ignore[union-attr]
    event, query = parse_telegram_update(fixture("telegram_update_callback.json"))
    assert event == Incoming("choice", "1111111", "1", {"platform": "telegram"}) and query == "4382bfdwdsb323b2d9"
    start = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5}, "text": "/start"}}
    assert parse_telegram_update(start, "bonjour")[0].text == "bonjour"  # type: ignore[union-attr]
    assert parse_telegram_update({"update_id": 2, "channel_post": {}}) == (None, None)
    assert [e.kind for e in parse_messenger_body(fixture("messenger_text.json"))] == ["text"]
    assert parse_messenger_body(fixture("messenger_quick_reply.json"))[0].text == "<DEVELOPER_DEFINED_PAYLOAD>"
    assert [e.kind for e in parse_messenger_body(fixture("messenger_image.json"))] == ["media"]
    assert parse_messenger_body(fixture("messenger_echo_and_read.json")) == []
    assert parse_messenger_body({"object": "instagram", "entry": []}) == []


# --- the simulators ------------------------------------------------------------------------------

SIDS = {"twilio_sid": "ACtestaccount00000000000000000000", "twilio_token": "twilio-auth-token-4410",
        "telegram_token": "123456:telegram-test-token", "graph_token": "page-token-5521"}


@pytest.fixture(scope="module")
def simulators() -> Iterator[PlatformSimulators]:
    sims = PlatformSimulators(**SIDS).start()
    try:
        yield sims
    finally:
        sims.stop()


def test_sender_retries_429_and_5xx_then_delivers(simulators: PlatformSimulators) -> None:
    async def scenario() -> tuple[Any, Any, HttpSender]:
        sender = HttpSender("telegram", base_delay_s=0.01)
        url = f"{simulators.url}/telegram/bot{SIDS['telegram_token']}/sendMessage"
        simulators.fail_next("telegram", 503)
        simulators.fail_next("telegram", 429, headers={"Retry-After": "0"})
        ok = await sender.post(url, "telegram-42", json={"chat_id": 42, "text": "essai"})
        bad = await sender.post(url.replace("sendMessage", "sendMessage"), "telegram-42", json={"chat_id": 42, "text": ""})
        await sender.close()
        return ok, bad, sender

    ok, bad, sender = asyncio.run(scenario())
    assert ok and ok["ok"] is True and simulators.sent("telegram", "42")[-1].text == "essai"
    assert bad is None  # 400: permanent, not retried
    assert sender.stats.retried == 2 and sender.stats.sent == 1 and sender.stats.failed == 1


def test_sender_gives_up_after_its_attempts(simulators: PlatformSimulators) -> None:
    async def scenario() -> tuple[Any, HttpSender]:
        sender = HttpSender("messenger", attempts=3, base_delay_s=0.01)
        simulators.fail_next("messenger", 500, times=3)
        result = await sender.post(f"{simulators.url}/graph/v18.0/me/messages", "messenger-7",
                                   json={"recipient": {"id": "7"}, "message": {"text": "x"}},
                                   params={"access_token": SIDS["graph_token"]})
        await sender.close()
        return result, sender

    result, sender = asyncio.run(scenario())
    assert result is None and sender.stats.failed == 1 and "500" in sender.stats.last_error
    assert sender.stats.report()["status"] == "failing"
    assert simulators.sent("messenger", "7") == []


# --- end to end: one Rasa server with the three connectors -------------------------------------

TELEGRAM_PUBLIC = "https://bot.example.org/webhooks/telegram/webhook"
MESSENGER_MAX = 400  # lowered on purpose: the Messenger conversation also exercises splitting end to end


@dataclass
class Platforms:
    rasa: RasaServer
    sims: PlatformSimulators
    env: dict[str, str]
    log: Path

    def twilio(self, form: dict[str, str], signature: str | None = "sign", url: str = PUBLIC_TWILIO_URL) -> int:
        pairs = list(form.items())
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "sign":
            headers["X-Twilio-Signature"] = twilio_signature(SIDS["twilio_token"], url, pairs)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        status, _, _ = http_request(f"{self.rasa.url}/webhooks/twilio/webhook", "POST",
                                    urllib.parse.urlencode(pairs).encode(), headers)
        return status

    def telegram(self, update: dict[str, Any], secret: str | None = "registered") -> int:
        headers = {"Content-Type": "application/json"}
        if secret == "registered":
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.sims.webhooks["secret_token"]
        elif secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        status, _, _ = http_request(f"{self.rasa.url}/webhooks/telegram/webhook", "POST",
                                    json.dumps(update).encode(), headers)
        return status

    def messenger(self, body: dict[str, Any], header: str | None = "sign", secret: str = "") -> int:
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if header == "sign":
            headers["X-Hub-Signature-256"] = messenger_signature(secret or self.env["FACEBOOK_SECRET"], raw)
        elif header is not None:
            headers[header.split(":")[0]] = header.split(":", 1)[1]
        status, _, _ = http_request(f"{self.rasa.url}/webhooks/facebook/webhook", "POST", raw, headers)
        return status

    def user_texts(self, conversation: str) -> list[str]:
        return [e.get("text") for e in self.rasa.tracker(conversation)["events"] if e["event"] == "user"]


@pytest.fixture(scope="module")
def platforms(simulators: PlatformSimulators, model_path: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platforms]:
    workdir = tmp_path_factory.mktemp("messaging")
    env = {
        **base_env(),
        "TWILIO_ACCOUNT_SID": SIDS["twilio_sid"], "TWILIO_AUTH_TOKEN": SIDS["twilio_token"],
        "TWILIO_WHATSAPP_NUMBER": "+14155238886", "TWILIO_WEBHOOK_URL": PUBLIC_TWILIO_URL,
        "TWILIO_API_BASE_URL": f"{simulators.url}/twilio",
        "TELEGRAM_ACCESS_TOKEN": SIDS["telegram_token"], "TELEGRAM_VERIFY": "oim_test_bot",
        "TELEGRAM_WEBHOOK_URL": TELEGRAM_PUBLIC, "TELEGRAM_SECRET_TOKEN": "tg-secret-0123456789",
        "TELEGRAM_API_BASE_URL": f"{simulators.url}/telegram",
        "FACEBOOK_VERIFY": "fb-verify-token-77", "FACEBOOK_SECRET": "fb-app-secret-99",
        "FACEBOOK_PAGE_ACCESS_TOKEN": SIDS["graph_token"], "FACEBOOK_API_BASE_URL": f"{simulators.url}/graph/v18.0",
        "FACEBOOK_MAX_CHARS": str(MESSENGER_MAX),
        "OIM_MESSAGING_RETRY_BASE_S": "0.05",
    }
    actions = ActionServer(port=free_port(), log_path=workdir / "actions.log")
    endpoints = write_sqlite_endpoints(workdir / "endpoints.yml", actions.url, workdir / "trackers.db")
    rasa = RasaServer(port=free_port(), model=model_path, endpoints=endpoints, log_path=workdir / "rasa.log", env=env)
    try:
        start_all(actions, rasa)
        deadline = time.monotonic() + 30
        while not simulators.webhooks and time.monotonic() < deadline:
            time.sleep(0.2)
        yield Platforms(rasa, simulators, env, workdir / "rasa.log")
    finally:
        stop_all(rasa, actions)


def test_the_effective_credentials_name_our_connectors_and_hold_no_secret(platforms: Platforms) -> None:
    text = platforms.rasa.effective_credentials().read_text()
    for cls in ("whatsapp.WhatsAppInput", "telegram.TelegramSecureInput", "messenger.MessengerSecureInput"):
        assert f"bot.serving.messaging.{cls}:" in text
    for secret in ("TWILIO_AUTH_TOKEN", "TELEGRAM_SECRET_TOKEN", "FACEBOOK_SECRET"):
        assert platforms.env[secret] not in text


def test_telegram_webhook_was_registered_with_a_secret_token(platforms: Platforms) -> None:
    assert platforms.sims.webhooks == {"url": TELEGRAM_PUBLIC, "secret_token": "tg-secret-0123456789",
                                       "allowed_updates": ["message", "edited_message", "callback_query"]}


# The same five turns on every platform: greeting, a menu choice, a question, a person, goodbye.
TURNS = ["bonjour", "<menu 1>", "comment rentrer chez moi depuis la Libye ?", "je veux parler à une personne",
         "merci, au revoir"]


def _assert_shaped(messages: list[Any], limit: int) -> None:
    for message in messages:
        assert 0 < size(message.text) <= limit
        assert not message.text.lstrip().startswith("Source :"), "a source line must not arrive alone"


def _check_conversation(platforms: Platforms, conversation: str, replies: list[list[Any]], limit: int,
                        one_message_per_answer: bool) -> None:
    for turn in replies:
        _assert_shaped(turn, limit)
    first = replies[0]
    assert first[0].text.startswith(TEXTS.notice().split(".")[0])  # first-contact notice, first
    assert TEXTS.menu[0].title in first[0].text or TEXTS.menu[0].title in first[0].buttons
    assert len(first) >= 2  # the notice and the greeting
    assert all(TEXTS.notice()[:40] not in m.text for turn in replies[1:] for m in turn)  # once per conversation
    answer = "\n".join(m.text for m in replies[1])
    assert "Source :" in answer and "OIM" in answer
    tracker = platforms.rasa.tracker(conversation)
    if one_message_per_answer:  # each bot utterance of Rasa arrives whole, as one message
        bot_texts = [e["text"] for e in tracker["events"] if e["event"] == "bot" and e.get("text")]
        assert [m.text for turn in replies for m in turn][1:] == bot_texts
        assert len(replies[1]) == 1 and "\n\nSource :" in replies[1][0].text  # not split at blank lines
    assert "Source :" in "\n".join(m.text for m in replies[2]) and "Libye" in "\n".join(m.text for m in replies[2])
    intents = [e["parse_data"]["intent"]["name"] for e in tracker["events"] if e["event"] == "user"]
    texts = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert len(intents) == 5
    assert texts[1] == TEXTS.menu[0].payload  # the number (or button) became the menu's question
    assert intents[:4] == ["greet", "ask_iom_identity", "ask_voluntary_return", "ask_human"]
    assert intents[4] in {"thanks", "goodbye"}
    assert tracker["slots"]["handoff_requested"] is True
    assert tracker["latest_input_channel"] in {"twilio", "telegram", "facebook"}


def test_whatsapp_five_turns(platforms: Platforms) -> None:
    sims, user = platforms.sims, "whatsapp:+33611111111"
    replies = []
    for i, text in enumerate(TURNS):
        form = {**fixture("twilio_whatsapp_text.json"), "From": user, "WaId": user[10:],
                "Body": "1" if text == "<menu 1>" else text, "MessageSid": f"SM{i:032d}"}
        before = len(sims.sent("whatsapp", user))
        assert platforms.twilio(form) == 200
        replies.append(sims.wait_sent("whatsapp", user, before, minimum=2 if i == 0 else 1))
    assert replies[0][0].text.endswith("Répondez 1, 2 ou 3.")  # the menu as a numbered list
    assert "\n1. " + TEXTS.menu[0].title in replies[0][0].text
    assert all(m.raw["From"] == "whatsapp:+14155238886" for turn in replies for m in turn)
    _check_conversation(platforms, "whatsapp-+33611111111", replies, LIMITS["whatsapp"], True)


def test_telegram_five_turns(platforms: Platforms) -> None:
    sims, chat = platforms.sims, "2222222"
    replies = []
    answered = len(sims.callback_answers)
    for i, text in enumerate(TURNS):
        if text == "<menu 1>":
            update = fixture("telegram_update_callback.json")
            update["callback_query"]["message"]["chat"]["id"] = int(chat)
        else:
            update = fixture("telegram_update_text.json")
            update["message"].update(text=text, chat={"id": int(chat), "type": "private"})
        update["update_id"] = 20000 + i
        before = len(sims.sent("telegram", chat))
        assert platforms.telegram(update) == 200
        replies.append(sims.wait_sent("telegram", chat, before, minimum=2 if i == 0 else 1))
    assert replies[0][0].buttons == [choice.title for choice in TEXTS.menu]  # inline keyboard
    assert len(sims.callback_answers) == answered + 1  # the button press was acknowledged
    _check_conversation(platforms, f"telegram-{chat}", replies, LIMITS["telegram"], True)


def test_messenger_five_turns_split_under_a_lowered_limit(platforms: Platforms) -> None:
    sims, psid = platforms.sims, "3333333333"
    replies = []
    for i, text in enumerate(TURNS):
        body = fixture("messenger_quick_reply.json" if text == "<menu 1>" else "messenger_text.json")
        event = body["entry"][0]["messaging"][0]
        event["sender"]["id"] = psid
        if text == "<menu 1>":
            event["message"].update(text=TEXTS.menu[0].title, quick_reply={"payload": "1"})
        else:
            event["message"]["text"] = text
        event["message"]["mid"] = f"m_{i}"
        before = len(sims.sent("messenger", psid))
        assert platforms.messenger(body) == 200
        replies.append(sims.wait_sent("messenger", psid, before, minimum=2 if i == 0 else 1))
    assert replies[0][0].buttons == [choice.title for choice in TEXTS.menu]  # quick replies
    assert all(m.raw["messaging_type"] == "RESPONSE" for turn in replies for m in turn)
    _check_conversation(platforms, f"messenger-{psid}", replies, MESSENGER_MAX, False)
    assert any(len(turn) > 1 for turn in replies[1:3]), "an answer over 400 characters is split"


def test_forged_twilio_webhooks_get_403_and_touch_nothing(platforms: Platforms) -> None:
    sims, user = platforms.sims, "whatsapp:+33644444444"
    form = {**fixture("twilio_whatsapp_text.json"), "From": user, "Body": "bonjour"}
    assert platforms.twilio(form, signature=None) == 403
    assert platforms.twilio(form, signature="bm90IGEgc2lnbmF0dXJl") == 403
    local_url = f"{platforms.rasa.url}/webhooks/twilio/webhook"  # signed for another URL than the public one
    assert platforms.twilio(form, url=local_url) == 403
    pairs = list(form.items())
    signed = twilio_signature(SIDS["twilio_token"], PUBLIC_TWILIO_URL, pairs)
    assert platforms.twilio({**form, "Body": "autre texte"}, signature=signed) == 403  # body changed after signing
    time.sleep(1.5)
    assert sims.sent("whatsapp", user) == []
    assert platforms.user_texts("whatsapp-+33644444444") == []


def test_forged_telegram_updates_get_403_and_touch_nothing(platforms: Platforms) -> None:
    update = fixture("telegram_update_text.json")
    update["message"].update(text="bonjour", chat={"id": 4444444, "type": "private"})
    assert platforms.telegram(update, secret=None) == 403
    assert platforms.telegram(update, secret="tg-secret-0123456788") == 403
    time.sleep(1.5)
    assert platforms.sims.sent("telegram", "4444444") == []
    assert platforms.user_texts("telegram-4444444") == []


def test_forged_messenger_webhooks_get_403_and_touch_nothing(platforms: Platforms) -> None:
    import hashlib
    import hmac

    body = fixture("messenger_text.json")
    body["entry"][0]["messaging"][0]["sender"]["id"] = "4444444444"
    raw = json.dumps(body).encode()
    legacy = "sha1=" + hmac.new(platforms.env["FACEBOOK_SECRET"].encode(), raw, hashlib.sha1).hexdigest()
    assert platforms.messenger(body, header=None) == 403
    assert platforms.messenger(body, header=f"X-Hub-Signature:{legacy}") == 403  # Rasa's stock check accepted this
    assert platforms.messenger(body, secret="not-the-app-secret") == 403
    time.sleep(1.5)
    assert platforms.sims.sent("messenger", "4444444444") == []
    assert platforms.user_texts("messenger-4444444444") == []


def test_messenger_webhook_verification(platforms: Platforms) -> None:
    base = f"{platforms.rasa.url}/webhooks/facebook/webhook?hub.mode=subscribe&hub.challenge=1158201444"
    status, _, body = http_request(base + "&hub.verify_token=fb-verify-token-77")
    assert (status, body) == (200, b"1158201444")
    assert http_request(base + "&hub.verify_token=wrong")[0] == 403


def test_media_and_odd_events_get_the_text_only_reply_without_touching_the_conversation(platforms: Platforms) -> None:
    sims = platforms.sims
    cases = []
    for name in ("twilio_whatsapp_voice.json", "twilio_whatsapp_location.json"):
        user = f"whatsapp:+3365555555{len(cases)}"
        form = {**fixture(name), "From": user}
        before = len(sims.sent("whatsapp", user))
        assert platforms.twilio(form) == 200
        cases.append(("media", sims.wait_sent("whatsapp", user, before), f"whatsapp-{user[9:]}"))
    for name in ("voice", "sticker", "edited"):
        chat = 5555550 + len(cases)
        update = fixture(f"telegram_update_{name}.json")
        (update.get("message") or update.get("edited_message"))["chat"]["id"] = chat
        assert platforms.telegram(update) == 200
        kind = "edited" if name == "edited" else "media"
        cases.append((kind, sims.wait_sent("telegram", str(chat), 0), f"telegram-{chat}"))
    body = fixture("messenger_image.json")
    body["entry"][0]["messaging"][0]["sender"]["id"] = "5555555555"
    assert platforms.messenger(body) == 200
    cases.append(("media", sims.wait_sent("messenger", "5555555555", 0), "messenger-5555555555"))
    for kind, sent, conversation in cases:
        assert len(sent) == 1, conversation
        expected = TEXTS.media if kind == "media" else TEXTS.edited
        assert sent[0].text.startswith(expected), (conversation, sent[0].text)
        assert platforms.user_texts(conversation) == []


def test_echoes_and_read_receipts_get_no_reply(platforms: Platforms) -> None:
    body = fixture("messenger_echo_and_read.json")
    body["entry"][0]["messaging"][1]["sender"]["id"] = "6666666666"
    body["entry"][0]["messaging"][0]["recipient"]["id"] = "6666666666"
    assert platforms.messenger(body) == 200
    time.sleep(1.5)
    assert platforms.sims.sent("messenger", "6666666666") == []


def test_a_platform_failing_twice_still_gets_the_answer(platforms: Platforms) -> None:
    sims, chat = platforms.sims, "7777777"
    sims.fail_next("telegram", 503)
    sims.fail_next("telegram", 429, headers={"Retry-After": "0"})
    calls = len([r for r in sims.requests if r == ("telegram", "sendMessage")])
    update = fixture("telegram_update_text.json")
    update["message"].update(text="c'est quoi l'OIM ?", chat={"id": int(chat), "type": "private"})
    assert platforms.telegram(update) == 200
    sent = sims.wait_sent("telegram", chat, 0, minimum=2)
    assert sent[0].text.startswith(TEXTS.notice()[:30]) and "Source :" in sent[1].text
    assert len([r for r in sims.requests if r == ("telegram", "sendMessage")]) >= calls + 4  # 2 refused + 2 sent
    assert len(platforms.user_texts(f"telegram-{chat}")) == 1  # one turn, whatever the retries


def test_a_typed_command_is_not_an_intent(platforms: Platforms) -> None:
    sims, chat = platforms.sims, "8888888"
    update = fixture("telegram_update_text.json")
    update["message"].update(text='/ask_contact{"contact_target": "press"}', chat={"id": int(chat), "type": "private"})
    assert platforms.telegram(update) == 200
    sims.wait_sent("telegram", chat, 0, minimum=2)
    assert platforms.user_texts(f"telegram-{chat}") == ['ask_contact{"contact_target": "press"}']


def test_conversation_ids_cannot_collide_with_the_web_ones(platforms: Platforms) -> None:
    ids = ["whatsapp-+33611111111", "telegram-2222222", "messenger-3333333333"]
    for conversation in ids:
        assert not conversation.startswith("web-") and len(platforms.user_texts(conversation)) == 5


def test_phone_numbers_stay_out_of_the_log(platforms: Platforms) -> None:
    log = platforms.log.read_text(encoding="utf-8", errors="replace")
    assert "33611111111" not in log and "33644444444" not in log
    assert "refused" in log  # the forged requests were logged, without the numbers


def test_a_slow_platform_does_not_slow_down_other_conversations(platforms: Platforms) -> None:
    """Sends are awaited on aiohttp: while Telegram takes 4 s per message, the REST channel of the
    same Rasa server still answers at its usual speed (a blocking client would stall it)."""
    sims, chat = platforms.sims, "9999999"
    platforms.rasa.texts("web-warmup-messaging", "bonjour")
    sims.delays["telegram"] = 4.0
    try:
        update = fixture("telegram_update_text.json")
        update["message"].update(text="bonjour", chat={"id": int(chat), "type": "private"})
        started = time.monotonic()
        assert platforms.telegram(update) == 200
        assert time.monotonic() - started < 2  # the webhook is acknowledged at once
        time.sleep(1.0)  # the notice is now being sent, slowly
        before = time.monotonic()
        assert platforms.rasa.texts("web-during-slow-send", "c'est quoi l'OIM ?")
        assert time.monotonic() - before < 3.5, "the REST answer waited for Telegram"
        sent = sims.wait_sent("telegram", chat, 0, minimum=2, timeout_s=60)
        assert sent[1].at - started >= 8  # two sends of 4 s each, one after the other
    finally:
        sims.delays.clear()


async def _messaging_states(rasa_url: str) -> dict[str, str]:
    from bot.serving.web.health import check_messaging

    async with aiohttp.ClientSession() as session:
        return await check_messaging(session, rasa_url)


async def _staff_queue(rasa_url: str, workdir: Path) -> tuple[str, dict[str, Any]]:
    """The queue page and its JSON, from the web service in process in front of this Rasa."""
    from tests.web_app import STAFF_TOKEN, config_for, sqlite_endpoints, start_client

    folder = workdir / "staff-web"
    folder.mkdir(exist_ok=True)
    client = await start_client(config_for(rasa_url, "http://127.0.0.1:9", sqlite_endpoints(folder)))
    try:
        bearer = {"Authorization": f"Bearer {STAFF_TOKEN}"}
        login = await client.post("/staff/login", data={"token": STAFF_TOKEN}, allow_redirects=False)
        assert login.status == 303  # the session cookie stays in the client's jar
        page = await (await client.get("/staff/queue")).text()
        listed = await (await client.get("/api/staff/queue", headers=bearer)).json()
        return page, listed
    finally:
        await client.close()


def test_a_send_failing_for_good_shows_on_the_connector_health_route(platforms: Platforms) -> None:
    sims, psid = platforms.sims, "1212121212"
    health = f"{platforms.rasa.url}/webhooks/facebook/"
    sims.fail_next("messenger", 500, times=8)  # notice and answer: 4 attempts each
    body = fixture("messenger_text.json")
    body["entry"][0]["messaging"][0]["sender"]["id"] = psid
    body["entry"][0]["messaging"][0]["message"]["text"] = "bonjour"
    assert platforms.messenger(body) == 200
    deadline = time.monotonic() + 60
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        report = json.loads(http_request(health)[2])
        if report["failed"] >= 2:
            break
        time.sleep(0.3)
    assert report["status"] == "failing" and "500" in report["last_error"]
    # The web service's /health shows it too (informational: the other channels still answer).
    assert asyncio.run(_messaging_states(platforms.rasa.url)) == {
        "whatsapp": "ok", "telegram": "ok", "messenger": "failing"}
    # ... and the staff console's queue, where staff look (page and JSON).
    page, listed = asyncio.run(_staff_queue(platforms.rasa.url, platforms.log.parent))
    assert "Les envois vers Messenger échouent" in page and "WhatsApp" not in page.split("échouent")[0]
    assert listed["messaging"]["messenger"] == "failing"
    assert sims.sent("messenger", psid) == []
    log = platforms.log.read_text(encoding="utf-8", errors="replace")
    assert "messenger: message to messenger-[téléphone] not delivered: HTTP 500" in log  # logged, redacted
    assert psid not in log
    body["entry"][0]["messaging"][0]["message"].update(text="merci", mid="m_again")
    assert platforms.messenger(body) == 200
    sims.wait_sent("messenger", psid, 0)
    assert json.loads(http_request(health)[2])["status"] == "ok"  # the next delivered send clears it
