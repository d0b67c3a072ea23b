"""Reliability through the real stack: load without cross-talk, and faults users must survive.

- 50 concurrent conversations (4 turns each here; OIM_LOAD_TURNS=20 for the full load, which
  benchmarks/ measures): no error, every reply is the answer to its own message, every tracker
  holds exactly its own messages in order.
- Action server killed or hung: a polite French message (bot/serving/rest_channel.py) instead of silence,
  and answers resume when it is back.
- With Redis stores: a Rasa restart keeps the conversation's context; Redis down gives the polite
  message (Rasa neither hangs nor crashes) and /health says so; both recover when Redis is back.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.knowledge.paths import repo_root
from tests.stack import (
    ActionServer,
    RasaServer,
    RedisServer,
    WebServer,
    base_env,
    free_ports,
    post_json,
    start_all,
    stop_all,
)

ERROR_TEXT: str = yaml.safe_load((repo_root() / "domain.yml").read_text(encoding="utf-8"))[
    "responses"]["utter_action_error"][0]["text"]

# Context-free messages with pairwise different answers (6 need the action server). 11 is prime:
# conversation i sends LOAD_MESSAGES[(a*t + b) % 11] at turn t, a distinct (a, b) per conversation.
LOAD_MESSAGES = [
    "bonjour", "merci", "tu es un robot ?", "que sais-tu faire ?", "au revoir",
    "qui dirige l'OIM ?", "combien d'États membres ?", "l'OIM a été créée quand ?",
    "l'OIM fait partie de l'ONU ?", "dans combien de pays est l'OIM ?", "c'est quoi l'évacuation humanitaire ?",
]
CONVERSATIONS, TURNS = 50, int(os.environ.get("OIM_LOAD_TURNS", "4"))
KNOWLEDGE_QUESTION = "qui dirige l'OIM ?"


def load_scripts(run_id: str) -> dict[str, list[str]]:
    n = len(LOAD_MESSAGES)
    pairs = [(a, b) for a in range(1, n) for b in range(n)][:CONVERSATIONS]
    return {f"load-{run_id}-{i}": [LOAD_MESSAGES[(a * t + b) % n] for t in range(TURNS)]
            for i, (a, b) in enumerate(pairs)}


async def _converse(session: aiohttp.ClientSession, url: str, sender: str, turns: list[str]) -> list[list[str]]:
    replies = []
    for text in turns:
        async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                timeout=aiohttp.ClientTimeout(total=60)) as response:
            assert response.status == 200, f"{sender}: HTTP {response.status}"
            replies.append([m["text"] for m in await response.json() if m.get("text")])
    return replies


async def _run_all(url: str, scripts: dict[str, list[str]]) -> dict[str, list[list[str]]]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        results = await asyncio.wait_for(
            asyncio.gather(*(_converse(session, url, s, turns) for s, turns in scripts.items())), timeout=240)
    return dict(zip(scripts, results, strict=True))


def test_50_concurrent_conversations_without_errors_or_cross_talk(stack: RasaServer) -> None:
    expected = {m: stack.texts(f"ref-{uuid.uuid4().hex}", m) for m in LOAD_MESSAGES}
    answers = [tuple(v) for v in expected.values()]
    assert len(set(answers)) == len(answers), "the load messages must have pairwise different answers"
    assert all(answers) and not any(ERROR_TEXT in a for a in answers)

    scripts = load_scripts(uuid.uuid4().hex[:8])
    started = time.monotonic()
    replies = asyncio.run(_run_all(stack.url, scripts))
    elapsed = time.monotonic() - started
    print(f"\n{CONVERSATIONS * TURNS} turns in {elapsed:.1f} s ({CONVERSATIONS * TURNS / elapsed:.1f} msg/s)")

    for sender, turns in scripts.items():
        for t, (text, reply) in enumerate(zip(turns, replies[sender], strict=True)):
            assert reply == expected[text], f"{sender} turn {t}: {text!r} got {reply!r}"
        events = stack.tracker(sender)["events"]
        assert [e["text"] for e in events if e["event"] == "user"] == turns, sender
        # The REST channel sends a text in parts split at blank lines, as Rasa's output channels do.
        said = [part for e in events if e["event"] == "bot" and e.get("text") for part in e["text"].strip().split("\n\n")]
        assert said == [text for reply in replies[sender] for text in reply], sender


def test_the_sqlite_store_is_durable_and_fast(stack: RasaServer) -> None:
    """The store of endpoints.yml (bot/serving/sqlite_tracker_store.py), as the stack uses it: WAL mode."""
    import sqlite3

    from bot.serving.sqlite_tracker_store import STORE_TYPE

    assert f"type: {STORE_TYPE}" in stack.endpoints.read_text()
    db = next(line.split('"')[1] for line in stack.endpoints.read_text().splitlines() if "db:" in line)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- Faults on a Redis-backed stack of this module's own ------------------------------------------

REPLY_TIMEOUT_S = 4.0  # OIM_REPLY_TIMEOUT_S of this stack: a hung action server is noticed fast


@dataclass
class RedisStack:
    redis: RedisServer
    actions: ActionServer
    rasa: RasaServer
    web: WebServer
    workdir: Path

    def restart_actions(self) -> None:
        self.actions = ActionServer(port=self.actions.port, log_path=self.workdir / "actions.log").start()


@pytest.fixture(scope="module")
def redis_stack(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisStack]:
    workdir = tmp_path_factory.mktemp("reliability")
    redis_port, actions_port, rasa_port, web_port = free_ports(4)
    redis = RedisServer(port=redis_port, workdir=workdir).start()  # stopped with the others below
    actions = ActionServer(port=actions_port, log_path=workdir / "actions.log")
    store_env = {**redis.env(key_prefix="reliability"), "ACTION_ENDPOINT_URL": f"{actions.url}/webhook"}
    rasa = RasaServer(port=rasa_port, model=model_path, endpoints=repo_root() / "endpoints.redis.yml",
                      log_path=workdir / "rasa.log",
                      env={**base_env(), **store_env, "OIM_REPLY_TIMEOUT_S": str(REPLY_TIMEOUT_S)})
    web = WebServer(port=web_port, log_path=workdir / "web.log", settings={
        **store_env, "OIM_STORE": "redis", "OIM_RASA_URL": rasa.url, "OIM_ACTIONS_URL": actions.url,
    })
    stack = RedisStack(redis, actions, rasa, web, workdir)
    try:
        start_all(stack.actions, stack.rasa)
        stack.web.start()
        yield stack
    finally:
        stack.web.stop()  # first: its keep-alive connections would hold Rasa's graceful shutdown
        stop_all(stack.rasa, stack.actions, stack.redis)


def timed_texts(server: RasaServer, sender: str, text: str) -> tuple[float, list[str]]:
    started = time.monotonic()
    status, body = post_json(f"{server.url}/webhooks/rest/webhook", {"sender": sender, "message": text}, 60)
    assert status == 200, body[:300]
    return time.monotonic() - started, [m["text"] for m in json.loads(body) if m.get("text")]


def turn_finished(events: list[dict]) -> bool:
    """Whether the last user message's turn is over (Rasa listens again after it)."""
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    return any(e.get("event") == "action" and e.get("name") == "action_listen" for e in events[last_user + 1:])


