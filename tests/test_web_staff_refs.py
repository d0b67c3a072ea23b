"""Staff console URLs name conversations by an opaque reference, never by their id (issue 16).

A WhatsApp conversation id is the person's phone number: in a URL it would land in browser history,
proxies' and access logs and Referer headers. In process: the real application over a real SQLite
store written with Rasa's own classes, a fake Rasa recording what it is sent (tests/web_app.py).
"""

from __future__ import annotations

import base64
import html
import re
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.serving.tracker_stores import open_tracker_store
from bot.serving.web.conversation_refs import ConversationRefs
from bot.serving.web.inbox_views import INBOX_PROJECT
from tests.project_copy import copy_project
from tests.test_staff_queue_dashboard import NOW, action, asked_human, bot, save_all, slot, start, user
from tests.web_app import (
    STAFF_TOKEN,
    FakeRasa,
    config_for,
    conversation_url,
    ref,
    sqlite_endpoints,
    start_client,
)

WHATSAPP = "whatsapp-+33612345678"
BARE_PHONE = "+33612345678"
WEB = "web-aaaabbbb1"
BEARER = {"Authorization": f"Bearer {STAFF_TOKEN}"}
# Every way the number could appear in an href or action: as is, URL-quoted, digits, base64 of the id.
RAW_FORMS = ("+336", "%2B336", "33612345678", "612345678", "whatsapp-", "whatsapp%2D",
             base64.urlsafe_b64encode(WHATSAPP.encode()).decode()[:12],
             base64.urlsafe_b64encode(f'"{WHATSAPP}"'.encode()).decode()[:12])
