"""Redis tracker and lock stores (endpoints.redis.yml) with a real Redis and real Rasa replicas.

The replicas come from the `redis_topology` fixture (tests/conftest.py): two Rasa servers on one
throwaway redis-server, started with the environment docker-compose.yml gives them.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid

import pytest
import redis

from bot.knowledge.paths import repo_root
from bot.serving.tracker_stores import conversation_ids, open_tracker_store
from tests.conftest import Topology
from tests.stack import RasaServer, RedisServer, free_port, run_at_once

ENDPOINTS = repo_root() / "endpoints.redis.yml"


def user_texts(tracker: dict) -> list[str]:
    return [e.get("text") for e in tracker["events"] if e["event"] == "user"]


def turns_are_not_interleaved(tracker: dict) -> bool:
    """After each user message the bot finishes (action_listen) before the next user message."""
    waiting = False
    for event in tracker["events"]:
        if event["event"] == "user":
            if waiting:
                return False
            waiting = True
        elif event["event"] == "action" and event.get("name") == "action_listen":
            waiting = False
    return True


# --- endpoints.redis.yml as Rasa reads it ----------------------------------------------------

@pytest.fixture(scope="module")
def scratch_redis(tmp_path_factory: pytest.TempPathFactory):
    server = RedisServer(port=free_port(), workdir=tmp_path_factory.mktemp("scratch-redis")).start()
    yield server
    server.stop()


def test_endpoints_file_works_with_string_variables_and_empty_password(
    scratch_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Environment variables are strings ("6379", "1", "60", ""): Rasa's stores must accept them."""
    from rasa.core.lock_store import LockStore
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import read_endpoint_config

    for key, value in {**scratch_redis.env(record_exp="60"), "REDIS_DB": "1",
                       "ACTION_ENDPOINT_URL": "http://127.0.0.1:1/webhook"}.items():
        monkeypatch.setenv(key, value)
    store = open_tracker_store(ENDPOINTS)
    assert type(store).__name__ == "RetryingRedisTrackerStore"

    async def roundtrip() -> None:
        await store.save(DialogueStateTracker.from_events("string-env", [UserUttered("bonjour")]))
        assert await conversation_ids(store) == ["string-env"]
        lock_store = LockStore.create(read_endpoint_config(str(ENDPOINTS), "lock_store"))
        assert type(lock_store).__name__ == "AtomicRedisLockStore"
        async with lock_store.lock("string-env"):
            pass

    asyncio.run(roundtrip())
    client = redis.Redis(port=scratch_redis.port, db=1)
    assert client.exists("oim:tracker:string-env")
    assert 0 < client.ttl("oim:tracker:string-env") <= 60  # REDIS_RECORD_EXP: forgotten after 60 s
    assert not redis.Redis(port=scratch_redis.port, db=0).keys("*")  # REDIS_DB="1" was honoured


def test_health_checks_see_the_redis_of_the_atomic_lock_store(tmp_path) -> None:
    from bot.serving.tracker_stores import redis_servers

    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store: {type: redis, url: 127.0.0.1, port: 6390}\n"
        "lock_store: {type: bot.serving.redis_lock_store.AtomicRedisLockStore, url: 127.0.0.1, port: 6391, db: 2}\n",
        encoding="utf-8",
    )
    assert [(s["port"], s["db"]) for s in redis_servers(endpoints)] == [(6390, 0), (6391, 2)]


def _texts_or_names(tracker) -> list[str]:
    return [e.as_dict().get("text") or e.as_dict().get("name") for e in tracker.events]


