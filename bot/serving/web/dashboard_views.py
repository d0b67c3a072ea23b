"""Handlers of the staff dashboard (/staff/dashboard, /api/staff/dashboard).

Why thin: the numbers are pure functions of the conversations' events (dashboard.py), read in
bulk from the tracker store (ConversationReader.scan) and kept a minute (TtlCache): staff reloading
the page do not read the whole store again.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from bot.serving.web import staff_pages
from bot.serving.web.dashboard import DEFAULT_DAYS, MAX_DAYS, Dashboard, compute_dashboard, window_start
from bot.serving.web.knowledge_holder import KnowledgeUnavailable
from bot.serving.web.staff_views import _blocking, _html, staff_api, staff_page
from bot.serving.web.state import CONVERSATIONS, DASHBOARD_CACHE, KNOWLEDGE
from bot.serving.web.texts import error_response, error_text

logger = logging.getLogger(__name__)


def _days(request: web.Request) -> int:
    try:
        return min(MAX_DAYS, max(1, int(request.query.get("jours", DEFAULT_DAYS))))
    except ValueError:
        return DEFAULT_DAYS


def _topic_titles(request: web.Request) -> dict[str, str]:
    """Entry id -> title, for the top topics (ids alone when the knowledge is not loaded)."""
    try:
        return {entry.id: str(getattr(entry, "title", "") or entry.id) for entry in request.app[KNOWLEDGE].get().entries()}
    except KnowledgeUnavailable:
        return {}


async def _dashboard(request: web.Request, days: int) -> tuple[Dashboard, bool]:
    reader = request.app[CONVERSATIONS]

    async def compute() -> Dashboard:
        now = time.time()
        board: Dashboard = await _blocking(
            lambda: compute_dashboard(reader.scan(since=window_start(now, days)), now=now, days=days))
        board.topic_titles = await _blocking(_topic_titles, request)
        return board

    return await request.app[DASHBOARD_CACHE].get(days, compute)


@staff_page
async def dashboard_page(request: web.Request) -> web.Response:
    days = _days(request)
    try:
        board, cached = await _dashboard(request, days)
    except Exception as error:  # store down or misconfigured: say so on the page
        logger.error("cannot compute the dashboard: %s", error)
        message = error_text("store_unavailable", reason=type(error).__name__)
        return _html(staff_pages.render_dashboard(request, None, message, days=days), 503)
    return _html(staff_pages.render_dashboard(request, board, days=days, cached=cached))


@staff_api
async def dashboard_api(request: web.Request) -> web.Response:
    days = _days(request)
    try:
        board, cached = await _dashboard(request, days)
    except Exception as error:
        logger.error("cannot compute the dashboard: %s", error)
        return error_response(503, "store_unavailable", reason=type(error).__name__)
    return web.json_response({**board.as_json(), "days_requested": days, "cached": cached})
