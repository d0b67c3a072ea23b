"""Handlers of the attention queue (/staff/queue), of one conversation's transcript and of "handled".

Why thin: the queue, the audit and the redaction are pure functions (attention_queue.py) over the
events read from the tracker store (ConversationReader); here only HTTP: who asks, what to log,
which page or JSON to answer. "Handled" is appended to the conversation through Rasa's HTTP API,
like the chat's feedback, so it is stored wherever Rasa stores conversations. Paths name a
conversation by its opaque reference (conversation_refs.py), never by its id (a phone number for
WhatsApp): an unknown or forged reference is a 404, like an unknown conversation.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from aiohttp import web

from bot.serving.redact import redact
from bot.serving.web import health, staff_pages
from bot.serving.web.attention_queue import (
    MAX_NAME_CHARS,
    Queue,
    build_queue,
    clean_name,
    handled_event,
    has_personal_data,
    queue_item,
    staff_transcript,
)
from bot.serving.web.conversations import FEEDBACK_SLOT, FEEDBACK_VALUES, ConversationReader, newest_first
from bot.serving.web.event_scan import Conversation
from bot.serving.web.rasa_client import AssistantUnavailable
from bot.serving.web.staff_views import _blocking, _html, _redirect, staff_api, staff_form, staff_page
from bot.serving.web.state import CONFIG, CONVERSATIONS, HTTP, RASA, STAFF
from bot.serving.web.texts import error_response, error_text, staff_text

logger = logging.getLogger(__name__)

# The queue reads every conversation (in bulk: event_scan.py); stop after this many.
QUEUE_MAX_SCANNED = 20000
QUEUE_ROWS = 1000  # shown at most (urgent and newest first); page and API take ?limit= up to QUEUE_MAX_ROWS
QUEUE_MAX_ROWS = 2000


def _wants(request: web.Request, name: str) -> bool:
    return request.query.get(name, "") in ("1", "true", "oui")


def _limit(request: web.Request) -> int:
    try:
        return min(QUEUE_MAX_ROWS, max(1, int(request.query.get("limit", QUEUE_ROWS))))
    except ValueError:
        return QUEUE_ROWS


def _read_queue(reader: ConversationReader, include_handled: bool, limit: int) -> tuple[Queue, dict[str, int]]:
    """The queue and the chat's feedback counts, in one pass over the store (blocking)."""
    feedback: Counter[str] = Counter({value: 0 for value in FEEDBACK_VALUES})

    def counted(conversations: Iterable[Conversation]) -> Iterator[Conversation]:
        for sender_id, events in conversations:
            for event in events:
                if event.get("event") == "slot" and event.get("name") == FEEDBACK_SLOT and event.get("value") in feedback:
                    feedback[str(event["value"])] += 1
            yield sender_id, events

    queue = build_queue(counted(newest_first(reader.scan())), include_handled=include_handled, max_scanned=QUEUE_MAX_SCANNED,
                        limit=limit)
    return queue, dict(feedback)


def _store_error(error: Exception) -> str:
    logger.error("cannot read the conversations: %s", error)
    return error_text("store_unavailable", reason=type(error).__name__)


# --- the queue -------------------------------------------------------------------------------

@staff_page
async def queue_page(request: web.Request) -> web.Response:
    show_handled = _wants(request, "handled")
    failing = await _failing_channels(request)
    try:
        queue, feedback = await _blocking(_read_queue, request.app[CONVERSATIONS], show_handled, _limit(request))
    except Exception as error:  # store down or misconfigured: say so on the page
        return _html(staff_pages.render_queue(request, None, _store_error(error), show_handled=show_handled,
                                              failing_channels=failing), 503)
    return _html(staff_pages.render_queue(request, queue, show_handled=show_handled, feedback=feedback,
                                          failing_channels=failing))


async def _messaging_states(request: web.Request) -> dict[str, str]:
    return await health.check_messaging(request.app[HTTP], request.app[CONFIG].rasa_urls[0])


async def _failing_channels(request: web.Request) -> list[str]:
    """Messaging platforms whose latest send failed for good: their users get no answer (issue 15),
    which staff must see where they look, not only on /health."""
    return [name for name, state in (await _messaging_states(request)).items() if state == "failing"]


@staff_api
async def queue_api(request: web.Request) -> web.Response:
    try:
        queue, feedback = await _blocking(_read_queue, request.app[CONVERSATIONS], _wants(request, "handled"),
                                          _limit(request))
    except Exception as error:
        _store_error(error)
        return error_response(503, "store_unavailable", reason=type(error).__name__)
    return web.json_response({
        "conversations": [with_ref(request, item.as_json()) for item in queue.items],
        "open": queue.open_count, "handled": queue.handled_count,
        "scanned": queue.scanned, "truncated": queue.truncated, "not_shown": queue.not_shown, "feedback": feedback,
        "messaging": await _messaging_states(request),
    })


async def handoffs_redirect(request: web.Request) -> web.Response:
    """The former attention list: its address now leads to the queue."""
    raise web.HTTPMovedPermanently("/staff/queue" + (f"?{request.query_string}" if request.query_string else ""))


# --- one conversation ------------------------------------------------------------------------

def _who(request: web.Request) -> str:
    return request.app[STAFF].staff_name(request)


def conversation_of(request: web.Request) -> str | None:
    """The conversation id behind the path's reference; None when the console did not make it."""
    return request.app[STAFF].conversation_id(request.match_info["ref"])


