"""A staff member's reply to a person who asked for a human, and how the person receives it.

Why through Rasa: the reply belongs to the conversation. It is appended as a `bot` event whose
metadata names the staff member (`{"staff": "<name>"}`) through Rasa's HTTP API, so it is in the
tracker (transcript, audit, expiry) like every answer. With `execute_side_effects` and
`output_channel=latest`, Rasa also sends it through the channel the person last wrote from: a
WhatsApp, Telegram or Messenger conversation gets it as a message. The REST channel has no push,
so the web chat (and any REST client) polls `GET /api/chat/updates?sender=<id>&since=<ts>` while a
handoff is pending: the staff replies after `since`, read from the tracker store.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.serving.redact import redact
from bot.serving.web import staff_pages
from bot.serving.web.attention_queue import HANDLED_SLOT, MAX_NAME_CHARS, clean_name
from bot.serving.web.chat_input import SENDER_PATTERN, WEB_SENDER_PREFIX, clean_text
from bot.serving.web.conversations import HANDOFF_SLOT, STAFF_ASK_PREFIX, STAFF_METADATA, staff_author
from bot.serving.web.json_body import BadBody, json_object
from bot.serving.web.queue_views import _who, bad_ref_api, bad_ref_page, conversation_of, conversation_path
from bot.serving.web.rasa_client import AssistantUnavailable
from bot.serving.web.staff_views import _blocking, _html, _redirect, staff_api, staff_form
from bot.serving.web.state import CONVERSATIONS, RASA
from bot.serving.web.texts import error_response, error_text, staff_text

logger = logging.getLogger(__name__)

MAX_REPLY_CHARS = 2000  # a phone screen or two; WhatsApp and Telegram split longer ones anyway
# Conversations of the messaging connectors (bot/serving/messaging): the reply is pushed to them and
# starts with a line saying a person wrote it (the web chat labels it itself).
MESSAGING_PREFIXES = ("whatsapp-", "telegram-", "messenger-")
MAX_UPDATES = 50  # staff replies returned at most per poll


class ReplyError(ValueError):
    """A reply refused; `code` is an error of texts.yml, `status` the HTTP status."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status, self.code = status, code


def reply_text(value: Any) -> str:
    """The staff text as sent: a string, control characters removed, 1..MAX_REPLY_CHARS."""
    if not isinstance(value, str):
        raise ReplyError(400, "invalid_reply")
    text = clean_text(value)
    if not text:
        raise ReplyError(400, "empty_reply")
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyError(413, "reply_too_long")
    return text


def staff_reply_event(sender_id: str, text: str, by: str, now: float | None = None) -> dict[str, Any]:
    """The `bot` event of a staff reply; for messaging conversations the text says who wrote it."""
    if sender_id.startswith(MESSAGING_PREFIXES):
        text = f"{staff_text('reply_prefix')}\n{text}"
    at = time.time() if now is None else now
    return {"event": "bot", "text": text, "timestamp": at, "metadata": {STAFF_METADATA: clean_name(by)}}


@dataclass(frozen=True)
class Updates:
    """What a polling chat needs: staff replies after `since`, whether someone is still expected."""

    messages: list[dict[str, Any]]
    pending: bool
    next_since: float

    def as_json(self) -> dict[str, Any]:
        return {"messages": self.messages, "pending": self.pending, "next_since": self.next_since}


def chat_updates(events: list[dict[str, Any]] | None, since: float) -> Updates:
    """Staff replies newer than `since` (never the staff name: the person sees "a member of staff");
    `pending`: a handoff was requested and no staff member marked the conversation handled since."""
    events = events or []
    requested_at = handled_at = None
    replies: list[dict[str, Any]] = []
    for event in events:
        stamp = float(event.get("timestamp") or 0.0)
        if event.get("event") == "slot" and event.get("name") == HANDOFF_SLOT:
            requested_at = stamp if event.get("value") else None
        elif event.get("event") == "slot" and event.get("name") == HANDLED_SLOT:
            handled_at = stamp
        elif staff_author(event) is not None and event.get("text") and stamp > since:
            replies.append({"text": str(event["text"]), "timestamp": stamp, "from": "staff"})
    replies = replies[:MAX_UPDATES]
    pending = requested_at is not None and (handled_at is None or handled_at < requested_at)
    next_since = max([since, *(reply["timestamp"] for reply in replies)])
    return Updates(replies, pending, next_since)


