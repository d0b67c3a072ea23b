"""Moving-window rate limits (per conversation, per client address, per login attempt).

Why: one person (or script) must not be able to flood the assistant or run up its costs. The
counting is the `limits` library's moving window; its storage is the Redis of the endpoints file
when the service uses one (so every web replica shares the counts), memory otherwise (one process).

Limits fail open: when Redis cannot be reached the hit is allowed and logged (Rasa, whose
conversations live in the same Redis, then answers 503 anyway).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)

NAMESPACE = "oim-web-rate"
REDIS_TIMEOUT_S = 0.5


def redis_url(server: Mapping[str, Any]) -> str:
    """redis://[:password@]host:port/db for one server of `tracker_stores.redis_servers`."""
    password = server.get("password")
    auth = f":{quote(str(password), safe='')}@" if password else ""
    return f"redis://{auth}{server.get('host') or 'localhost'}:{int(server.get('port') or 6379)}/{int(server.get('db') or 0)}"


def make_storage(redis_servers: list[dict[str, Any]]) -> Storage:
    """The first Redis of the endpoints file, else memory (counts of this process only)."""
    if redis_servers:
        return RedisStorage(
            redis_url(redis_servers[0]), socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
    return MemoryStorage()


class RateLimiter:
    """At most `limit` hits per `window_s` seconds for each key, counted in `storage`."""

    def __init__(self, name: str, limit: int, window_s: int = 60, storage: Storage | None = None,
                 namespace: str = NAMESPACE) -> None:
        self.name = name
        self.item = RateLimitItemPerSecond(limit, window_s, namespace=f"{namespace}/{name}")
        self.storage = storage if storage is not None else MemoryStorage()
        self._strategy = MovingWindowRateLimiter(self.storage)

    @property
    def shared(self) -> bool:
        return isinstance(self.storage, RedisStorage)

    def retry_after(self, key: str) -> int | None:
        """Seconds to wait before `key` may hit again, or None when it may hit now."""
        if self._strategy.test(self.item, key):
            return None
        reset, _remaining = self._strategy.get_window_stats(self.item, key)
        return max(1, math.ceil(reset - time.time()))

    def hit(self, key: str) -> int | None:
        """Count one hit for `key`; None when it was allowed, else the seconds to wait."""
        if self._strategy.hit(self.item, key):
            return None
        return self.retry_after(key) or 1

    def clear(self, key: str) -> None:
        self._strategy.clear(self.item, key)


def check_and_record(limiters: dict[str, RateLimiter], keys: Mapping[str, str]) -> int | None:
    """Check every (limiter, key) pair; count the hit in all of them only when all allow it.

    Returns None when allowed, else the seconds to wait (Retry-After)."""
    try:
        waits = [w for name, key in keys.items() if (w := limiters[name].retry_after(key)) is not None]
        if waits:
            return max(waits)
        for name, key in keys.items():
            wait = limiters[name].hit(key)  # atomic: another replica may have taken the last slot
            if wait is not None:
                return wait
    except Exception as error:  # redis raises many kinds (connection, timeout, auth): fail open
        logger.warning("rate limits not checked (storage unavailable): %s", error)
    return None


async def check_and_record_async(limiters: dict[str, RateLimiter], keys: Mapping[str, str]) -> int | None:
    """`check_and_record` off the event loop when the counts are in Redis (network round trips)."""
    if any(limiters[name].shared for name in keys):
        return await asyncio.to_thread(check_and_record, limiters, keys)
    return check_and_record(limiters, keys)