def conversation_path(request: web.Request, sender_id: str) -> str:
    """The console's address of a conversation's transcript (an opaque reference, never the id)."""
    return f"/staff/conversations/{request.app[STAFF].conversation_ref(sender_id)}"


def bad_ref_page(request: web.Request) -> web.Response:
    """A link altered, forged, or made before the staff token changed: 404 saying so, in French."""
    return _html(staff_pages.render_message(request, "Conversation", error_text("invalid_conversation_ref"),
                                            current="queue", links=True), 404)


def bad_ref_api() -> web.Response:
    return error_response(404, "invalid_conversation_ref")


def with_ref(request: web.Request, item: dict[str, Any]) -> dict[str, Any]:
    """A conversation's JSON with its reference: what a script puts in /api/staff/conversations/<ref>."""
    return {**item, "ref": request.app[STAFF].conversation_ref(str(item["sender_id"]))}


def _log_reveal(request: web.Request, sender_id: str) -> None:
    """Showing what a person typed (phone numbers, e-mail addresses) is itself recorded, without the data."""
    logger.info("staff %r showed the personal data of conversation %s", _who(request) or "?", redact(sender_id))


@staff_page
async def conversation_page(request: web.Request) -> web.Response:
    sender_id = conversation_of(request)
    if sender_id is None:
        return bad_ref_page(request)
    reveal = _wants(request, "show")
    try:
        events = await _blocking(request.app[CONVERSATIONS].events, sender_id)
    except Exception as error:
        return _html(staff_pages.render_transcript(request, sender_id, None, _store_error(error)), 503)
    if events is None:
        return _html(staff_pages.render_transcript(request, sender_id, None), 404)
    if reveal:
        _log_reveal(request, sender_id)
    item = queue_item(sender_id, events)
    return _html(staff_pages.render_transcript(
        request, sender_id, staff_transcript(events, reveal), revealed=reveal, hidden_data=has_personal_data(events),
        handled=item.handled if item else None, in_queue=item is not None))


@staff_api
async def conversation_api(request: web.Request) -> web.Response:
    sender_id = conversation_of(request)
    if sender_id is None:
        return bad_ref_api()
    reveal = _wants(request, "show")
    try:
        events = await _blocking(request.app[CONVERSATIONS].events, sender_id)
    except Exception as error:
        _store_error(error)
        return error_response(503, "store_unavailable", reason=type(error).__name__)
    if events is None:
        return error_response(404, "conversation_not_found")
    if reveal:
        _log_reveal(request, sender_id)
    item = queue_item(sender_id, events)
    lines = staff_transcript(events, reveal)
    return web.json_response({
        "sender_id": sender_id, "ref": request.match_info["ref"], "revealed": reveal,
        "transcript": [line.__dict__ for line in lines],
        "queue": item.as_json() if item else None,
        "audit": [{"by": line.text, "at": line.timestamp} for line in lines if line.kind == "handled"],
    })


# --- "handled" -------------------------------------------------------------------------------

async def _mark_handled(request: web.Request, sender_id: str, by: str) -> dict[str, Any] | str:
    """Append the "handled" mark; the event, or the error code (conversation unknown, Rasa unavailable)."""
    try:
        events = await _blocking(request.app[CONVERSATIONS].events, sender_id)
    except Exception as error:
        _store_error(error)
        return "store_unavailable"
    if events is None:  # Rasa would create the conversation: never for an id nobody used
        return "conversation_not_found"
    event = handled_event(by)
    try:
        await request.app[RASA].append_event(sender_id, event)
    except AssistantUnavailable as error:
        logger.warning("cannot mark conversation %s handled: %s", redact(sender_id), error)
        return "handled_unavailable"
    logger.info("conversation %s marked handled by %r", redact(sender_id), event["value"]["by"])
    return event


_STATUS = {"conversation_not_found": 404, "store_unavailable": 503, "handled_unavailable": 503}


@staff_form
async def mark_handled(request: web.Request) -> web.Response:
    sender_id = conversation_of(request)
    if sender_id is None:
        return bad_ref_page(request)
    form = await request.post()
    result = await _mark_handled(request, sender_id, _who(request) or staff_text("unnamed_staff"))
    if isinstance(result, str):
        return _html(staff_pages.render_message(request, "Conversation", error_text(result, reason="?"),
                                                current="queue", links=True), _STATUS[result])
    if form.get("back") == "conversation":
        return _redirect(conversation_path(request, sender_id))
    return _redirect("/staff/queue")


@staff_api
async def mark_handled_api(request: web.Request) -> web.Response:
    """Body: nothing, or {"by": "<name>"} (else the login's name, else "API")."""
    raw = await request.read()
    by = ""
    if raw.strip():
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return error_response(400, "invalid_json")
        if (not isinstance(data, dict) or set(data) - {"by"}
                or not isinstance(data.get("by", ""), str) or len(data.get("by", "")) > MAX_NAME_CHARS):
            return error_response(400, "invalid_handled_body")
        by = clean_name(data.get("by", ""))
    sender_id = conversation_of(request)
    if sender_id is None:
        return bad_ref_api()
    result = await _mark_handled(request, sender_id, by or _who(request) or staff_text("api_staff"))
    if isinstance(result, str):
        headers = {"Retry-After": "30"} if result == "handled_unavailable" else None
        return error_response(_STATUS[result], result, headers=headers, reason="?")
    return web.json_response({"sender_id": sender_id, "ref": request.match_info["ref"], "handled": result["value"]})