# --- sending a reply ---------------------------------------------------------------------------

async def send_reply(request: web.Request, sender_id: str, text: str, by: str) -> dict[str, Any]:
    """Append (and, for messaging, deliver) the reply; the event, or ReplyError."""
    if sender_id.startswith(STAFF_ASK_PREFIX):
        raise ReplyError(404, "conversation_not_found")  # the console's own test conversations
    try:
        events = await _blocking(request.app[CONVERSATIONS].events, sender_id)
    except Exception as error:
        logger.error("cannot read conversation %s: %s", redact(sender_id), error)
        raise ReplyError(503, "store_unavailable") from None
    if events is None:  # Rasa would create the conversation: never for an id nobody used
        raise ReplyError(404, "conversation_not_found")
    event = staff_reply_event(sender_id, text, by)
    try:
        await request.app[RASA].append_event(sender_id, event, deliver=True)
    except AssistantUnavailable as error:
        logger.warning("staff reply not sent to %s: %s", redact(sender_id), error)
        raise ReplyError(503, "reply_unavailable") from None
    logger.info("staff %r replied in conversation %s (%d characters)", event["metadata"][STAFF_METADATA],
                redact(sender_id), len(text))
    return event


@staff_form
async def reply_form(request: web.Request) -> web.Response:
    """The transcript page's "Répondre" form (same-site cookie + origin check, like "handled")."""
    sender_id = conversation_of(request)
    if sender_id is None:
        return bad_ref_page(request)
    form = await request.post()
    try:
        await send_reply(request, sender_id, reply_text(form.get("text")), _who(request) or staff_text("unnamed_staff"))
    except ReplyError as error:
        return _html(staff_pages.render_message(request, "Conversation", error_text(error.code, reason="?",
                                                max=MAX_REPLY_CHARS), current="queue", links=True), error.status)
    return _redirect(f"{conversation_path(request, sender_id)}#reponse-envoyee")


@staff_api
async def reply_api(request: web.Request) -> web.Response:
    """Body: {"text": "<reply>", "by": "<name>" (optional: else the login's name, else "API")}."""
    try:
        data = await json_object(request, {"text", "by"}, "unknown_reply_fields")
    except BadBody as bad:
        return bad.response
    by = data.get("by", "")
    if not isinstance(by, str) or len(by) > MAX_NAME_CHARS:
        return error_response(400, "invalid_reply_author", max=MAX_NAME_CHARS)
    sender_id = conversation_of(request)
    if sender_id is None:
        return bad_ref_api()
    try:
        event = await send_reply(request, sender_id, reply_text(data.get("text")),
                                 clean_name(by) or _who(request) or staff_text("api_staff"))
    except ReplyError as error:
        headers = {"Retry-After": "30"} if error.status == 503 else None
        return error_response(error.status, error.code, headers=headers, reason="?", max=MAX_REPLY_CHARS)
    return web.json_response({"sender_id": sender_id, "ref": request.match_info["ref"], "reply": {
        "text": event["text"], "by": event["metadata"][STAFF_METADATA], "at": event["timestamp"],
        "pushed": sender_id.startswith(MESSAGING_PREFIXES)}})


# --- the person's side: polling ----------------------------------------------------------------

async def updates(request: web.Request) -> web.Response:
    """GET /api/chat/updates?sender=<id of the chat page>&since=<timestamp> -> staff replies after it."""
    unknown = sorted(set(request.query) - {"sender", "since"})
    if unknown:
        return error_response(400, "unknown_update_params", fields=", ".join(unknown)[:200])
    sender = request.query.get("sender", "")
    if not sender:
        return error_response(400, "missing_sender")
    if not SENDER_PATTERN.match(sender):
        return error_response(400, "invalid_sender")
    try:
        since = float(request.query.get("since", "0") or "0")
    except ValueError:
        return error_response(400, "invalid_since")
    if not math.isfinite(since) or since < 0:
        return error_response(400, "invalid_since")
    try:
        events = await _blocking(request.app[CONVERSATIONS].events, WEB_SENDER_PREFIX + sender)
    except Exception as error:
        logger.error("cannot read conversation %s…: %s", sender[:8], error)
        return error_response(503, "assistant_unavailable", headers={"Retry-After": "30"})
    return web.json_response(chat_updates(events, since).as_json())