def health(web: WebServer) -> tuple[int, dict]:
    status, _, body = web.request("GET", "/health")
    return status, json.loads(body)


def test_killed_action_server_gives_a_polite_message_then_answers_resume(redis_stack: RedisStack) -> None:
    sender = f"kill-{uuid.uuid4().hex}"
    assert "Source" in " ".join(redis_stack.rasa.texts(sender, KNOWLEDGE_QUESTION))
    os.killpg(redis_stack.actions.process.pid, signal.SIGKILL)  # type: ignore[union-attr]
    redis_stack.actions.process.wait(timeout=10)  # type: ignore[union-attr]
    try:
        elapsed, texts = timed_texts(redis_stack.rasa, sender, KNOWLEDGE_QUESTION)
        assert texts == [ERROR_TEXT]
        assert elapsed < 2.0, f"the polite message took {elapsed:.1f} s"
        greeting = " ".join(redis_stack.rasa.texts(sender, "bonjour"))  # no action server needed
        assert "OIM" in greeting and ERROR_TEXT not in greeting
    finally:
        redis_stack.restart_actions()
    answer = " ".join(redis_stack.rasa.texts(sender, KNOWLEDGE_QUESTION))
    assert "Source" in answer and ERROR_TEXT not in answer


def test_hung_action_server_gives_a_polite_message_within_the_reply_timeout(redis_stack: RedisStack) -> None:
    sender = f"hung-{uuid.uuid4().hex}"
    os.killpg(redis_stack.actions.process.pid, signal.SIGSTOP)  # type: ignore[union-attr]
    try:
        elapsed, texts = timed_texts(redis_stack.rasa, sender, KNOWLEDGE_QUESTION)
        assert texts == [ERROR_TEXT]
        assert elapsed < REPLY_TIMEOUT_S + 3, f"the polite message took {elapsed:.1f} s"
    finally:
        os.killpg(redis_stack.actions.process.pid, signal.SIGCONT)  # type: ignore[union-attr]
    # The late turn finishes in the background (on a busy machine this takes longer than the reply
    # timeout: wait for it in the tracker); the same conversation then goes on normally.
    deadline = time.monotonic() + 60
    while not turn_finished(redis_stack.rasa.tracker(sender)["events"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    elapsed, texts = timed_texts(redis_stack.rasa, sender, "combien d'États membres ?")
    assert texts and ERROR_TEXT not in texts and "Source" in " ".join(texts)


def test_rasa_restart_keeps_the_conversation_context(redis_stack: RedisStack) -> None:
    first, follow_up = "je veux rentrer chez moi", "comment faire la demande ?"
    without_context = redis_stack.rasa.texts(f"fresh-{uuid.uuid4().hex}", follow_up)
    reference = f"ref-{uuid.uuid4().hex}"
    redis_stack.rasa.texts(reference, first)
    expected = redis_stack.rasa.texts(reference, follow_up)
    assert expected != without_context, "the follow-up must depend on the context for this test to mean anything"

    sender = f"restart-{uuid.uuid4().hex}"
    redis_stack.rasa.texts(sender, first)
    slots_before = redis_stack.rasa.tracker(sender)["slots"]
    assert slots_before.get("programme") == "voluntary_return"
    redis_stack.rasa.stop()
    redis_stack.rasa.start()
    assert redis_stack.rasa.tracker(sender)["slots"]["programme"] == "voluntary_return"
    assert redis_stack.rasa.texts(sender, follow_up) == expected


def test_redis_down_gives_a_polite_message_and_health_says_so_then_recovers(redis_stack: RedisStack) -> None:
    status, body = health(redis_stack.web)
    assert status == 200, body
    rasa_pid = redis_stack.rasa.process.pid  # type: ignore[union-attr]
    redis_stack.redis.stop()
    try:
        for i in range(3):
            elapsed, texts = timed_texts(redis_stack.rasa, f"redis-down-{i}", "bonjour")
            assert texts == [ERROR_TEXT]
            assert elapsed < 5, f"Rasa took {elapsed:.1f} s to give up on Redis"
        status, body = health(redis_stack.web)
        assert status == 503 and "redis" in body["down"], body
        assert redis_stack.rasa.process.poll() is None  # type: ignore[union-attr]
    finally:
        redis_stack.redis.start()
    deadline = time.monotonic() + 20
    texts: list[str] = []
    while time.monotonic() < deadline:
        _, texts = timed_texts(redis_stack.rasa, f"redis-back-{uuid.uuid4().hex}", "bonjour")
        if texts != [ERROR_TEXT]:
            break
        time.sleep(0.5)
    assert "OIM" in " ".join(texts) and ERROR_TEXT not in texts, texts
    assert redis_stack.rasa.process.pid == rasa_pid and redis_stack.rasa.process.poll() is None  # type: ignore[union-attr]
    status, body = health(redis_stack.web)
    assert status == 200, body


# --- benchmarks/balancer.py in front of real HTTP replicas ------------------------------------------------


class _Replica:
    """A tiny real HTTP server that answers with its own name (stands for one Rasa replica)."""

    def __init__(self, name: str, port: int) -> None:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.dumps({"replica": name, "path": self.path,
                                   "echo": self.rfile.read(length).decode()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()


def test_balancer_spreads_requests_skips_a_dead_replica_and_says_when_none_is_left(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.stack import http_request, stop_process, wait_http

    port_a, port_b, port_lb = free_ports(3)
    replicas = [_Replica("a", port_a), _Replica("b", port_b)]
    balancer = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.balancer", "--port", str(port_lb),
         "--backend", f"http://127.0.0.1:{port_a}", "--backend", f"http://127.0.0.1:{port_b}"],
        cwd=repo_root(), env=base_env(), stdout=open(tmp_path / "lb.log", "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port_lb}"
    try:
        wait_http(f"{url}/balancer/health", 30, balancer)
        seen = []
        for i in range(4):
            status, _, body = http_request(f"{url}/webhooks/rest/webhook?x={i}", "POST", b'{"m": 1}',
                                           {"Content-Type": "application/json"})
            answer = json.loads(body)
            assert status == 200 and answer["echo"] == '{"m": 1}' and answer["path"].endswith(f"?x={i}")
            seen.append(answer["replica"])
        assert sorted(seen) == ["a", "a", "b", "b"], seen  # round-robin

        replicas[0].stop()
        for _ in range(4):  # a refused connection is retried on the other replica: no error
            status, _, body = http_request(f"{url}/", timeout_s=10)
            assert status == 200 and json.loads(body)["replica"] == "b"
        replicas[1].stop()
        status, _, body = http_request(f"{url}/webhooks/rest/webhook", "POST", b"{}", timeout_s=10)
        assert status == 503 and "error" in json.loads(body)
        time.sleep(2.5)  # the health loop (every second) has seen both down
        status, _, body = http_request(f"{url}/balancer/health", timeout_s=10)
        assert status == 503 and {b["status"] for b in json.loads(body)["backends"]} == {"down"}
    finally:
        stop_process(balancer)
        for replica in replicas:
            replica.stop()
