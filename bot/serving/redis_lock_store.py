"""Rasa's Redis lock store with every change of a conversation's lock made atomically.

Why: Rasa Open Source's RedisLockStore changes a lock by reading it, changing it in Python and
writing it back. Two Rasa replicas receiving a message of the same conversation at the same
moment both read "no ticket", both issue ticket 1 and both think they hold the lock: they handle
the two messages at once and the second tracker save drops the first message (seen in
tests/test_redis_stores.py). Clean-up has the same race: a replica that finds "no one waiting"
may delete the lock just after another one took a ticket. (Rasa Pro's ConcurrentRedisLockStore
is not in the open-source release.)

Here each read-change-write runs in a Redis optimistic transaction (WATCH the lock key, read,
MULTI, write, EXEC; retried if another client changed the key meanwhile), so tickets are unique
and served in order across processes. Same keys and format as Rasa's store: replicas on either
class see the same locks. Set in endpoints.redis.yml:
`lock_store: {type: bot.serving.redis_lock_store.AtomicRedisLockStore, url: ..., port: ...}`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

# A change retried this many times without success means Redis is overloaded: fail loudly.
MAX_ATTEMPTS = 100

Change = Callable[[TicketLock], TicketLock | None]  # None: delete the lock


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore whose ticket issue, expiry, finish and clean-up are atomic."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        """Rasa passes the endpoints.yml section as `endpoint_config`; tests may pass keywords."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: str, change: Change, create: bool) -> TicketLock | None:
        """Apply `change` to the stored lock atomically; returns the lock as written."""
        import redis

        key = self.key_prefix + conversation_id
        for _ in range(MAX_ATTEMPTS):
            with self.red.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    if stored:
                        lock = TicketLock.from_dict(json.loads(stored))
                    elif create:
                        lock = self.create_lock(conversation_id)
                    else:
                        return None
                    changed = change(lock)
                    pipe.multi()
                    if changed is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, changed.dumps())
                    pipe.execute()
                    return changed
                except redis.WatchError:
                    continue  # another replica changed this lock first: read it again
        raise LockError(f"Could not change the lock of conversation '{conversation_id}' atomically.")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A ticket no other replica can also get (see the module docstring)."""
        issued: list[int] = []

        def issue(lock: TicketLock) -> TicketLock:
            issued[:] = [lock.issue_ticket(lock_lifetime)]
            return lock

        try:
            self._change(conversation_id, issue, create=True)
        except LockError:
            raise
        except Exception as error:  # same contract as Rasa's: any failure is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return issued[0]

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (of replicas that died while holding one)."""

        def expire(lock: TicketLock) -> TicketLock:
            lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, expire, create=False)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove this ticket, keeping the others'."""

        def finish(lock: TicketLock) -> TicketLock:
            lock.remove_ticket_for(ticket_number)
            return lock

        self._change(conversation_id, finish, create=False)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove this ticket, and the lock only if no ticket is left, in one step."""

        def finish_and_maybe_delete(lock: TicketLock) -> TicketLock | None:
            lock.remove_ticket_for(ticket_number)
            return lock if lock.is_someone_waiting() else None

        self._change(conversation_id, finish_and_maybe_delete, create=False)
