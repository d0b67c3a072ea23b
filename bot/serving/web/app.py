"""The aiohttp application: web chat for migrants, staff console, /health, in front of Rasa.

Why a factory: tests and the CLI build the same application from a WebConfig; nothing is read
from the environment here (config.py does that once, with clear errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.serving.purge_trackers import purge_periodically
from bot.serving.tracker_stores import redis_servers, store_info
from bot.serving.web.config import WebConfig
from bot.serving.web.conversations import ConversationReader
from bot.serving.web.dashboard import DASHBOARD_TTL_S, TtlCache
from bot.serving.web.knowledge_holder import KnowledgeHolder
from bot.serving.web.middleware import add_security_headers, error_middleware, make_origin_middleware
from bot.serving.web.rasa_client import RasaClient
from bot.serving.web.ratelimit import RateLimiter, make_storage
from bot.serving.web.routes import setup_routes
from bot.serving.web.staff_auth import StaffAuth
from bot.serving.web.staff_pages import setup_templates
from bot.serving.web.state import (
    CONFIG,
    CONVERSATIONS,
    DASHBOARD_CACHE,
    HTTP,
    KNOWLEDGE,
    LIMITERS,
    RASA,
    REDIS_SERVERS,
    STAFF,
)

logger = logging.getLogger(__name__)

# Largest request body accepted (a 5000-character message is at most ~30 kB of JSON).
MAX_BODY_BYTES = 64 * 1024
LOGIN_ATTEMPTS_PER_MINUTE = 10


def create_app(config: WebConfig) -> web.Application:
    """The web service for `config` (servers are contacted lazily, never at import)."""
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[error_middleware, make_origin_middleware(config.cors_origins)],
    )
    app[CONFIG] = config
    app[REDIS_SERVERS] = redis_servers(config.endpoints)
    storage = make_storage(app[REDIS_SERVERS])  # Redis when the endpoints use it: replicas share counts
    app[LIMITERS] = {
        "ip": RateLimiter("ip", config.ip_per_minute, storage=storage),
        "sender": RateLimiter("sender", config.sender_per_minute, storage=storage),
        "login": RateLimiter("login", LOGIN_ATTEMPTS_PER_MINUTE, storage=storage),
    }
    app[STAFF] = StaffAuth(config.staff_token, config.staff_session_hours, config.cookie_secure)
    app[KNOWLEDGE] = KnowledgeHolder()
    app[CONVERSATIONS] = ConversationReader(config.endpoints)
    app[DASHBOARD_CACHE] = TtlCache(DASHBOARD_TTL_S)
    app.on_response_prepare.append(add_security_headers)  # type: ignore[arg-type]  # aiohttp stubs
    app.cleanup_ctx.append(_http_client)
    app.cleanup_ctx.append(_background_tasks)
    setup_templates(app)
    setup_routes(app)
    return app


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    """One connection pool to Rasa for the life of the app."""
    session = aiohttp.ClientSession()
    app[HTTP] = session
    config = app[CONFIG]
    app[RASA] = RasaClient(session, config.rasa_urls, config.rasa_timeout_s, config.rasa_token)
    yield
    await session.close()


async def _background_tasks(app: web.Application) -> AsyncIterator[None]:
    """Warm the knowledge base; purge old conversations of an SQL store every hour."""
    config = app[CONFIG]
    # A daemon thread, not the loop's executor: stopping the service must not wait for spaCy.
    threading.Thread(target=app[KNOWLEDGE].warm, name="knowledge-warm-up", daemon=True).start()
    purge_task = None
    info = store_info(config.endpoints)
    if info.kind == "sql" and config.retention_days > 0:
        purge_task = asyncio.create_task(
            purge_periodically(config.endpoints, config.retention_days, config.purge_interval_s)
        )
    elif info.kind == "redis":
        logger.info("conversations expire in Redis (record_exp = %s s)", info.redis_record_exp)
    yield
    if purge_task is not None:
        purge_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purge_task
