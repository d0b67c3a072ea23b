"""Rasa's Redis tracker store that waits out a short Redis outage instead of losing the turn.

Why: Rasa wraps every tracker store in its FailSafeTrackerStore. When a save raises, it logs the
error and saves the turn in a process-local in-memory store instead, then answers the user as if
nothing happened: the turn is lost for every other replica and after a restart. A Redis restart
(a crash, a failover, a rolling update; the load test kills and restarts Redis, back 0.15 s later,
and it may answer "LOADING" while it reads its append-only file) made exactly that happen to one
answered turn in 1,000 (docs/deploy.md, Load test). Here each Redis read and write of the store is
retried on connection, timeout and loading errors for up to RETRY_FOR_S, with a short backoff, so
an outage shorter than that costs a slower turn, not a lost one; a longer one still fails as Rasa's
store does. The same keys, format and settings as Rasa's `type: redis`; named in
endpoints.redis.yml as `type: bot.serving.redis_tracker_store.RetryingRedisTrackerStore`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rasa.core.tracker_store import RedisTrackerStore

logger = logging.getLogger(__name__)

STORE_TYPE = "bot.serving.redis_tracker_store.RetryingRedisTrackerStore"
# An outage up to this long costs a slower turn, not a lost one (well under the 30 s reply timeout).
RETRY_FOR_S = 10.0
FIRST_WAIT_S = 0.05
MAX_WAIT_S = 1.0

T = TypeVar("T")


def _transient_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


async def retry_transient(operation: Callable[[], Awaitable[T]], what: str, retry_for_s: float = RETRY_FOR_S) -> T:
    """`operation()`, tried again with a growing wait while Redis is unreachable or loading."""
    errors = _transient_errors()
    deadline = time.monotonic() + retry_for_s
    wait = FIRST_WAIT_S
    while True:
        try:
            return await operation()
        except errors as error:
            if time.monotonic() + wait > deadline:
                raise
            logger.warning("Redis tracker store: %s failed (%s), trying again in %.2f s",
                           what, type(error).__name__, wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, MAX_WAIT_S)


def _extends(serialised: str, stored: str | bytes) -> bool:
    """Whether the tracker to save holds the stored events first, as they were stored: the turn
    read the stored tracker and added its events (the usual case, under the lock store). Rasa's
    merge would then return the tracker unchanged, after rebuilding both trackers from their events
    (3-7 ms for a 100-event conversation); comparing the events as JSON costs under 1 ms."""
    old = json.loads(stored).get("events") or []
    new = json.loads(serialised).get("events") or []
    return len(new) >= len(old) and new[: len(old)] == old


class RetryingRedisTrackerStore(RedisTrackerStore):
    """RedisTrackerStore whose reads and writes outlast a Redis restart of a few seconds."""

    async def save(self, tracker: Any, timeout: float | None = None) -> None:
        """Rasa's save: events to the broker once, then the Redis write, retried."""
        await self.stream_events(tracker)
        await retry_transient(lambda: self._write(tracker, timeout), "save")

    async def _write(self, tracker: Any, timeout: float | None) -> None:
        """The Redis part of RedisTrackerStore.save (Rasa 3.6), merged with the stored tracker."""
        if not timeout and self.record_exp:
            timeout = self.record_exp
        key = self.key_prefix + tracker.sender_id
        stored = self.red.get(key)
        serialised = self.serialise_tracker(tracker)
        if stored is not None and not _extends(serialised, stored):
            # Another replica wrote events this one has not seen (no lock store, or a lock lost):
            # Rasa's merge of both trackers.
            tracker = self._merge_trackers(self.deserialise_tracker(tracker.sender_id, stored), tracker)
            serialised = self.serialise_tracker(tracker)
        self.red.set(key, serialised, ex=timeout)

    async def retrieve(self, sender_id: str) -> Any:
        return await retry_transient(lambda: super(RetryingRedisTrackerStore, self).retrieve(sender_id), "retrieve")

    async def retrieve_full_tracker(self, sender_id: str) -> Any:
        return await retry_transient(
            lambda: super(RetryingRedisTrackerStore, self).retrieve_full_tracker(sender_id), "retrieve"
        )

    async def keys(self) -> Any:
        return await retry_transient(lambda: super(RetryingRedisTrackerStore, self).keys(), "keys")
