"""The web chat and the staff console in real headless Chromium, on a phone-sized screen.

Screenshots go to tests/screenshots/ (git-ignored) for a human look.
"""

from __future__ import annotations

import pytest

from tests.conftest import SCREENSHOTS, WEB_STAFF_TOKEN
from tests.stack import WebServer

ANSWER_TIMEOUT_MS = 60_000

pytest.importorskip("playwright.sync_api")  # the `browser` and `phone` fixtures: tests/conftest.py


def test_migrant_asks_what_the_oim_is(web_service: WebServer, phone) -> None:
    page = phone
    page.goto(web_service.url + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_label("Votre message").fill("c'est quoi l'OIM ?")
    page.get_by_role("button", name="Envoyer").click()

    page.locator("li.message.bot").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator("#typing").wait_for(state="hidden", timeout=ANSWER_TIMEOUT_MS)  # every message shown
    page.wait_for_timeout(800)  # smooth scroll to the latest message
    page.screenshot(path=str(SCREENSHOTS / "chat-phone.png"), full_page=False)
    answers = page.locator("li.message.bot")
    text = "\n".join(answers.all_inner_texts())
    assert "OIM" in text
    source = answers.locator("p.source")
    assert source.count() >= 1, text
    assert source.first.inner_text().startswith("Source :") and source.first.is_visible()

    # Touch targets are large enough for a thumb.
    for selector in ("#send", ".suggestion", "#reset", "#message"):
        box = page.locator(selector).first.bounding_box()
        assert box and box["height"] >= 44, selector
    assert page.problems == []


def test_typed_markup_stays_text_and_the_conversation_id_is_kept(web_service: WebServer, phone) -> None:
    page = phone
    page.goto(web_service.url + "/")
    page.get_by_label("Votre message").fill('<img src=x onerror="window.__xss=1"><b>gras</b>')
    page.keyboard.press("Enter")
    mine = page.locator("li.message.user").first
    mine.wait_for()
    assert "<b>gras</b>" in mine.inner_text()
    assert mine.locator("img, b").count() == 0
    page.locator("li.message.bot").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert page.evaluate("window.__xss") is None

    sender = page.evaluate("localStorage.getItem('oim-chat-sender')")
    assert sender
    page.reload()
    assert page.evaluate("localStorage.getItem('oim-chat-sender')") == sender
    page.get_by_role("button", name="Nouvelle conversation").click()
    assert page.evaluate("localStorage.getItem('oim-chat-sender')") is None


def test_empty_message_is_refused_on_the_page(web_service: WebServer, phone) -> None:
    page = phone
    page.goto(web_service.url + "/")
    page.get_by_role("button", name="Envoyer").click()
    assert page.locator("#form-error").inner_text().startswith("Écrivez votre question")
    assert page.locator("li.message").count() == 0


def test_staff_logs_in_and_searches(web_service: WebServer, phone) -> None:
    page = phone
    page.goto(web_service.url + "/staff")
    page.get_by_label("Jeton du personnel").fill(WEB_STAFF_TOKEN)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("Mots recherchés").fill("retour volontaire")
    page.get_by_role("button", name="Rechercher").click()

    first = page.locator("li.hit").first
    first.wait_for()
    text = first.inner_text()
    assert "Source :" in text and "passage" in text and "score" in text
    assert first.locator("mark").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "staff-search-phone.png"), full_page=False)

    page.get_by_role("link", name="Fiches et contacts").click()
    page.locator("article.entry").first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "staff-knowledge-phone.png"), full_page=False)
    assert page.problems == []


def test_visitor_asks_for_a_person_then_staff_mark_it_handled_from_the_queue(web_service: WebServer, phone,
                                                                             browser) -> None:
    """Issue 16: a visitor asks for a person and says an answer did not help; staff log in with
    their name, find the conversation in the queue, mark it handled, and see who did it."""
    page = phone
    page.goto(web_service.url + "/")
    page.get_by_label("Votre message").fill("je veux parler à une personne")
    page.get_by_role("button", name="Envoyer").click()
    page.locator("li.message.bot").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator("#typing").wait_for(state="hidden", timeout=ANSWER_TIMEOUT_MS)
    page.get_by_role("button", name="Pas utile").last.click()
    page.locator(".feedback-status").last.filter(has_text="Merci").wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.screenshot(path=str(SCREENSHOTS / "chat-handoff-feedback-phone.png"), full_page=False)
    conversation = "web-" + page.evaluate("window.localStorage.getItem('oim-chat-sender')")
    assert page.problems == []

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR").new_page()
    staff.goto(web_service.url + "/staff")
    staff.get_by_label("Jeton du personnel").fill(WEB_STAFF_TOKEN)
    staff.get_by_label("Votre nom").fill("Awa Test")
    staff.get_by_role("button", name="Se connecter").click()
    staff.get_by_role("link", name="File d'attente").click()
    row = staff.locator("tr", has=staff.locator(f'a[href="/staff/conversations/{conversation}"]'))
    row.wait_for()
    assert "pas utile" in row.inner_text() and "a demandé un humain" in row.inner_text()
    staff.screenshot(path=str(SCREENSHOTS / "staff-queue.png"), full_page=True)
    row.get_by_role("button", name="Marquer comme traitée").click()
    staff.wait_for_url("**/staff/queue")
    assert staff.locator(f'a[href="/staff/conversations/{conversation}"]').count() == 0  # out of the open list

    staff.get_by_role("link", name="Afficher aussi les conversations traitées").click()
    row = staff.locator("tr", has=staff.locator(f'a[href="/staff/conversations/{conversation}"]'))
    assert "par Awa Test" in row.inner_text()
    row.get_by_role("link").first.click()
    staff.locator("main").filter(has_text="Awa Test").wait_for()
    staff.screenshot(path=str(SCREENSHOTS / "staff-transcript.png"), full_page=True)

    staff.get_by_role("link", name="Tableau de bord").click()
    assert staff.locator("svg").count() >= 1
    staff.screenshot(path=str(SCREENSHOTS / "staff-dashboard.png"), full_page=True)
    staff.context.close()
