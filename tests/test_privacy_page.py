"""The privacy page (GET /confidentialite) and the links to it (web chat, messaging notice), in process.

The page: French, public, cacheable, with the security headers of the other public pages, no script
or form, and the retention the purge really uses (change the setting, the number changes). The
messaging connectors link their first-contact notice to <OIM_PUBLIC_URL>/confidentialite when
OIM_PRIVACY_URL is not set: checked with a WhatsApp connector sending to the local platform
simulator (tests/simulators), its turn run in process (no Rasa server).
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.serving.web.privacy import PRIVACY_PATH, format_days, privacy_texts, retention_sentence
from tests.web_app import FakeRasa, config_for, sqlite_endpoints, start_client

PUBLIC = "https://assistant.example.org"


async def _client(fake_rasa: FakeRasa, folder: Path, **fields: Any) -> TestClient:
    return await start_client(config_for(fake_rasa.url, fake_rasa.url, sqlite_endpoints(folder), **fields))


@pytest.fixture()
async def client(fake_rasa: FakeRasa, tmp_path: Path) -> AsyncIterator[TestClient]:
    web = await _client(fake_rasa, tmp_path, retention_days=30)
    try:
        yield web
    finally:
        await web.close()


def _visible(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_the_page_is_french_public_cacheable_and_says_what_it_must(client: TestClient) -> None:
    response = await client.get(PRIVACY_PATH)  # no cookie, no token
    page = await response.text()
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in page and "charset=utf-8" in response.headers["content-type"]
    cache = response.headers["cache-control"]
    assert "public" in cache and "max-age=" in cache and "no-store" not in cache
    text = _visible(page)
    for must in ("assistant automatique", "pages publiques de l'OIM", "30 jours", "console",
                 "parler à une personne", "numéros de téléphone et les adresses e-mail sont masqués",
                 "passeport", "adresse", "politique de protection des données de l'OIM"):
        assert must in text, must
    assert 'href="/"' in page


async def test_the_retention_shown_is_the_purge_setting(fake_rasa: FakeRasa, tmp_path: Path) -> None:
    for days, shown in ((7, "7 jours"), (1, "1 jour"), (0.5, "0,5 jour"), (90, "90 jours")):
        folder = tmp_path / str(days)
        folder.mkdir()
        web = await _client(fake_rasa, folder, retention_days=days)
        try:
            text = _visible(await (await web.get(PRIVACY_PATH)).text())
        finally:
            await web.close()
        assert f"dernier message date de plus de {shown}." in text, (days, text)
    web = await _client(fake_rasa, tmp_path, retention_days=0)  # 0: the purge never runs
    try:
        text = _visible(await (await web.get(PRIVACY_PATH)).text())
    finally:
        await web.close()
    assert "ne sont pas effacées automatiquement" in text and "dernier message date de plus de" not in text


def test_with_redis_the_retention_is_redis_expiry(tmp_path: Path) -> None:
    """Redis expires conversations itself (no purge): the page shows REDIS's record_exp, in days."""
    endpoints = tmp_path / "endpoints.redis.yml"
    endpoints.write_text("tracker_store:\n  type: redis\n  url: localhost\n  record_exp: 172800\n", encoding="utf-8")
    config = config_for("http://127.0.0.1:1", "http://127.0.0.1:1", endpoints, retention_days=30)
    assert retention_sentence(config).endswith("plus de 2 jours.")
    endpoints = tmp_path / "endpoints.redis-no-expiry.yml"
    endpoints.write_text("tracker_store:\n  type: redis\n  url: localhost\n", encoding="utf-8")
    other = config_for("http://127.0.0.1:1", "http://127.0.0.1:2", endpoints, retention_days=30)
    assert "ne sont pas effacées automatiquement" in retention_sentence(other)
    assert (format_days(30.0), format_days(1.5)) == ("30", "1,5")


async def test_no_script_no_form_no_external_resource_and_no_user_data(client: TestClient, fake_rasa: FakeRasa) -> None:
    # A conversation exists with personal data in it: none of it may reach the page.
    await client.post("/api/chat", data=b'{"sender": "privacy-test-0001", "message": "mon numero 0612345678"}',
                      headers={"Content-Type": "application/json"})
    response = await client.get(PRIVACY_PATH, params={"q": "<script>alert(1)</script>"})
    page = await response.text()
    assert "<script" not in page.lower() and "<form" not in page.lower()
    assert not re.search(r"<[^>]+\son\w+\s*=", page), "no event handler attribute"
    assert "alert(1)" not in page and "0612345678" not in page and "privacy-test" not in page
    assert "http://" not in page and "https://" not in page  # no CDN, no invented IOM URL
    assert "style=" not in page  # the CSP forbids inline styles


def test_every_text_comes_from_the_yaml_and_has_no_placeholder_left() -> None:
    texts = privacy_texts()
    assert len(texts["sections"]) >= 6
    assert all(section["heading"] and section["paragraphs"] for section in texts["sections"])


async def test_security_headers_and_head(client: TestClient) -> None:
    for method in ("GET", "HEAD"):
        response = await client.request(method, PRIVACY_PATH)
        assert response.status == 200, method
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        if method == "HEAD":
            assert await response.read() == b""
    response = await client.post(PRIVACY_PATH, data=b"")
    assert response.status == 405