def test_a_save_adds_the_turn_and_a_replica_that_missed_events_still_merges(scratch_redis: RedisServer) -> None:
    """The usual save (the tracker read, then its turn added) is written as it is, without Rasa's
    merge (it rebuilt both trackers from their events, 3-7 ms a turn); a tracker that lacks events
    another replica stored is merged as Rasa does: no event of either is lost."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.serving import redis_tracker_store as module

    store = module.RetryingRedisTrackerStore(
        Domain.empty(), host="127.0.0.1", port=scratch_redis.port, db=3, key_prefix="merge"
    )

    async def scenario() -> tuple[list[str], list[str]]:
        first = DialogueStateTracker.from_events("c1", [UserUttered("bonjour", timestamp=1.0)])
        await store.save(first)
        read = await store.retrieve("c1")
        read.update(ActionExecuted("utter_greet", timestamp=2.0))
        read.update(UserUttered("et le retour ?", timestamp=3.0))
        await store.save(read)  # extends what is stored
        usual = _texts_or_names(await store.retrieve("c1"))
        stale = DialogueStateTracker.from_events(
            "c1", [UserUttered("bonjour", timestamp=1.0), UserUttered("autre réplique", timestamp=4.0)]
        )
        await store.save(stale)  # lacks the events another replica stored: merged
        merged = _texts_or_names(await store.retrieve("c1"))
        return usual, merged

    usual, merged = asyncio.run(scenario())
    assert usual == ["bonjour", "utter_greet", "et le retour ?"], usual
    assert {"bonjour", "utter_greet", "et le retour ?", "autre réplique"} <= set(merged), merged
    assert module._extends('{"events": [{"a": 1}, {"b": 2}]}', '{"events": [{"a": 1}]}')
    assert not module._extends('{"events": [{"a": 1}]}', '{"events": [{"a": 1}, {"b": 2}]}')


# --- bot.serving.redis_lock_store: tickets across processes --------------------------------------------

def _lock_stores(server: RedisServer, count: int) -> list:
    """Separate clients (connections) of one Redis, as separate Rasa replicas would be."""
    from bot.serving.redis_lock_store import AtomicRedisLockStore

    return [AtomicRedisLockStore(port=server.port, db=2) for _ in range(count)]


def test_a_ticket_issued_while_another_replica_changes_the_lock_is_kept(scratch_redis: RedisServer) -> None:
    """The race of Rasa's RedisLockStore, made deterministic: replica B issues a ticket between
    replica A's read and write of the same lock. A's write must not erase B's ticket."""
    from rasa.core.lock import TicketLock
    from rasa.core.lock_store import RedisLockStore

    a, b = _lock_stores(scratch_redis, 2)
    conversation = "race-" + uuid.uuid4().hex[:8]
    b_tickets: list[int] = []

    def a_issues(lock: TicketLock) -> TicketLock:
        if not b_tickets:  # first attempt only: B slips in after A has read the lock
            b_tickets.append(b.issue_ticket(conversation))
        lock.issue_ticket(60)
        return lock

    a._change(conversation, a_issues, create=True)
    stored = [t.number for t in a.get_lock(conversation).tickets]
    assert b_tickets == [0] and stored == [0, 1]  # A retried on B's change and took the next one

    # Rasa's store, same interleaving: A writes what it read, and B's ticket is gone.
    rasa_a = RedisLockStore(port=scratch_redis.port, db=2)
    other = "race-" + uuid.uuid4().hex[:8]
    lock = rasa_a.get_or_create_lock(other)
    assert b.issue_ticket(other) == 0
    lock.issue_ticket(60)
    rasa_a.save_lock(lock)
    assert [t.number for t in rasa_a.get_lock(other).tickets] == [0]  # A and B both hold ticket 0


def test_simultaneous_tickets_from_many_clients_are_unique(scratch_redis: RedisServer) -> None:
    stores = _lock_stores(scratch_redis, 8)  # Rasa's RedisLockStore gives duplicates here every time
    for _ in range(5):
        conversation = "many-" + uuid.uuid4().hex[:8]
        tickets, errors = run_at_once([functools.partial(store.issue_ticket, conversation) for store in stores])
        assert not errors
        assert sorted(tickets) == list(range(len(stores)))  # Rasa numbers tickets from 0
        assert len(stores[0].get_lock(conversation).tickets) == len(stores)


