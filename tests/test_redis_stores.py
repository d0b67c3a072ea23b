"""Redis tracker and lock stores (endpoints.redis.yml) with a real Redis and real Rasa replicas.

The replicas come from the `redis_topology` fixture (tests/conftest.py): two Rasa servers on one
throwaway redis-server, started with the environment docker-compose.yml gives them.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
import redis

from bot.paths import repo_root
from bot.tracker_stores import conversation_ids, open_tracker_store
from tests.conftest import Topology
from tests.stack import RasaServer, RedisServer, free_port

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
    assert type(store).__name__ == "RedisTrackerStore"

    async def roundtrip() -> None:
        await store.save(DialogueStateTracker.from_events("string-env", [UserUttered("bonjour")]))
        assert await conversation_ids(store) == ["string-env"]
        lock_store = LockStore.create(read_endpoint_config(str(ENDPOINTS), "lock_store"))
        async with lock_store.lock("string-env"):
            pass

    asyncio.run(roundtrip())
    client = redis.Redis(port=scratch_redis.port, db=1)
    assert client.exists("oim:tracker:string-env")
    assert 0 < client.ttl("oim:tracker:string-env") <= 60  # REDIS_RECORD_EXP: forgotten after 60 s
    assert not redis.Redis(port=scratch_redis.port, db=0).keys("*")  # REDIS_DB="1" was honoured


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
    a, b = redis_topology.rasa
    sender = "lock-" + uuid.uuid4().hex[:10]
    a.texts(sender, "bonjour")
    errors: list[BaseException] = []

    def send(replica: RasaServer, text: str) -> None:
        try:
            replica.send(sender, text, timeout_s=120)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(a, "c'est quoi l'OIM ?")),
               threading.Thread(target=send, args=(b, "retour volontaire"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
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