async def test_the_page_renders_every_placeholder(client: TestClient) -> None:
    page = await (await client.get(PRIVACY_PATH)).text()
    assert "{" not in _visible(page) and "}" not in _visible(page)


async def test_the_chat_page_links_to_the_privacy_page(client: TestClient) -> None:
    page = await (await client.get("/")).text()
    assert f'href="{PRIVACY_PATH}"' in page
    assert (await client.get(PRIVACY_PATH)).status == 200


def test_the_public_url_setting_is_checked(tmp_path: Path) -> None:
    from bot.serving.web.config import ConfigError, WebConfig

    env = {"OIM_ENDPOINTS": str(sqlite_endpoints(tmp_path)), "OIM_PUBLIC_URL": PUBLIC + "/"}
    assert WebConfig.from_env(env).public_url == PUBLIC
    with pytest.raises(ConfigError, match="OIM_PUBLIC_URL"):
        WebConfig.from_env({**env, "OIM_PUBLIC_URL": "assistant.example.org"})


# --- the messaging notice -------------------------------------------------------------------------

def test_the_notice_link_defaults_to_the_page_under_the_public_url() -> None:
    from bot.serving.messaging.base import PRIVACY_PATH as MESSAGING_PATH
    from bot.serving.messaging.base import privacy_link

    assert MESSAGING_PATH == PRIVACY_PATH  # the connectors link to the page this service serves
    assert privacy_link({"OIM_PUBLIC_URL": PUBLIC + "/"}) == PUBLIC + PRIVACY_PATH
    assert privacy_link({"OIM_PUBLIC_URL": PUBLIC, "OIM_PRIVACY_URL": "https://x.example/p"}) == "https://x.example/p"
    assert privacy_link({}) == "" and privacy_link({"OIM_PUBLIC_URL": "ftp://x"}) == ""


async def test_a_first_contact_notice_carries_the_public_privacy_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain

    from bot.serving.messaging.base import Incoming
    from bot.serving.messaging.whatsapp import WhatsAppInput
    from tests.simulators.platforms import PlatformSimulators

    sid, token = "ACprivacy000000000000000000000000", "privacy-auth-token"
    monkeypatch.delenv("OIM_PRIVACY_URL", raising=False)
    monkeypatch.setenv("OIM_PUBLIC_URL", PUBLIC)
    sims = PlatformSimulators(sid, token, "1:telegram", "graph").start()
    try:
        connector = WhatsAppInput(sid, token, "+14155238886", webhook_url=PUBLIC + "/webhooks/twilio/webhook",
                                  api_base_url=sims.url + "/twilio", retry_base_s=0.01)
        agent = type("Agent", (), {"tracker_store": InMemoryTrackerStore(Domain.empty())})()

        async def rasa(message: Any) -> None:  # Rasa's answer, through the connector's output channel
            await message.output_channel.send_text_message(message.sender_id, "Bonjour !")

        try:
            await connector.turn(rasa, agent, Incoming("text", "+33600000001", "bonjour"))
        finally:
            await connector.sender.close()
        sent = sims.sent("whatsapp", "whatsapp:+33600000001")
    finally:
        sims.stop()
    assert len(sent) == 2 and sent[1].text == "Bonjour !"
    assert f"{PUBLIC}/confidentialite" in sent[0].text and "données personnelles" in sent[0].text


async def test_two_quick_messages_of_a_new_conversation_get_one_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user who sends a second message before the first turn is saved: the turns of one
    conversation run one after the other in the connector, so the second sees the first saved and
    the first-contact notice is sent once (it was sent twice: benchmarks/messaging_load.py)."""
    import asyncio

    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.serving.messaging.base import Incoming
    from bot.serving.messaging.whatsapp import WhatsAppInput
    from tests.simulators.platforms import PlatformSimulators

    sid, token = "ACquick00000000000000000000000000", "quick-auth-token"
    sims = PlatformSimulators(sid, token, "1:telegram", "graph").start()
    store = InMemoryTrackerStore(Domain.empty())
    try:
        connector = WhatsAppInput(sid, token, "+14155238886", webhook_url=PUBLIC + "/webhooks/twilio/webhook",
                                  api_base_url=sims.url + "/twilio", retry_base_s=0.01)
        agent = type("Agent", (), {"tracker_store": store})()

        async def rasa(message: Any) -> None:  # a turn that takes a while, then is saved, as Rasa's
            await asyncio.sleep(0.3)
            tracker = await store.retrieve(message.sender_id) or DialogueStateTracker(message.sender_id, [])
            tracker.update(UserUttered(message.text))
            await store.save(tracker)
            await message.output_channel.send_text_message(message.sender_id, f"réponse à {message.text}")

        try:
            await asyncio.gather(*(connector.turn(rasa, agent, Incoming("text", "+33600000002", text))
                                   for text in ("bonjour", "retour volontaire")))
        finally:
            await connector.sender.close()
        sent = [m.text for m in sims.sent("whatsapp", "whatsapp:+33600000002")]
    finally:
        sims.stop()
    notices = [text for text in sent if "données personnelles" in text]
    assert len(notices) == 1, sent
    assert sum(text.startswith("réponse à") for text in sent) == 2
