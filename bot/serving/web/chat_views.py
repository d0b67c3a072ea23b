"""Handlers of the public side: the chat page, POST /api/chat and /health.

Why thin: validation (chat_input), limits (ratelimit), the Rasa call (rasa_client) and health
checks (health) live in their own modules; a handler only wires them to HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web

from bot.serving.redact import shorten
from bot.serving.web import health
from bot.serving.web.chat_input import InputError, parse_chat_request
from bot.serving.web.rasa_client import HANDOFF_KEY, AssistantUnavailable
from bot.serving.web.ratelimit import check_and_record_async
from bot.serving.web.state import CONFIG, HTTP, KNOWLEDGE, LIMITERS, RASA, REDIS_SERVERS
from bot.serving.web.texts import error_response

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")


def client_address(request: web.Request) -> str:
    """The caller's IP: the last X-Forwarded-For hop when behind a trusted proxy, else the peer."""
    if request.app[CONFIG].trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.remote or "unknown"


async def chat_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "chat.html")


async def chat(request: web.Request) -> web.Response:
    """One user message in; {"messages": [{"text": ...}]} out, or a JSON error."""
    config = request.app[CONFIG]
    body = await request.read()
    try:
        message = parse_chat_request(body, config.max_message_chars)
    except InputError as error:
        return error_response(error.status, error.code, **error.params)

    keys = {"ip": client_address(request), "sender": message.sender}
    wait = await check_and_record_async(request.app[LIMITERS], keys)
    if wait is not None:
        return error_response(429, "rate_limited", headers={"Retry-After": str(wait)}, seconds=wait, retry_after=wait)

    logger.info("chat message from %s… (%d characters)", message.sender[:8], len(message.message))
    logger.debug("chat text from %s…: %s", message.sender[:8], shorten(message.message))
    try:
        replies = await request.app[RASA].send(message.rasa_sender, message.message)
    except AssistantUnavailable as error:
        logger.warning("assistant unavailable for %s…: %s", message.sender[:8], error)
        return error_response(503, "assistant_unavailable", headers={"Retry-After": "30"})
    # The queued handoff reply (actions/answers.py): the page then watches /api/chat/updates.
    handoff = [str(reply.pop(HANDOFF_KEY)) for reply in replies if HANDOFF_KEY in reply]
    answer: dict[str, object] = {"messages": replies}
    if handoff:
        answer["handoff"] = handoff[-1]
    return web.json_response(answer)


async def health_check(request: web.Request) -> web.Response:
    """200 when Rasa, the action server and Redis (if used) answer; 503 naming what is down."""
    config = request.app[CONFIG]
    parts = await health.check_all(
        request.app[HTTP], config.rasa_urls, config.actions_url, request.app[REDIS_SERVERS]
    )
    loop = asyncio.get_running_loop()
    info = {
        "knowledge": await loop.run_in_executor(None, request.app[KNOWLEDGE].status),
        "staff_console": "enabled" if config.staff_enabled else "disabled",
        "messaging": await health.check_messaging(request.app[HTTP], config.rasa_urls[0]),
    }
    if not request.app[REDIS_SERVERS]:
        info["redis"] = "not_used"
    body = health.health_body(parts, info)
    return web.json_response(body, status=200 if not body["down"] else 503)
