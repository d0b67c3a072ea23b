"""The three set-ups `make bench` compares, started as real processes on free loopback ports.

Why: each figure must come from what users would really run. `stock` is the `rasa init` bot served
by one `rasa run` with the REST channel; `ours` is what scripts/run.sh starts (action server + one
Rasa, SQLite tracker store); `scaled` is the production topology: Redis tracker and lock stores,
one action server, several Rasa replicas behind benchmarks/balancer.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge.paths import repo_root
from tests.stack import (
    ActionServer,
    RasaServer,
    RedisServer,
    base_env,
    free_port,
    free_ports,
    start_all,
    stop_process,
    wait_http,
    write_sqlite_endpoints,
)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, from /proc (no psutil)."""
    total_kb = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return round(total_kb / 1024, 1)


def first_answer(url: str, text: str, timeout_s: float = 120) -> None:
    """Poll until the REST channel answers `text` with at least one message."""
    import json

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            url + "/webhooks/rest/webhook", method="POST",
            data=json.dumps({"sender": f"ready-{time.time_ns()}", "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                if json.loads(response.read()):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} gave no answer to {text!r} within {timeout_s} s")


@dataclass
class Topology:
    """A running set-up: its public URL, its processes by role, and how long it took to be ready."""

    name: str
    url: str
    ready_s: float = 0.0
    parts: dict[str, object] = field(default_factory=dict)  # role -> server object with .process
    extra: list[subprocess.Popen] = field(default_factory=list)

    def rss(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for role, part in self.parts.items():
            process = getattr(part, "process", part)
            if isinstance(process, subprocess.Popen) and process.poll() is None:
                out[role] = rss_mb(process.pid)
        return out

    def stop(self) -> None:
        for process in self.extra:
            stop_process(process)
        for part in reversed(list(self.parts.values())):
            stop = getattr(part, "stop", None)
            if stop is not None:
                stop()
            elif isinstance(part, subprocess.Popen):
                stop_process(part)


def start_stock(workdir: Path, model: Path, first_message: str) -> Topology:
    """`rasa run` of the stock model with Rasa's own REST channel and the same SQLite store."""
    workdir.mkdir(parents=True, exist_ok=True)
    credentials = workdir / "credentials.yml"
    credentials.write_text("rest:\n", encoding="utf-8")
    endpoints = write_sqlite_endpoints(workdir / "endpoints.yml", "http://127.0.0.1:9", workdir / "trackers.db",
                                       stock=True)
    rasa = RasaServer(port=free_port(), model=model, endpoints=endpoints, log_path=workdir / "rasa.log",
                      credentials=credentials, stock=True)
    started = time.monotonic()
    rasa.start()
    first_answer(rasa.url, first_message)
    return Topology("stock", rasa.url, time.monotonic() - started, {"rasa": rasa})


def start_ours(workdir: Path, model: Path, first_message: str, knowledge_dir: Path | None = None,
               env: dict[str, str] | None = None) -> Topology:
    """As scripts/run.sh: action server and Rasa started together, SQLite tracker store.
    `env`: both processes' environment instead of tests.stack.base_env() (e.g. a messaging connector's)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(env) if env is not None else base_env()
    if knowledge_dir is not None:
        env["OIM_KNOWLEDGE_DIR"] = str(knowledge_dir)
    actions_port, rasa_port = free_ports(2)
    actions = ActionServer(port=actions_port, log_path=workdir / "actions.log", env=env)
    endpoints = write_sqlite_endpoints(workdir / "endpoints.yml", actions.url, workdir / "trackers.db")
    rasa = RasaServer(port=rasa_port, model=model, endpoints=endpoints, log_path=workdir / "rasa.log", env=dict(env))
    started = time.monotonic()
    topology = Topology("ours", rasa.url, parts={"actions": actions, "rasa": rasa})
    try:
        start_all(actions, rasa)
        first_answer(rasa.url, first_message)
    except BaseException:
        topology.stop()
        raise
    topology.ready_s = time.monotonic() - started
    return topology


def start_scaled(workdir: Path, model: Path, first_message: str, replicas: int = 2) -> Topology:
    """Redis + action server + `replicas` Rasa processes (endpoints.redis.yml) + benchmarks/balancer.py."""
    workdir.mkdir(parents=True, exist_ok=True)
    topology = Topology("scaled", "")
    try:
        redis_port, actions_port, balancer_port, *rasa_ports = free_ports(3 + replicas)
        redis = RedisServer(port=redis_port, workdir=workdir).start()
        topology.parts["redis"] = redis
        actions = ActionServer(port=actions_port, log_path=workdir / "actions.log")
        env = {**base_env(), **redis.env(key_prefix="bench"), "ACTION_ENDPOINT_URL": f"{actions.url}/webhook"}
        servers = [
            RasaServer(port=port, model=model, endpoints=repo_root() / "endpoints.redis.yml",
                       log_path=workdir / f"rasa-{i}.log", env=dict(env))
            for i, port in enumerate(rasa_ports)
        ]
        topology.parts["actions"] = actions
        for i, server in enumerate(servers):
            topology.parts[f"rasa_{i + 1}"] = server
        started = time.monotonic()
        start_all(actions, *servers)
        command = [sys.executable, "-m", "benchmarks.balancer", "--port", str(balancer_port),
                   *[arg for s in servers for arg in ("--backend", s.url)]]
        log = open(workdir / "balancer.log", "ab")  # noqa: SIM115 - owned by the child
        balancer = subprocess.Popen(command, cwd=repo_root(), env=base_env(), stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        topology.parts["balancer"] = balancer
        topology.url = f"http://127.0.0.1:{balancer_port}"
        wait_http(f"{topology.url}/balancer/health", 30, balancer)
        for server in servers:  # every replica answers once before it is timed
            first_answer(server.url, first_message)
        topology.ready_s = time.monotonic() - started
    except BaseException:
        topology.stop()
        raise
    return topology
