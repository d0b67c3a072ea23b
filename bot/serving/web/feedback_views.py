""""Utile / Pas utile" under the web chat's answers: POST /api/chat/feedback, and its count for staff.

Why through Rasa: the feedback belongs to the conversation, so it is appended to it as an event
(slot `feedback`, value "utile" or "pas_utile") through Rasa's HTTP API (OIM_RASA_TOKEN); it then
lives, travels and expires with the tracker store like the rest of the conversation. Without the
token the chat hides nothing but the request answers 503 `feedback_unavailable`.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from bot.serving.web.chat_input import SENDER_PATTERN, WEB_SENDER_PREFIX
from bot.serving.web.chat_views import client_address
from bot.serving.web.conversations import FEEDBACK_SLOT, FEEDBACK_VALUES
from bot.serving.web.json_body import BadBody, json_object
from bot.serving.web.rasa_client import AssistantUnavailable
from bot.serving.web.ratelimit import check_and_record_async
from bot.serving.web.staff_views import _blocking, staff_api
from bot.serving.web.state import CONVERSATIONS, LIMITERS, RASA
from bot.serving.web.texts import error_response

logger = logging.getLogger(__name__)


async def feedback(request: web.Request) -> web.Response:
    """{"sender": "<id of the chat page>", "value": "utile" | "pas_utile"} -> 200 {"recorded": true}."""
    try:
        data = await json_object(request, {"sender", "value"})
    except BadBody as bad:
        return bad.response
    sender, value = data.get("sender"), data.get("value")
    if not isinstance(sender, str) or not SENDER_PATTERN.match(sender):
        return error_response(400, "invalid_sender")
    if value not in FEEDBACK_VALUES:
        return error_response(400, "invalid_feedback")
    wait = await check_and_record_async(request.app[LIMITERS], {"ip": client_address(request), "sender": sender})
    if wait is not None:
        return error_response(429, "rate_limited", headers={"Retry-After": str(wait)}, seconds=wait, retry_after=wait)
    event = {"event": "slot", "name": FEEDBACK_SLOT, "value": value, "timestamp": time.time()}
    try:
        await request.app[RASA].append_event(WEB_SENDER_PREFIX + sender, event)
    except AssistantUnavailable as error:
        logger.warning("feedback not recorded for %s…: %s", sender[:8], error)
        return error_response(503, "feedback_unavailable", headers={"Retry-After": "30"})
    logger.info("feedback %s from %s…", value, sender[:8])
    return web.json_response({"recorded": True, "value": value})


@staff_api
async def feedback_api(request: web.Request) -> web.Response:
    """Counts of "utile" / "pas_utile" over the stored conversations."""
    try:
        counts = await _blocking(request.app[CONVERSATIONS].feedback_counts)
    except Exception as error:
        logger.error("cannot count feedback: %s", error)
        return error_response(503, "store_unavailable", reason=type(error).__name__)
    return web.json_response({"feedback": counts})
