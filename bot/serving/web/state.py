"""Typed keys of what the application shares between handlers (aiohttp AppKey)."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from bot.serving.web.config import WebConfig
from bot.serving.web.conversations import ConversationReader
from bot.serving.web.dashboard import Dashboard, TtlCache
from bot.serving.web.knowledge_holder import KnowledgeHolder
from bot.serving.web.rasa_client import RasaClient
from bot.serving.web.ratelimit import RateLimiter
from bot.serving.web.staff_auth import StaffAuth

CONFIG = web.AppKey("config", WebConfig)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)
LIMITERS = web.AppKey("limiters", dict[str, RateLimiter])
STAFF = web.AppKey("staff", StaffAuth)
KNOWLEDGE = web.AppKey("knowledge", KnowledgeHolder)
CONVERSATIONS = web.AppKey("conversations", ConversationReader)
REDIS_SERVERS = web.AppKey("redis_servers", list[dict[str, Any]])
DASHBOARD_CACHE = web.AppKey("dashboard_cache", TtlCache[Dashboard])
