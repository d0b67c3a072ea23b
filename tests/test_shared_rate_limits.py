"""Rate limits shared by web replicas: two real `python -m bot web` processes count in one Redis.

Why: behind a load balancer each message of a person may reach another web replica; a limit counted
per process would let them send (limit x replicas) messages. The web service counts in the Redis of
its endpoints file (bot/serving/web/ratelimit.py); here two processes with endpoints.redis.yml on a
private redis-server share a limit of 3 messages a minute per conversation, and the control (the same
two processes counting in memory) shows the test would catch counts kept per process. Rasa is not
the point: both processes talk to the in-process fake REST channel (tests/web_app.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from bot.knowledge.paths import repo_root
from bot.serving.web.ratelimit import NAMESPACE
from tests.stack import RedisServer, WebServer, free_port
from tests.web_app import FakeRasa, sqlite_endpoints

SENDER_LIMIT = 3


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(port=free_port(), workdir=tmp_path_factory.mktemp("limits-redis")).start()
    try:
        yield server
    finally:
        server.stop()


def start_pair(fake: FakeRasa, workdir: Path, name: str, **settings: str) -> list[WebServer]:
    """Two web processes in front of `fake`, with the same settings, started in parallel."""
    common = {
        "OIM_RASA_URL": fake.url, "OIM_ACTIONS_URL": fake.url, "OIM_RATE_SENDER_PER_MIN": str(SENDER_LIMIT),
        "OIM_RATE_IP_PER_MIN": "1000", "OIM_TRACKER_RETENTION_DAYS": "0", **settings,
    }
    servers = [WebServer(port=free_port(), log_path=workdir / f"{name}-{i}.log", settings=dict(common)) for i in (1, 2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda server: server.start(), servers))
    return servers


async def statuses(servers: list[WebServer], sender: str, count: int) -> list[tuple[int, str | None]]:
    """`count` messages of one conversation, alternating between the servers: (status, Retry-After)."""
    results = []
    for i in range(count):
        status, headers, _ = await asyncio.to_thread(  # off the loop: the fake Rasa answers on it
            servers[i % len(servers)].request, "POST", "/api/chat",
            f'{{"sender": "{sender}", "message": "bonjour {i}"}}'.encode(), {"Content-Type": "application/json"},
        )
        results.append((status, headers.get("retry-after")))
    return results


async def test_two_web_processes_share_the_limit_through_redis(
    fake_rasa: FakeRasa, redis_server: RedisServer, tmp_path: Path
) -> None:
    endpoints = {"OIM_ENDPOINTS": str(repo_root() / "endpoints.redis.yml"), "ACTION_ENDPOINT_URL": f"{fake_rasa.url}/webhook"}
    servers = start_pair(fake_rasa, tmp_path, "redis", **endpoints, **redis_server.env())
    try:
        sender = uuid.uuid4().hex
        # A, B, A are allowed; the 4th message, on B (which has seen only one), is refused.
        results = await statuses(servers, sender, SENDER_LIMIT + 2)
        assert [status for status, _ in results] == [200] * SENDER_LIMIT + [429, 429], results
        assert all(wait is not None and 1 <= int(wait) <= 60 for _, wait in results[SENDER_LIMIT:])
        assert len(fake_rasa.received) == SENDER_LIMIT  # refused messages never reach Rasa
        # The limit is per conversation: another one still gets through either process.
        assert [s for s, _ in await statuses(servers[::-1], uuid.uuid4().hex, 2)] == [200, 200]
        keys = [key.decode() for key in redis.Redis(port=redis_server.port).scan_iter(match=f"*{NAMESPACE}*")]
        assert any(sender in key for key in keys), keys
    finally:
        for server in servers:
            server.stop()


async def test_control_counts_in_memory_are_per_process(fake_rasa: FakeRasa, tmp_path: Path) -> None:
    """Without Redis each process counts alone: 4 messages over two processes all pass (the test above can fail)."""
    servers = start_pair(fake_rasa, tmp_path, "memory", OIM_ENDPOINTS=str(sqlite_endpoints(tmp_path)))
    try:
        results = await statuses(servers, uuid.uuid4().hex, SENDER_LIMIT + 1)
        assert [status for status, _ in results] == [200] * (SENDER_LIMIT + 1), results
        # Each process alone still holds to the limit.
        more = await statuses([servers[0]], uuid.uuid4().hex, SENDER_LIMIT + 1)
        assert [status for status, _ in more] == [200] * SENDER_LIMIT + [429]
    finally:
        for server in servers:
            server.stop()
