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

Tickets of live processes do not expire (issue 17). A ticket's lifetime (TICKET_LOCK_LIFETIME,
10 s in docker-compose.yml and deploy/k8s) is only there to free a conversation whose replica died
holding or waiting for its lock. In Rasa's loop a message that waits longer than the lifetime has
its own ticket removed as "expired" and then never gets its turn; and a turn slower than the
lifetime lets the next message of its conversation run at the same time. Here `lock()` renews the
process's own ticket: a waiting message at every poll (in the same transaction that drops the
expired tickets of others and reads whose turn it is), the message being handled every third of
the lifetime, for at most HOLD_RENEWAL_LIMIT_S (a hung turn still frees its conversation). A
waiting message whose ticket vanished anyway (its process stalled longer than the lifetime) takes
a new ticket at the back of the queue instead of hanging; if the whole lock vanished (Redis lost
the key in a crash), it fails with LockError as Rasa's does, rather than run beside a turn that may
still hold it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from rasa.core.constants import DEFAULT_LOCK_LIFETIME
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.serving.redact import redact

logger = logging.getLogger(__name__)

# A change retried this many times without success means Redis is overloaded: fail loudly.
MAX_ATTEMPTS = 100

# The message being handled renews its ticket this long at most (Rasa's default lifetime, 60 s): a
# turn hung longer (an action server that never answers) no longer blocks its conversation.
HOLD_RENEWAL_LIMIT_S = float(DEFAULT_LOCK_LIFETIME)

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
        raise LockError(f"Could not change the lock of conversation '{redact(conversation_id)}' atomically.")

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

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's `LockStore.lock`, with this process's ticket kept alive while it waits and holds."""
        ticket = [self.issue_ticket(conversation_id, lock_lifetime)]  # may change: see the docstring
        try:
            lock = await self._wait_for_turn(conversation_id, ticket, lock_lifetime, wait_time_in_seconds)
            keeper = asyncio.create_task(self._keep_alive(conversation_id, ticket[0], lock_lifetime))
            try:
                yield lock
            finally:
                keeper.cancel()
                with suppress(asyncio.CancelledError):
                    await keeper
        finally:
            self.cleanup(conversation_id, ticket[0])

    def renew(self, conversation_id: str, ticket: list[int], lock_lifetime: float) -> TicketLock:
        """One atomic step of a waiting message: drop others' expired tickets, push back the expiry
        of its own (`ticket[0]`), or take a new one at the back if its ticket is gone. Returns the
        lock. LockError, as in Rasa, if the whole lock is gone: the message that held it may still
        be running, and a new lock would let this one run beside it."""

        held = ticket[0]
        now_held = [held]

        def renew_own(lock: TicketLock) -> TicketLock:  # may run again if another client raced it
            lock.remove_expired_tickets()  # an expired ticket is gone even if still stored: see _keep_alive
            own = _ticket(lock, held)
            if own is None:
                now_held[0] = lock.issue_ticket(lock_lifetime)
            else:
                own.expires = time.time() + lock_lifetime
                now_held[0] = held
            return lock

        changed = self._change(conversation_id, renew_own, create=False)
        if changed is None:  # Redis lost the key (crash): the turn running may have lost its ticket too
            raise LockError(f"The lock of conversation '{redact(conversation_id)}' vanished while waiting for it.")
        if now_held[0] != held:
            logger.warning("conversation %s: ticket %d vanished while waiting, now %d",
                           redact(conversation_id), held, now_held[0])
            ticket[0] = now_held[0]
        return changed

    async def _wait_for_turn(
        self, conversation_id: str, ticket: list[int], lock_lifetime: float, wait_time_in_seconds: float
    ) -> TicketLock:
        """Poll until `ticket[0]` is served, renewing it at every poll (replaces Rasa's `_acquire_lock`).

        A Redis error (Redis restarting) is retried at the next poll for up to `lock_lifetime`."""
        import redis

        failing_since: float | None = None
        while True:
            try:
                lock: TicketLock | None = self.renew(conversation_id, ticket, lock_lifetime)
                failing_since = None
            except (redis.ConnectionError, redis.TimeoutError) as error:
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > lock_lifetime:
                    raise LockError(f"Lock store unreachable while waiting for the lock of '{redact(conversation_id)}'") from error
                lock = None
            if lock is not None and not lock.is_locked(ticket[0]):
                logger.debug("Acquired lock for conversation '%s'.", conversation_id)
                return lock
            await asyncio.sleep(wait_time_in_seconds)

    async def _keep_alive(self, conversation_id: str, ticket: int, lock_lifetime: float) -> None:
        """While the message holding the lock is handled: renew its ticket every third of the lifetime,
        for HOLD_RENEWAL_LIMIT_S at most (cancelled when the turn ends)."""
        started = time.monotonic()
        interval = max(lock_lifetime / 3, 0.1)

        def extend(lock: TicketLock) -> TicketLock:
            own = _ticket(lock, ticket)
            if own is not None:
                own.expires = max(own.expires, time.time() + lock_lifetime)
            else:  # expired after all (this process stalled): another message may be running
                logger.warning("conversation %s: ticket %d expired while its turn ran", redact(conversation_id), ticket)
            return lock

        while time.monotonic() - started + interval < HOLD_RENEWAL_LIMIT_S:
            await asyncio.sleep(interval)
            try:
                self._change(conversation_id, extend, create=False)
            except Exception as error:  # Redis restarting: try again at the next interval
                logger.warning("conversation %s: could not renew ticket %d: %s", redact(conversation_id), ticket, error)


def _ticket(lock: TicketLock, number: int) -> Ticket | None:
    """The ticket of this number in `lock`, expired or not (TicketLock's lookup drops expired ones)."""
    return next((t for t in lock.tickets if t.number == number), None)