def test_lock_serves_replicas_one_at_a_time_and_is_deleted_after_the_last(scratch_redis: RedisServer) -> None:
    first, second = _lock_stores(scratch_redis, 2)
    conversation = "serve-" + uuid.uuid4().hex[:8]
    timeline: list[str] = []

    async def handle(store, name: str, hold_s: float) -> None:
        async with store.lock(conversation, wait_time_in_seconds=0.02):
            timeline.append(f"{name} in")
            await asyncio.sleep(hold_s)
            timeline.append(f"{name} out")

    async def both() -> None:
        first_task = asyncio.create_task(handle(first, "first", 0.3))
        await asyncio.sleep(0.05)  # the first one holds the lock when the second one asks
        await asyncio.gather(first_task, handle(second, "second", 0.0))

    asyncio.run(both())
    assert timeline == ["first in", "first out", "second in", "second out"]
    assert first.get_lock(conversation) is None  # no ticket left: the lock is gone


def test_a_waiting_ticket_outlives_the_lifetime_and_a_dead_holders_ticket_does_not(
    scratch_redis: RedisServer,
) -> None:
    """Issue 17: a replica dies holding a conversation's lock (its ticket is never renewed); a
    message of that conversation waits on another replica longer than the lock lifetime. Rasa's
    loop drops the waiter's own ticket as expired too and then never serves it; here the waiter
    renews its ticket, is served as soon as the dead one expires, and the lock is gone after."""
    from rasa.core.lock_store import RedisLockStore

    dead, alive = _lock_stores(scratch_redis, 2)
    conversation = "dead-holder-" + uuid.uuid4().hex[:8]
    lifetime, dead_lifetime = 0.5, 1.5  # the dead one's ticket outlives the waiter's lifetime
    assert dead.issue_ticket(conversation, dead_lifetime) == 0  # the replica was then SIGKILLed

    async def wait_behind_the_dead_one() -> float:
        started = time.monotonic()
        async with alive.lock(conversation, lock_lifetime=lifetime, wait_time_in_seconds=0.05) as lock:
            assert lock.now_serving == 1  # its own ticket, not a new one
            return time.monotonic() - started

    waited = asyncio.run(asyncio.wait_for(wait_behind_the_dead_one(), 10))
    assert dead_lifetime - 0.2 < waited < 5  # 3 lifetimes of its own
    assert alive.get_lock(conversation) is None

    # Rasa's own loop, same timing: its ticket expires with the dead one's and it is never served.
    rasa_store = RedisLockStore(port=scratch_redis.port, db=2)
    other = "dead-holder-" + uuid.uuid4().hex[:8]
    dead.issue_ticket(other, dead_lifetime)

    async def rasa_waits() -> None:
        async with rasa_store.lock(other, lock_lifetime=lifetime, wait_time_in_seconds=0.05):
            pass

    with pytest.raises(Exception) as caught:  # LockError once the (empty) lock is deleted, else timeout
        asyncio.run(asyncio.wait_for(rasa_waits(), 3))
    assert type(caught.value).__name__ in {"LockError", "TimeoutError"}


def test_a_turn_longer_than_the_lifetime_keeps_the_lock_and_a_lost_ticket_is_replaced(
    scratch_redis: RedisServer,
) -> None:
    first, second = _lock_stores(scratch_redis, 2)
    conversation = "slow-turn-" + uuid.uuid4().hex[:8]
    lifetime = 0.3
    timeline: list[str] = []

    async def handle(store, name: str, hold_s: float) -> None:
        async with store.lock(conversation, lock_lifetime=lifetime, wait_time_in_seconds=0.05):
            timeline.append(f"{name} in")
            await asyncio.sleep(hold_s)
            timeline.append(f"{name} out")

    async def both() -> None:
        first_task = asyncio.create_task(handle(first, "first", 4 * lifetime))  # renewed while it runs
        await asyncio.sleep(0.05)
        await asyncio.gather(first_task, handle(second, "second", 0.0))

    asyncio.run(both())
    assert timeline == ["first in", "first out", "second in", "second out"]
    assert first.get_lock(conversation) is None

    # A waiter whose ticket vanished takes a new one at the back instead of hanging; if the whole
    # lock vanished (Redis lost the key), it fails as Rasa's does rather than run beside the holder.
    from rasa.core.lock_store import LockError

    other = "lost-" + uuid.uuid4().hex[:8]
    for _ in range(3):
        first.issue_ticket(other, 60)
    ticket = [second.issue_ticket(other, 60)]
    assert ticket == [3]
    first.red.delete(first.key_prefix + other)
    with pytest.raises(LockError):
        second.renew(other, ticket, 60)
    first.issue_ticket(other, 60)  # a new message after the crash: ticket 0 of a new lock
    lock = second.renew(other, ticket, 60)
    assert ticket == [1] and [t.number for t in lock.tickets] == [0, 1]  # behind it, never beside it


