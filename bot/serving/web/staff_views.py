"""Handlers of the staff console: login, search, knowledge, conversations that asked for a human.

Why two faces over the same functions: people use the HTML pages (session cookie after login),
scripts use /api/staff/* with "Authorization: Bearer <token>". With no OIM_STAFF_TOKEN the console
is disabled (503 with the reason), never open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.serving.web import staff_ask, staff_pages
from bot.serving.web.attention_queue import clean_name
from bot.serving.web.chat_input import clean_text, neutralise_command
from bot.serving.web.chat_views import client_address
from bot.serving.web.knowledge_holder import KnowledgeUnavailable
from bot.serving.web.rasa_client import AssistantUnavailable
from bot.serving.web.ratelimit import check_and_record_async
from bot.serving.web.staff_data import contact_dict, entry_dict, hit_dict
from bot.serving.web.state import CONVERSATIONS, KNOWLEDGE, LIMITERS, RASA, STAFF
from bot.serving.web.texts import error_response, error_text

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_QUERY_CHARS = 200
DEFAULT_HITS = 10
MAX_HITS = 50
MAX_QUESTION_CHARS = 1000


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _staff_html(handler: Handler, login_status: int) -> Handler:
    """Disabled message (503), or the login form with `login_status`, or the handler's answer."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        auth = request.app[STAFF]
        if not auth.enabled:
            return _html(staff_pages.render_disabled(request), 503)
        if not auth.is_authenticated(request):
            return _html(staff_pages.render_login(request), login_status)
        return await handler(request)

    return wrapper


def staff_page(handler: Handler) -> Handler:
    """HTML page: disabled message, or login form (200: the form itself reveals nothing), or the page."""
    return _staff_html(handler, 200)


def staff_form(handler: Handler) -> Handler:
    """A console form's POST: disabled message, or 401 with the login form, or the action."""
    return _staff_html(handler, 401)


