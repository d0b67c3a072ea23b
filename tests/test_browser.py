"""The web chat and the staff console in real headless Chromium, on a phone-sized screen.

Screenshots go to tests/screenshots/ (git-ignored) for a human look.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp import web

from bot.knowledge.paths import repo_root
from tests.conftest import SCREENSHOTS, WEB_STAFF_TOKEN
from tests.project_copy import copy_project
from tests.stack import WebServer, free_ports
from tests.web_app import conversation_url

ANSWER_TIMEOUT_MS = 60_000
REPO = repo_root()

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
    link = conversation_url(conversation, WEB_STAFF_TOKEN)  # the console's links carry an opaque reference
    assert page.problems == []

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR").new_page()
    staff.goto(web_service.url + "/staff")
    staff.get_by_label("Jeton du personnel").fill(WEB_STAFF_TOKEN)
    staff.get_by_label("Votre nom").fill("Awa Test")
    staff.get_by_role("button", name="Se connecter").click()
    staff.get_by_role("link", name="File d'attente").click()
    row = staff.locator("tr", has=staff.locator(f'a[href="{link}"]'))
    row.wait_for()
    assert "pas utile" in row.inner_text() and "a demandé un humain" in row.inner_text()
    staff.screenshot(path=str(SCREENSHOTS / "staff-queue.png"), full_page=True)
    row.get_by_role("button", name="Marquer comme traitée").click()
    staff.wait_for_url("**/staff/queue")
    assert staff.locator(f'a[href="{link}"]').count() == 0  # out of the open list

    staff.get_by_role("link", name="Afficher aussi les conversations traitées").click()
    row = staff.locator("tr", has=staff.locator(f'a[href="{link}"]'))
    assert "par Awa Test" in row.inner_text()
    row.get_by_role("link").first.click()
    staff.locator("main").filter(has_text="Awa Test").wait_for()
    staff.screenshot(path=str(SCREENSHOTS / "staff-transcript.png"), full_page=True)

    staff.get_by_role("link", name="Tableau de bord").click()
    staff.wait_for_url("**/staff/dashboard")  # counted once the page is there, not while it loads
    staff.wait_for_load_state()
    assert staff.locator("svg").count() >= 1, staff.locator("main").inner_text()
    staff.screenshot(path=str(SCREENSHOTS / "staff-dashboard.png"), full_page=True)
    staff.context.close()


# --- The maintainers' inbox: a line becomes an NLU example ---------------------------------------

@contextlib.contextmanager
def served(app: web.Application) -> Iterator[str]:
    """The application on a free loopback port, its event loop in a thread (Playwright's sync API
    owns the test's thread); the base URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="inbox-web", daemon=True)
    thread.start()
    runner = web.AppRunner(app)
    (port,) = free_ports(1)
    asyncio.run_coroutine_threadsafe(runner.setup(), loop).result(60)
    asyncio.run_coroutine_threadsafe(web.TCPSite(runner, "127.0.0.1", port).start(), loop).result(60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_staff_turn_an_inbox_line_into_an_nlu_example(browser, tmp_path: Path) -> None:
    """/staff/inbox in Chromium: a misunderstood question becomes an example of an intent in
    data/nlu/inbox.yml of a copy of the project, a file Rasa's own reader accepts (the update that
    trains on such an example and puts it live: tests/test_update.py)."""
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.serving.inbox_files import NLU_FILE
    from bot.serving.web.app import create_app
    from bot.serving.web.config import WebConfig
    from bot.serving.web.inbox_views import INBOX_PROJECT
    from tests.test_web_inbox import TOKEN, save_all

    project = copy_project(tmp_path / "project")
    assert not (project / NLU_FILE).exists() or "le billet d'avion coute combien" not in (project / NLU_FILE).read_text()
    checkout_file = REPO / NLU_FILE
    checkout_before = checkout_file.read_bytes() if checkout_file.exists() else None
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: trackers.db\n", encoding="utf-8")
    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread: the store is written in another
        pool.submit(asyncio.run, save_all(endpoints)).result(60)  # what people asked (tests/test_web_inbox.py)
    app = create_app(WebConfig(endpoints=endpoints, staff_token=TOKEN, rasa_urls=("http://127.0.0.1:9",),
                               actions_url="http://127.0.0.1:9", retention_days=0))
    app[INBOX_PROJECT] = project

    with served(app) as url:
        staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR").new_page()
        problems: list[str] = []
        staff.on("console", lambda message: message.type == "error" and problems.append(message.text))
        staff.goto(url + "/staff")
        staff.get_by_label("Jeton du personnel").fill(TOKEN)
        staff.get_by_label("Votre nom").fill("Awa Test")
        staff.get_by_role("button", name="Se connecter").click()
        staff.get_by_role("link", name="Boîte des mainteneurs").click()
        line = staff.locator("section.inbox-line").filter(has_text="le billet d'avion coute combien").first
        line.wait_for()
        assert "[téléphone]" in line.inner_text() and "34 56 78" not in staff.content()  # not "06 12": a date may hold it
        line.get_by_text("Ajouter comme exemple d'une intention").click()
        form = line.locator("form[action='/staff/inbox/nlu']")
        form.get_by_label("Formulation").select_option(label="le billet d'avion coute combien")
        form.get_by_label("Intention").select_option("ask_movement_assistance")
        staff.screenshot(path=str(SCREENSHOTS / "staff-inbox.png"), full_page=True)
        form.get_by_role("button", name="Écrire dans data/nlu/inbox.yml").click()
        staff.wait_for_url("**/staff/inbox?done=nlu")
        staff.get_by_text("Exemple ajouté à data/nlu/inbox.yml").wait_for()
        staff.context.close()
    assert problems == []

    written = project / NLU_FILE
    content = written.read_text(encoding="utf-8")
    assert "- intent: ask_movement_assistance" in content and "le billet d'avion coute combien" in content
    examples = {(m.get("text"), m.get("intent")) for m in load_data(str(written)).intent_examples}
    assert ("le billet d'avion coute combien", "ask_movement_assistance") in examples  # Rasa reads it as we meant
    assert (checkout_file.read_bytes() if checkout_file.exists() else None) == checkout_before  # the checkout is untouched
