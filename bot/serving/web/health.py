"""/health: is every part the chat needs up? Rasa, the action server and (when used) Redis.

Why: orchestrators (docker-compose healthcheck, a load balancer) and people on call need one URL
that says 200 when migrants can chat and 503 naming the part that is down otherwise. Checks run in
parallel with a short timeout so /health itself answers in about 2 s at worst.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class PartStatus:
    name: str
    up: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "up" if self.up else "down"}
        if self.detail:
            body["detail"] = self.detail
        return body


async def check_http(session: aiohttp.ClientSession, name: str, url: str) -> PartStatus:
    """Up when `url` answers 2xx within the timeout."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)) as response:
            if 200 <= response.status < 300:
                return PartStatus(name, True)
            return PartStatus(name, False, f"HTTP {response.status}")
    except asyncio.TimeoutError:
        return PartStatus(name, False, "timeout")
    except aiohttp.ClientError as error:
        return PartStatus(name, False, type(error).__name__)


async def check_redis(name: str, server: dict[str, Any]) -> PartStatus:
    """Up when Redis answers PING within the timeout."""
    import redis.asyncio as aioredis

    client = aioredis.Redis(
        host=server["host"], port=server["port"], db=server["db"], password=server["password"],
        socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S,
    )
    try:
        await asyncio.wait_for(client.ping(), CHECK_TIMEOUT_S)
        return PartStatus(name, True)
    except asyncio.TimeoutError:
        return PartStatus(name, False, "timeout")
    except Exception as error:  # redis raises many kinds: connection, auth, ...
        return PartStatus(name, False, type(error).__name__)
    finally:
        await client.close()


async def check_all(
    session: aiohttp.ClientSession, rasa_urls: Sequence[str], actions_url: str, redis_servers: list[dict[str, Any]]
) -> list[PartStatus]:
    """Every required part's status (Rasa replicas are named rasa, rasa_2, ...)."""
    checks = [
        check_http(session, "rasa" if i == 0 else f"rasa_{i + 1}", url + "/")
        for i, url in enumerate(rasa_urls)
    ]
    checks.append(check_http(session, "action_server", actions_url + "/health"))
    checks.extend(
        check_redis("redis" if i == 0 else f"redis_{i + 1}", server) for i, server in enumerate(redis_servers)
    )
    return list(await asyncio.gather(*checks))


# Messaging connectors (bot/serving/messaging) answer GET /webhooks/<name>/ with their send stats.
MESSAGING_CHANNELS = {"whatsapp": "twilio", "telegram": "telegram", "messenger": "facebook"}


async def check_messaging(session: aiohttp.ClientSession, rasa_url: str) -> dict[str, str]:
    """Each messaging connector's delivery state on the first Rasa: "ok", "failing" (its latest
    send to the platform failed for good: users of that platform get no answer), "off" (not
    configured) or "unknown". Informational: the chat page and the other channels still work."""

    async def one(path: str) -> str:
        try:
            async with session.get(f"{rasa_url}/webhooks/{path}/",
                                   timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)) as response:
                if response.status == 404:
                    return "off"
                body = await response.json(content_type=None) if response.status == 200 else {}
                return str(body.get("status", "unknown")) if isinstance(body, dict) else "unknown"
        except (asyncio.TimeoutError, aiohttp.ClientError, ValueError):
            return "unknown"

    states = await asyncio.gather(*(one(path) for path in MESSAGING_CHANNELS.values()))
    return dict(zip(MESSAGING_CHANNELS, states, strict=True))


def health_body(parts: list[PartStatus], informational: dict[str, Any]) -> dict[str, Any]:
    """The JSON of /health: overall status, each required part, plus informational parts."""
    down = [p.name for p in parts if not p.up]
    return {
        "status": "ok" if not down else "unavailable",
        "down": down,
        "parts": {p.name: p.as_dict() for p in parts},
        "info": informational,
    }
