"""Sliding-window rate limits (per conversation, per client address), in memory.

Why: one person (or script) must not be able to flood the assistant or run up its costs. Limits
are kept per process: with several web replicas each one counts on its own (documented).
"""

from __future__ import annotations

import math
import time
from collections import deque

# Forget idle keys once this many are tracked, so the table cannot grow without bound.
MAX_KEYS = 50_000


class RateLimiter:
    """At most `limit` hits per `window_s` seconds for each key."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Seconds to wait before `key` may hit again, or None when it may hit now."""
        moment = time.monotonic() if now is None else now
        hits = self._recent(key, moment)
        if len(hits) < self.limit:
            return None
        return max(1, math.ceil(hits[0] + self.window_s - moment))

    def record(self, key: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        if len(self._hits) >= MAX_KEYS:
            self._forget_idle(moment)
        self._hits.setdefault(key, deque()).append(moment)

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window_s]:
            del self._hits[key]
        if len(self._hits) >= MAX_KEYS:  # still full of active keys: drop the oldest half
            for key in sorted(self._hits, key=lambda k: self._hits[k][-1])[: MAX_KEYS // 2]:
                del self._hits[key]


def check_and_record(limiters: dict[str, RateLimiter], keys: dict[str, str], now: float | None = None) -> int | None:
    """Check every (limiter, key) pair; record the hit in all of them only when all allow it."""
    moment = time.monotonic() if now is None else now
    waits = [limiters[name].retry_after(key, moment) for name, key in keys.items()]
    blocking = [w for w in waits if w is not None]
    if blocking:
        return max(blocking)
    for name, key in keys.items():
        limiters[name].record(key, moment)
    return None