def staff_api(handler: Handler) -> Handler:
    """JSON API: 503 when disabled, 401 without a valid Bearer token or session cookie."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        auth = request.app[STAFF]
        if not auth.enabled:
            return error_response(503, "staff_disabled")
        if not auth.is_authenticated(request):
            return error_response(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    return wrapper


async def _blocking(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


# --- login -----------------------------------------------------------------------------------

async def login(request: web.Request) -> web.Response:
    auth = request.app[STAFF]
    if not auth.enabled:
        return _html(staff_pages.render_disabled(request), 503)
    wait = await check_and_record_async(request.app[LIMITERS], {"login": client_address(request)})
    if wait is not None:
        return _html(staff_pages.render_login(request, error_text("rate_limited", seconds=wait)), 429)
    form = await request.post()
    token = form.get("token")
    if not isinstance(token, str) or not auth.token_matches(token):
        logger.warning("staff login refused from %s", client_address(request))
        return _html(staff_pages.render_login(request, error_text("invalid_token")), 403)
    name = form.get("name")
    response = _redirect("/staff")
    auth.set_session_cookie(response, clean_name(name) if isinstance(name, str) else "")
    return response


async def logout(request: web.Request) -> web.Response:
    response = _redirect("/staff")
    request.app[STAFF].clear_session_cookie(response)
    return response


# --- shared reads ----------------------------------------------------------------------------

def _query(request: web.Request) -> str:
    return request.query.get("q", "").strip()


def _search(request: web.Request, query: str, k: int) -> list[dict[str, Any]]:
    kb = request.app[KNOWLEDGE].get()
    return [hit_dict(hit, query) for hit in kb.search(query, k=k)]


def _knowledge(request: web.Request) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    kb = request.app[KNOWLEDGE].get()
    return [entry_dict(e, kb) for e in kb.entries()], [contact_dict(c, kb) for c in kb.contacts_for()]


# --- HTML pages ------------------------------------------------------------------------------

@staff_page
async def search_page(request: web.Request) -> web.Response:
    query = _query(request)
    if not query:
        return _html(staff_pages.render_search(request, "", []))
    if len(query) > MAX_QUERY_CHARS:
        return _html(staff_pages.render_search(request, query[:MAX_QUERY_CHARS], [], error_text("query_too_long", max=MAX_QUERY_CHARS)), 400)
    try:
        hits = await _blocking(_search, request, query, DEFAULT_HITS)
    except KnowledgeUnavailable as error:
        return _html(staff_pages.render_search(request, query, [], error_text("knowledge_unavailable", reason=error)), 503)
    return _html(staff_pages.render_search(request, query, hits))


@staff_page
async def knowledge_page(request: web.Request) -> web.Response:
    try:
        entries, contacts = await _blocking(_knowledge, request)
    except KnowledgeUnavailable as error:
        return _html(staff_pages.render_message(request, "Fiches", error_text("knowledge_unavailable", reason=error), current="knowledge"), 503)
    return _html(staff_pages.render_knowledge(request, entries, contacts))


# --- JSON API --------------------------------------------------------------------------------

@staff_api
async def search_api(request: web.Request) -> web.Response:
    query = _query(request)
    if not query:
        return error_response(400, "missing_query")
    if len(query) > MAX_QUERY_CHARS:
        return error_response(400, "query_too_long", max=MAX_QUERY_CHARS)
    try:
        k = min(MAX_HITS, max(1, int(request.query.get("k", DEFAULT_HITS))))
    except ValueError:
        k = DEFAULT_HITS
    try:
        hits = await _blocking(_search, request, query, k)
    except KnowledgeUnavailable as error:
        return error_response(503, "knowledge_unavailable", reason=error)
    return web.json_response({"query": query, "hits": hits})


@staff_api
async def entries_api(request: web.Request) -> web.Response:
    try:
        entries, contacts = await _blocking(_knowledge, request)
    except KnowledgeUnavailable as error:
        return error_response(503, "knowledge_unavailable", reason=error)
    return web.json_response({"entries": entries, "contacts": contacts})


@staff_api
async def handoffs_api(request: web.Request) -> web.Response:
    try:
        result = await _blocking(request.app[CONVERSATIONS].handoffs)
    except Exception as error:
        logger.error("cannot list handoff conversations: %s", error)
        return error_response(503, "store_unavailable", reason=type(error).__name__)
    return web.json_response({
        "conversations": [{**c.__dict__, "ref": request.app[STAFF].conversation_ref(c.sender_id)}
                          for c in result.conversations],
        "scanned": result.scanned,
        "truncated": result.truncated,
    })


# --- ask as the caller -----------------------------------------------------------------------

class _AskError(Exception):
    def __init__(self, status: int, code: str, **params: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.params = status, code, params


def _ask_input(request: web.Request) -> tuple[str, list[str]]:
    """The question and earlier turns as the chat would send them (cleaned, no Rasa command)."""
    question = neutralise_command(clean_text(_query(request)))
    previous = [t for t in (neutralise_command(clean_text(turn)) for turn in
                            staff_ask.previous_turns(request.query.get("previous", ""))) if t]
    if not question:
        raise _AskError(400, "missing_question")
    if len(question) > MAX_QUESTION_CHARS or any(len(turn) > MAX_QUESTION_CHARS for turn in previous):
        raise _AskError(400, "question_too_long", max=MAX_QUESTION_CHARS)
    if len(previous) > staff_ask.MAX_PREVIOUS_TURNS:
        raise _AskError(400, "too_many_turns", max=staff_ask.MAX_PREVIOUS_TURNS)
    return question, previous


def _topic(request: web.Request, sender: str) -> str:
    try:
        return staff_ask.topic_of(request.app[CONVERSATIONS].events(sender))
    except Exception as error:  # no store, store down: the evidence is ranked without the topic
        logger.warning("cannot read the asked conversation's topic: %s", type(error).__name__)
        return ""


async def _ask(request: web.Request, question: str, previous: list[str]) -> staff_ask.AskResult:
    """The assistant's reply (Rasa, throw-away conversation), then the evidence from the knowledge."""
    sender = staff_ask.new_sender()
    rasa = request.app[RASA]
    replies: list[dict[str, str]] = []
    try:
        for turn in [*previous, question]:
            replies = await rasa.send(sender, turn)
    except AssistantUnavailable as error:
        logger.warning("staff ask: assistant unavailable: %s", error)
        raise _AskError(503, "assistant_unavailable") from None
    texts = [reply["text"] for reply in replies]
    result = staff_ask.AskResult(question, previous, sender, texts, gaps=staff_ask.gap_sentences(texts))
    result.topic = await _blocking(_topic, request, sender)
    try:
        kb = await _blocking(request.app[KNOWLEDGE].get)
        result.evidence, result.contacts = await _blocking(
            staff_ask.evidence_for, kb, " ".join([*previous[-1:], question]) if previous else question,
            texts, result.topic)
    except KnowledgeUnavailable as error:
        result.knowledge_error = error_text("knowledge_unavailable", reason=error)
    return result


@staff_page
async def ask_page(request: web.Request) -> web.Response:
    if "q" not in request.query:
        return _html(staff_pages.render_ask(request, None))
    try:
        question, previous = _ask_input(request)
        result = await _ask(request, question, previous)
    except _AskError as error:
        return _html(staff_pages.render_ask(request, None, error_text(error.code, **error.params),
                                            question=_query(request)[:MAX_QUESTION_CHARS],
                                            previous=request.query.get("previous", "")[:2000]), error.status)
    return _html(staff_pages.render_ask(request, result))


@staff_api
async def ask_api(request: web.Request) -> web.Response:
    try:
        question, previous = _ask_input(request)
        result = await _ask(request, question, previous)
    except _AskError as error:
        headers = {"Retry-After": "30"} if error.status == 503 else None
        return error_response(error.status, error.code, headers=headers, **error.params)
    return web.json_response(result.as_json())