# --- Rasa replicas on Redis ------------------------------------------------------------------

def test_conversation_survives_a_rasa_restart(redis_topology: Topology) -> None:
    first: RasaServer = redis_topology.rasa[0]
    sender = "restart-" + uuid.uuid4().hex[:10]
    assert first.texts(sender, "retour volontaire")
    before = first.tracker(sender)["slots"]
    assert before["topic"] == "programme.voluntary_return"
    assert before["programme"] == "voluntary_return"

    first.stop()
    # While this replica is down the web service keeps answering through the other one.
    status, body = redis_topology.web.chat(uuid.uuid4().hex, "bonjour")
    assert status == 200, body
    first.start()

    answer = "\n".join(first.texts(sender, "et depuis le yemen ?"))
    tracker = first.tracker(sender)
    assert user_texts(tracker) == ["retour volontaire", "et depuis le yemen ?"]
    assert tracker["slots"]["programme"] == "voluntary_return"
    assert tracker["slots"]["topic"] == "programme.voluntary_return"
    assert "Yémen" in answer or tracker["slots"].get("country") == "Yémen"


def test_two_replicas_answer_one_conversation_in_order(redis_topology: Topology) -> None:
    a, b = redis_topology.rasa
    sender = "alternate-" + uuid.uuid4().hex[:10]
    messages = ["bonjour", "c'est quoi l'OIM ?", "retour volontaire", "et depuis le yemen ?", "merci"]
    for i, message in enumerate(messages):
        assert (a if i % 2 == 0 else b).texts(sender, message), message
    for replica in (a, b):
        tracker = replica.tracker(sender)
        assert user_texts(tracker) == messages
        assert turns_are_not_interleaved(tracker)
        bots = [e for e in tracker["events"] if e["event"] == "bot"]
        assert len(bots) >= len(messages)


def test_simultaneous_messages_are_serialised_by_the_redis_lock(redis_topology: Topology) -> None:
    """Two replicas get a message of one conversation at the same moment, three times: both
    messages are kept, one turn after the other (Rasa's own Redis lock store lost one here)."""
    a, b = redis_topology.rasa
    for _ in range(3):
        sender = "lock-" + uuid.uuid4().hex[:10]
        a.texts(sender, "bonjour")
        _, errors = run_at_once([
            functools.partial(a.send, sender, "c'est quoi l'OIM ?", timeout_s=120),
            functools.partial(b.send, sender, "retour volontaire", timeout_s=120),
        ])
        assert not errors
        tracker = b.tracker(sender)
        assert sorted(user_texts(tracker)[1:]) == ["c'est quoi l'OIM ?", "retour volontaire"]
        assert turns_are_not_interleaved(tracker)


def test_conversations_expire_in_redis(redis_topology: Topology) -> None:
    sender = "ttl-" + uuid.uuid4().hex[:10]
    redis_topology.rasa[1].texts(sender, "bonjour")
    client = redis.Redis(port=redis_topology.redis.port)
    ttl = client.ttl(f"oim:tracker:{sender}")
    assert 0 < ttl <= 2592000  # REDIS_RECORD_EXP as docker-compose.yml sets it
