"""Redis as docker-compose.yml runs it (AOF) keeps conversations across a restart.

A real redis-server is started with the `command` of the compose `redis` service (its own port,
loopback, a temporary --dir); a conversation with slots is written through the tracker store that
endpoints.redis.yml configures (Rasa's RedisTrackerStore), Redis is stopped (SIGTERM, then SIGKILL
after the one-second fsync) and started again on the same directory, and the conversation is read
back and goes on. The old set-up (`--save "" --appendonly no`) loses it: the control.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from bot.serving.tracker_stores import open_tracker_store
from tests.stack import free_ports, stop_process

ROOT = Path(__file__).resolve().parents[1]


def compose_redis_args() -> list[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    command = compose["services"]["redis"]["command"]
    assert command[0] == "redis-server"
    return command[1:]


class DurableRedis:
    """redis-server with the given arguments, --dir in a temporary folder, restartable."""

    def __init__(self, args: list[str], workdir: Path) -> None:
        self.args, self.workdir = list(args), workdir
        self.port = free_ports(1)[0]
        self.process: subprocess.Popen | None = None
        if "--dir" in self.args:  # the container's /data becomes the temporary folder
            index = self.args.index("--dir")
            del self.args[index:index + 2]

    def start(self, timeout_s: float = 15) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: run scripts/system_deps.sh")
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [binary, *self.args, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            assert self.process.poll() is None and time.monotonic() < deadline, (
                (self.workdir / "redis.log").read_text(errors="replace"))
            time.sleep(0.1)

    def ready(self) -> bool:
        import redis

        try:  # ping answers LOADING while the AOF is being read: wait for a real read
            client = redis.Redis(port=self.port, socket_timeout=1)
            client.get("oim-readiness-probe")
            return True
        except redis.RedisError:
            return False

    def kill(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=15)
        self.process = None

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def env(self) -> dict[str, str]:
        return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port), "REDIS_DB": "0", "REDIS_PASSWORD": "",
                "REDIS_KEY_PREFIX": "oimtest", "REDIS_RECORD_EXP": "3600",
                "ACTION_ENDPOINT_URL": "http://127.0.0.1:5055/webhook"}


@pytest.fixture
def redis_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    started: list[DurableRedis] = []

    def make(args: list[str]) -> DurableRedis:
        server = DurableRedis(args, tmp_path)
        server.start()
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def store():
    """The tracker store endpoints.redis.yml configures, as Rasa opens it (fresh connection)."""
    return open_tracker_store(ROOT / "endpoints.redis.yml")


def first_turn(sender: str):
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker(sender, store().domain.slots)
    for event in [
        ActionExecuted("action_listen"),
        UserUttered("je veux rentrer chez moi", {"name": "ask_voluntary_return", "confidence": 0.97}),
        ActionExecuted("action_answer_question"),
        SlotSet("programme", "voluntary_return"),
        SlotSet("topic", "programme.voluntary_return"),
        BotUttered("L'aide au retour volontaire ... Source : OIM"),
        ActionExecuted("action_listen"),
    ]:
        tracker.update(event)
    return tracker


def test_compose_redis_is_durable():
    args = compose_redis_args()
    assert args[args.index("--appendonly") + 1] == "yes"
    assert "--save" not in args or args[args.index("--save") + 1] != ""  # no "persistence off"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    (volume,) = compose["services"]["redis"]["volumes"]
    name, _, target = volume.partition(":")
    assert target == args[args.index("--dir") + 1] == "/data" and name in compose["volumes"]


async def test_conversation_survives_redis_restarts_with_its_slots(redis_factory):
    from rasa.shared.core.events import SlotSet, UserUttered

    redis_server = redis_factory(compose_redis_args())
    assert type(store()).__name__ == "RetryingRedisTrackerStore"  # bot/serving/redis_tracker_store.py
    sender = f"durable-{uuid.uuid4().hex[:8]}"
    await store().save(first_turn(sender))

    # 1. A clean stop and start (docker compose restart, a rescheduled pod): AOF is written on exit.
    redis_server.kill(signal.SIGTERM)
    redis_server.start()
    tracker = await store().retrieve(sender)
    assert tracker is not None, "the conversation was lost by a Redis restart"
    assert tracker.get_slot("programme") == "voluntary_return"
    assert tracker.get_slot("topic") == "programme.voluntary_return"
    assert tracker.latest_message.text == "je veux rentrer chez moi"

    # 2. The conversation goes on after the restart, then Redis crashes (SIGKILL) more than the
    # one-second fsync interval after the write: nothing is lost either.
    tracker.update(UserUttered("et depuis le yémen ?", {"name": "inform", "confidence": 0.9}))
    tracker.update(SlotSet("country", "Yémen"))
    await store().save(tracker)
    time.sleep(2.0)
    redis_server.kill(signal.SIGKILL)
    redis_server.start()
    again = await store().retrieve(sender)
    assert again is not None
    assert again.get_slot("country") == "Yémen" and again.get_slot("programme") == "voluntary_return"
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == [
        "je veux rentrer chez moi", "et depuis le yémen ?"]


async def test_control_without_persistence_the_conversation_is_lost(redis_factory):
    redis_server = redis_factory(["--save", "", "--appendonly", "no"])  # the former compose command
    sender = f"volatile-{uuid.uuid4().hex[:8]}"
    await store().save(first_turn(sender))
    assert await store().retrieve(sender) is not None
    redis_server.kill(signal.SIGTERM)
    redis_server.start()
    assert await store().retrieve(sender) is None


async def test_a_turn_saved_while_redis_restarts_is_stored_not_dropped(redis_factory):
    """Rasa's FailSafeTrackerStore keeps a failed save in process memory only and answers anyway:
    the turn is lost. Our store waits out a short outage: the save started while Redis is down
    completes once it is back, and the conversation holds the turn (Rasa's store raises at once)."""
    import asyncio

    from rasa.core.tracker_store import RedisTrackerStore

    redis_server = redis_factory(compose_redis_args())
    sender = f"outage-{uuid.uuid4().hex[:8]}"
    ours = store()
    redis_server.kill(signal.SIGKILL)
    with pytest.raises(Exception, match="(?i)connect"):
        plain = RedisTrackerStore(ours.domain, host="127.0.0.1", port=redis_server.port, key_prefix="oimtest")
        await plain.save(first_turn(sender))

    saving = asyncio.ensure_future(ours.save(first_turn(sender)))
    await asyncio.sleep(1.0)
    assert not saving.done(), "the save gave up while Redis was down"
    redis_server.start()
    await asyncio.wait_for(saving, timeout=15)
    tracker = await store().retrieve(sender)
    assert tracker is not None and tracker.latest_message.text == "je veux rentrer chez moi"