LINK = re.compile(r"""(?:href|action|src|formaction)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def fell_back(text: str, at: float) -> list[dict[str, Any]]:
    """Two messages in a row the NLU did not understand: in the queue and in the maintainers' inbox."""
    return [*start(at - 5), user(text, at - 4, "nlu_fallback"), action("action_search_fallback", at - 3),
            user(text + " svp", at - 2, "nlu_fallback"), action("action_search_fallback", at - 1),
            bot("Je n'ai pas cette information.", at - 1), action("action_listen", at)]


def conversations() -> dict[str, list[dict[str, Any]]]:
    handled_one = [*asked_human("rappelez-moi au 06 12 34 56 78", NOW - 900),
                   slot("staff_handled", {"by": "Awa", "at": NOW - 800}, NOW - 800)]
    return {
        WHATSAPP: asked_human("je veux parler à quelqu'un, mon numéro 06 12 34 56 78", NOW - 600),
        BARE_PHONE: fell_back("le billet d'avion coute combien", NOW - 500),
        "whatsapp-+33699887766": handled_one,
        WEB: fell_back("xqzt ticket", NOW - 400),
    }


@pytest.fixture()
async def client(tmp_path: Path, fake_rasa: FakeRasa) -> AsyncIterator[TestClient]:
    endpoints = sqlite_endpoints(tmp_path)
    await save_all(open_tracker_store(endpoints), conversations())
    config = config_for(fake_rasa.url, fake_rasa.url, endpoints, rasa_token="rasa-api-token")
    web_client = await start_client(config)
    web_client.app[INBOX_PROJECT] = copy_project(tmp_path / "project")  # type: ignore[index]
    try:
        yield web_client
    finally:
        await web_client.close()


def links(page: str) -> list[str]:
    return [html.unescape(value) for value in LINK.findall(page)]


def assert_no_raw_id(page: str, where: str) -> None:
    for value in links(page):
        decoded = urllib.parse.unquote(value)
        for form in RAW_FORMS:
            assert form not in value and form not in decoded, (where, value)


# --- the reference itself ------------------------------------------------------------------------

def test_a_reference_hides_the_id_and_only_its_token_reads_it() -> None:
    refs = ConversationRefs(STAFF_TOKEN)
    made = refs.ref(WHATSAPP)
    assert made == refs.ref(WHATSAPP) and made != refs.ref(BARE_PHONE)  # one link per conversation
    assert re.fullmatch(r"[A-Za-z0-9_-]+", made)  # nothing to quote in a URL
    assert refs.sender_id(made) == WHATSAPP
    assert not any(form in made for form in RAW_FORMS)
    assert not any(form in base64.urlsafe_b64decode(made + "==").decode("latin-1") for form in ("+336", "whatsapp"))
    other = ConversationRefs("another-staff-token-0123456789")
    assert other.sender_id(made) is None and other.ref(WHATSAPP) != made  # a new token: old links are dead
    flipped = made[:-2] + ("A" if made[-2] != "A" else "B") + made[-1]
    for forged in (flipped, made[:-1], made + "A", "", "x", WHATSAPP, BARE_PHONE, "%2B33612345678", "../queue",
                   "A" * 2000, base64.urlsafe_b64encode(WHATSAPP.encode()).decode().rstrip("=")):
        assert refs.sender_id(forged) is None, forged


# --- the pages -----------------------------------------------------------------------------------

async def test_no_staff_page_puts_a_raw_conversation_id_in_a_link_or_form(client: TestClient) -> None:
    pages = ["/staff", "/staff?q=retour+volontaire", "/staff/knowledge", "/staff/queue", "/staff/queue?handled=1",
             "/staff/dashboard", "/staff/dashboard?jours=30", "/staff/inbox", "/staff/inbox?below=1",
             "/staff/ask"]
    pages += [conversation_url(sender) + suffix for sender in conversations() for suffix in ("", "?show=1")]
    for path in pages:
        response = await client.get(path, headers=BEARER)
        page = await response.text()
        assert response.status == 200, (path, response.status)
        assert_no_raw_id(page, path)
    queue = await (await client.get("/staff/queue?handled=1", headers=BEARER)).text()
    for sender in conversations():  # every conversation of the queue is linked, by its reference
        assert f'href="{conversation_url(sender)}"' in queue, sender
    assert f'action="{conversation_url(WHATSAPP)}/handled"' in queue
    transcript = await (await client.get(conversation_url(WHATSAPP), headers=BEARER)).text()
    assert f'action="{conversation_url(WHATSAPP)}/reply"' in transcript
    assert f'action="{conversation_url(WHATSAPP)}"' in transcript  # "show the contact details"
    assert BARE_PHONE not in transcript and "whatsapp-[téléphone]" in transcript  # the heading is redacted
    inbox = await (await client.get("/staff/inbox", headers=BEARER)).text()
    assert f'href="{conversation_url(WEB)}"' in inbox


async def test_the_queue_api_gives_the_reference_scripts_put_in_the_path(client: TestClient) -> None:
    data = await (await client.get("/api/staff/queue?handled=1", headers=BEARER)).json()
    refs = {c["sender_id"]: c["ref"] for c in data["conversations"]}
    assert refs[WHATSAPP] == ref(WHATSAPP) and set(refs) == set(conversations())
    handoffs = await (await client.get("/api/staff/handoffs", headers=BEARER)).json()
    assert {c["sender_id"]: c["ref"] for c in handoffs["conversations"]}[WHATSAPP] == ref(WHATSAPP)
    response = await client.get(f"/api/staff/conversations/{refs[WHATSAPP]}", headers=BEARER)
    data = await response.json()
    assert response.status == 200 and data["sender_id"] == WHATSAPP and data["ref"] == refs[WHATSAPP]


async def test_handled_and_reply_redirect_to_the_reference(client: TestClient, fake_rasa: FakeRasa) -> None:
    response = await client.post(conversation_url(WHATSAPP) + "/handled", data={"back": "conversation"},
                                 headers=BEARER, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == conversation_url(WHATSAPP)
    response = await client.post(conversation_url(WHATSAPP) + "/reply", data={"text": "Bonjour"}, headers=BEARER,
                                 allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == conversation_url(WHATSAPP) + "#reponse-envoyee"
    assert [sender for sender, _, _ in fake_rasa.events] == [WHATSAPP, WHATSAPP]  # Rasa gets the real id


async def test_a_forged_or_raw_reference_is_a_clear_404_never_a_500(client: TestClient, fake_rasa: FakeRasa) -> None:
    made = ref(WHATSAPP)
    forged = [made[:-1] + ("A" if made[-1] != "A" else "B"), ref(WHATSAPP, "another-staff-token-0123456789"),
              urllib.parse.quote(WHATSAPP, safe=""), urllib.parse.quote(BARE_PHONE, safe=""), "web-aaaabbbb1",
              "%3Cscript%3E", "A" * 3000, "%C3%A9t%C3%A9", "%00"]
    for value in forged:
        response = await client.get(f"/staff/conversations/{value}", headers=BEARER)
        page = await response.text()
        assert response.status == 404, (value, response.status)
        assert "Lien de conversation invalide" in page and "File d'attente" in page, value
        for method, suffix, kwargs in (("POST", "/handled", {"data": {"back": "queue"}}),
                                       ("POST", "/reply", {"data": {"text": "Bonjour"}})):
            response = await client.request(method, f"/staff/conversations/{value}{suffix}", headers=BEARER,
                                            allow_redirects=False, **kwargs)
            assert response.status == 404 and "Lien de conversation invalide" in await response.text(), (value, suffix)
        for method, suffix, body in (("GET", "", None), ("POST", "/handled", {"by": "x"}),
                                     ("POST", "/reply", {"text": "Bonjour"})):
            response = await client.request(method, f"/api/staff/conversations/{value}{suffix}", headers=BEARER,
                                            json=body)
            assert response.status == 404, (value, suffix, response.status)
            assert (await response.json())["error"] == "invalid_conversation_ref"
    assert fake_rasa.events == []  # nothing was appended to any conversation
    # Without the token a forged reference gets the login form, as every console page (nothing to learn).
    response = await client.get(f"/staff/conversations/{forged[0]}")
    assert response.status == 200 and 'name="token"' in await response.text()
