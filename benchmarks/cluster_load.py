"""Load test of the production topology (issue 17): simulated users through a real nginx to 3 Rasa replicas.

`python -m benchmarks.cluster_load [--users 50 --turns 20 --store redis|postgres|both]` starts, on
free loopback ports: Debian's nginx with deploy/nginx/nginx.conf (rendered as tests/test_nginx.py
does: only the upstream addresses, the listen address and the temp paths change), `--replicas` Rasa
servers with the trained model, one shared action server, and the stores:

- `redis`: endpoints.redis.yml on a private redis-server with AOF (`--appendonly yes
  --appendfsync everysec`, docker-compose.yml's durability) in a temp folder;
- `postgres`: endpoints.postgres.yml on a private PostgreSQL (tests.stack.PostgresServer) for the
  conversations, a private Redis for the locks.

Every user holds one conversation of `--turns` messages taken from tests/qa/questions.yml (real
French questions, SMS spelling, follow-ups), one message after the other (think time 0: each user
sends as soon as it has its answer), all users at once. During the run one replica is SIGKILLed
(at 1/3 of the turns) and, for the Redis run, Redis itself is SIGKILLed and restarted on the same
folder (at 2/3). A turn that fails while Redis is down is sent again a second later, as a person
would (counted apart as `resent`, not as an error); nothing else is retried by the client.

Checks (exit code 1 when one fails): no HTTP error (nginx passing a message to another replica is
fine, the client never sees it); no cross-talk (every answer is addressed to its sender, and every
conversation in the tracker store, read through a surviving replica's HTTP API, holds exactly its
own user messages in order); the replica kill cost no turn and no conversation; the Redis restart
lost no conversation (every conversation stored before the crash is, event for event, the start of
the one stored after it) and no turn. Figures: requests, errors, p50/p95/p99, msg/s, resident memory
and CPU seconds per process, hence messages per second per Rasa core.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.bench import git_commit
from benchmarks.load import LoadResult, run_load
from benchmarks.topology import first_answer, rss_mb
from bot.knowledge.paths import repo_root
from tests.stack import (
    ActionServer,
    PostgresServer,
    RasaServer,
    RedisServer,
    base_env,
    free_ports,
    start_all,
    stop_process,
    trained_model,
)

QUESTIONS = repo_root() / "tests" / "qa" / "questions.yml"
SKIPPED_CATEGORIES = {"odd_input"}  # control characters, lone "?", 5000-character messages: not load
KEY_PREFIX = "loadtest"
# TICKET_LOCK_LIFETIME of the replicas, as docker-compose.yml and deploy/k8s set it (0: Rasa's
# default, 60 s). A replica that dies holding a conversation's lock leaves its ticket that long.
DEFAULT_LOCK_LIFETIME_S = 10
REDIS_OUTAGE_GRACE_S = 3.0  # failures this long after Redis answers again still come from the outage


# --- what the users say ----------------------------------------------------------------------------


def qa_conversations() -> list[list[str]]:
    """The QA set's conversations (1-3 turns each) usable as load: printable, one line, no command."""
    items = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["items"]
    usable = []
    for item in items:
        turns = [str(t) for t in item["turns"]]
        if item.get("category") in SKIPPED_CATEGORIES:
            continue
        if all(t == t.strip() and t.isprintable() and 0 < len(t) <= 300 and not t.startswith("/") for t in turns):
            usable.append(turns)
    return usable


def user_scripts(users: int, turns: int, seed: int = 17) -> list[list[str]]:
    """`users` conversations of `turns` messages: QA conversations in a shuffled order, each user from another place."""
    conversations = qa_conversations()
    random.Random(seed).shuffle(conversations)
    scripts = []
    for user in range(users):
        script: list[str] = []
        index = user * 7
        while len(script) < turns:
            script += conversations[index % len(conversations)]
            index += 1
        scripts.append(script[:turns])
    return scripts


# --- processes ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process and its descendants, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return total / ticks


class Nginx:
    """Debian's nginx running deploy/nginx/nginx.conf in front of the given ports (tests/test_nginx.py's rendering)."""

    def __init__(self, workdir: Path, upstream_ports: list[int]) -> None:
        from tests.test_nginx import Stack  # the test's own rendering of the repo's file, not a copy

        self.workdir = workdir
        self.config = Stack(workdir)
        self.config.upstreams = {f"rasa_{i + 1}": (port, None) for i, port in enumerate(upstream_ports)}
        self.process: subprocess.Popen | None = None

    @property
    def port(self) -> int:
        return self.config.nginx_port

    @property
    def url(self) -> str:
        return self.config.url

    def start(self) -> Nginx:
        from tests.test_nginx import answers, nginx_binary, wait_until

        conf = self.workdir / "nginx.conf"
        conf.write_text(self.config.local_config(), encoding="utf-8")
        check = subprocess.run([nginx_binary(), "-t", "-p", str(self.workdir), "-c", str(conf)],
                               capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed: {check.stderr}")
        errors = open(self.workdir / "nginx.err", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen([nginx_binary(), "-p", str(self.workdir), "-c", str(conf), "-g", "daemon off;"],
                                        stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        wait_until(lambda: answers(f"{self.url}/nginx-health"), what="nginx")
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


@dataclass
class Cluster:
    """nginx + `replicas` Rasa servers + one action server + the stores of `store`."""

    store: str  # "redis" or "postgres"
    workdir: Path
    replicas: int = 3
    lock_lifetime_s: int = DEFAULT_LOCK_LIFETIME_S
    redis: RedisServer | None = None
    postgres: PostgresServer | None = None
    actions: ActionServer | None = None
    rasa: list[RasaServer] = field(default_factory=list)
    nginx: Nginx | None = None
    ready_s: float = 0.0

    @property
    def endpoints(self) -> Path:
        return repo_root() / ("endpoints.redis.yml" if self.store == "redis" else "endpoints.postgres.yml")

    def start(self, model: Path) -> Cluster:
        started = time.monotonic()
        redis_port, actions_port, postgres_port, *rasa_ports = free_ports(3 + self.replicas)
        try:
            # Redis run: durable as in docker-compose.yml (it is restarted mid-run); locks only: throwaway.
            self.redis = RedisServer(port=redis_port, workdir=self.workdir, appendonly=self.store == "redis").start()
            env = {**base_env(), **self.redis.env(key_prefix=KEY_PREFIX),
                   "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook"}
            if self.lock_lifetime_s:
                env["TICKET_LOCK_LIFETIME"] = str(self.lock_lifetime_s)
            if self.store == "postgres":
                self.postgres = PostgresServer(port=postgres_port, workdir=self.workdir).start()
                env.update(self.postgres.env())
            self.actions = ActionServer(port=actions_port, log_path=self.workdir / "actions.log")
            self.rasa = [RasaServer(port=port, model=model, endpoints=self.endpoints,
                                    log_path=self.workdir / f"rasa-{i + 1}.log", env=dict(env))
                         for i, port in enumerate(rasa_ports)]
            start_all(self.actions, *self.rasa)
            for server in self.rasa:  # each replica answers once (model warm) before it is timed
                first_answer(server.url, "bonjour")
            self.nginx = Nginx(self.workdir, rasa_ports).start()
            first_answer(self.nginx.url, "bonjour")
        except BaseException:
            self.stop()
            raise
        self.ready_s = time.monotonic() - started
        return self

    def live_rasa(self) -> list[RasaServer]:
        return [s for s in self.rasa if s.process is not None and s.process.poll() is None]

    def processes(self) -> dict[str, subprocess.Popen]:
        parts: dict[str, Any] = {"nginx": self.nginx, "actions": self.actions, "redis": self.redis,
                                 "postgres": self.postgres}
        parts.update({f"rasa_{i + 1}": server for i, server in enumerate(self.rasa)})
        out = {}
        for name, part in parts.items():
            process = getattr(part, "process", None)
            if process is not None and process.poll() is None:
                out[name] = process
        return out

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for part in [*self.rasa, self.actions, self.postgres, self.redis]:
            if part is not None:
                part.stop()


# --- disruptions during the run ------------------------------------------------------------------------


@dataclass
class Disruptions:
    """Kill a replica, then (Redis run) crash and restart Redis, at given fractions of the turns."""

    cluster: Cluster
    senders: list[str]
    total_turns: int
    kill_replica_at: float | None = 1 / 3
    restart_redis_at: float | None = 2 / 3
    done: int = 0
    answered: dict[str, list[str]] = field(default_factory=dict)  # sender -> the turns answered, in order
    log: list[str] = field(default_factory=list)
    outages: list[tuple[float, float]] = field(default_factory=list)  # Redis down (monotonic start, end)
    killed: dict[str, Any] = field(default_factory=dict)
    redis_restart: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def turn_done(self, sender: str, text: str, answered: bool) -> None:
        with self._lock:
            self.done += 1
            if answered:
                self.answered.setdefault(sender, []).append(text)

    def resend_if(self, sent_at: float, failed_at: float, problem: str) -> bool:
        """A turn Rasa failed while Redis was down (or just after) is sent again, as a person would.

        Only Rasa's own failure answer (the polite error, or nothing) at that time counts: an nginx
        502/504 or a turn that fails long after the outage (a reply timeout) is an error.
        """
        from_rasa = "polite error" in problem or "no answer" in problem
        return from_rasa and any(start <= failed_at <= end + REDIS_OUTAGE_GRACE_S for start, end in self.outages)

    async def run(self) -> None:
        plan: list[tuple[float, Callable[[], None]]] = []
        if self.kill_replica_at is not None:
            plan.append((self.kill_replica_at, self.kill_replica))
        if self.restart_redis_at is not None and self.cluster.store == "redis":
            plan.append((self.restart_redis_at, self.crash_and_restart_redis))
        for fraction, action in sorted(plan, key=lambda step: step[0]):
            while self.done < fraction * self.total_turns:
                await asyncio.sleep(0.05)
            await asyncio.to_thread(action)

    def kill_replica(self) -> None:
        index = len(self.cluster.rasa) // 2  # the middle one: nginx's round-robin keeps sending to it
        server = self.cluster.rasa[index]
        assert server.process is not None
        self.killed = {"replica": f"rasa_{index + 1}", "at_turn": self.done,
                       "rss_mb_before": rss_mb(server.process.pid), "cpu_s_before": cpu_seconds(server.process.pid)}
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=15)
        self.log.append(f"SIGKILL rasa_{index + 1} after {self.done} of {self.total_turns} turns")

    def crash_and_restart_redis(self) -> None:
        redis_server = self.cluster.redis
        assert redis_server is not None
        before = stored_conversations(redis_server, self.senders)
        at_turn = self.done
        start = time.monotonic()
        self.outages.append((start, start + 3600))  # open until Redis answers again
        redis_server.crash()
        redis_server.start(timeout_s=60)  # same port, same folder: reads its AOF back
        end = time.monotonic()
        self.outages[-1] = (start, end)
        after = stored_conversations(redis_server, self.senders)
        lost = [s for s in before if s not in after]
        shortened = [s for s in before if s in after and after[s][:len(before[s])] != before[s]]
        self.redis_restart = {
            "at_turn": at_turn, "down_s": round(end - start, 2), "conversations_before": len(before),
            "conversations_after": len(after), "lost": lost, "changed": shortened,
            "slot_events_before": sum(e.get("event") == "slot" for events in before.values() for e in events),
        }
        self.log.append(f"SIGKILL redis after {at_turn} turns, answering again {end - start:.2f} s later; "
                        f"{len(before)} conversations before, {len(after)} after")


def stored_conversations(redis_server: RedisServer, senders: list[str]) -> dict[str, list[dict]]:
    """The events of each of `senders` stored by Rasa's RedisTrackerStore, read from Redis directly."""
    import redis

    client = redis.Redis(port=redis_server.port, socket_timeout=10)
    keys = [f"{KEY_PREFIX}:tracker:{sender}" for sender in senders]
    out = {}
    for sender, stored in zip(senders, client.mget(keys), strict=True):
        if stored is not None:
            out[sender] = json.loads(stored)["events"]
    return out


# --- one run ------------------------------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def check_trackers(server: RasaServer, senders: list[str], scripts: list[list[str]],
                   answered: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every conversation holds exactly its own user messages, in order (read through the HTTP API).

    Returns the problems by kind: `incomplete` (not all its turns, in order: the run failed some),
    `lost` (a turn the user got an answer to is missing: the store lost it), `foreign` (a message
    of another conversation, or one stored twice).
    """
    problems: dict[str, list[str]] = {"incomplete": [], "lost": [], "foreign": []}
    for sender, script in zip(senders, scripts, strict=True):
        events = server.tracker(sender)["events"]
        said = [str(e.get("text")) for e in events if e.get("event") == "user"]
        if said == script:
            continue
        problems["incomplete"].append(f"{sender}: {len(said)} user messages stored for {len(script)} sent")
        remaining = list(said)
        for text in answered.get(sender, []):  # answered turns must all be there, in order
            if text in remaining:
                remaining = remaining[remaining.index(text) + 1:]
            else:
                problems["lost"].append(f"{sender}: answered turn {text!r} not stored (or out of order)")
                break
        counts_ok = all(said.count(t) <= script.count(t) for t in said)
        if not counts_ok or any(t not in script for t in said):
            problems["foreign"].append(f"{sender}: a message stored twice or not its own")
    return problems


def run_store(store: str, model: Path, users: int, turns: int, replicas: int, lock_lifetime_s: int,
              disrupt: bool, keep: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"oim-cluster-{store}-"))
    print(f"\n== {store}: {users} users x {turns} turns, {replicas} Rasa replicas behind nginx ({workdir})", flush=True)
    cluster = Cluster(store, workdir, replicas=replicas, lock_lifetime_s=lock_lifetime_s)
    load_before = loadavg()
    cluster.start(model)
    print(f"   ready in {cluster.ready_s:.0f} s (nginx :{cluster.nginx.port if cluster.nginx else '?'})", flush=True)
    try:
        scripts = user_scripts(users, turns)
        run_id = uuid.uuid4().hex[:6]
        senders = [f"load-{store}-{run_id}-{u:03d}" for u in range(users)]
        disruptions = Disruptions(cluster, senders, users * turns,
                                  kill_replica_at=1 / 3 if disrupt else None,
                                  restart_redis_at=2 / 3 if disrupt else None)
        cpu_before = {name: cpu_seconds(p.pid) for name, p in cluster.processes().items()}
        errors: list[str] = []

        async def drive() -> LoadResult:
            assert cluster.nginx is not None
            load = asyncio.ensure_future(run_load(
                cluster.nginx.url, scripts, store, senders=senders, on_turn=disruptions.turn_done,
                resend_if=disruptions.resend_if, errors=errors, error_text=polite_error_text()))
            await asyncio.gather(load, disruptions.run())
            return load.result()

        result = asyncio.run(drive())
        load_after = loadavg()
        processes = cluster.processes()
        cpu = {name: round(cpu_seconds(p.pid) - cpu_before.get(name, 0.0), 1) for name, p in processes.items()}
        rss = {name: rss_mb(p.pid) for name, p in processes.items()}
        if disruptions.killed:
            name = disruptions.killed["replica"]
            rss[name] = disruptions.killed["rss_mb_before"]
            cpu[name] = round(disruptions.killed["cpu_s_before"] - cpu_before.get(name, 0.0), 1)
        survivors = cluster.live_rasa()
        tracker_problems = check_trackers(survivors[0], senders, scripts, disruptions.answered)
        nginx_log = (workdir / "nginx.err").read_text(errors="replace").splitlines()
        passed_on = sum("[error]" in line and "upstream" in line for line in nginx_log)
    finally:
        cluster.stop()
        if not keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)

    answered = result.requests - result.errors
    rasa_cpu = sum(v for k, v in cpu.items() if k.startswith("rasa_"))
    cross_talk = [e for e in errors if "cross-talk" in e]
    complete = not any(tracker_problems.values())
    checks = {
        "no HTTP error": result.errors == 0,
        "no cross-talk (answers addressed to their sender)": not cross_talk,
        "no cross-talk (no conversation holds another's message or one twice)": not tracker_problems["foreign"],
        "no answered turn missing from the tracker store": not tracker_problems["lost"],
        "every conversation complete (all its turns, in order)": complete,
    }
    if disrupt:
        checks["replica killed mid-run, no turn or conversation lost"] = bool(disruptions.killed) and (
            result.errors == 0 and complete)
        if store == "redis":
            restart = disruptions.redis_restart
            checks["Redis crashed and restarted mid-run, nothing lost"] = bool(restart) and not restart["lost"] and (
                not restart["changed"] and result.errors == 0 and complete)
    figures = {
        "store": store, "users": users, "turns": turns, "replicas": replicas,
        "requests": result.requests, "http_requests": result.requests + result.resent, "errors": result.errors,
        "resent_during_redis_outage": result.resent,
        "seconds": result.seconds, "p50_ms": result.p50_ms, "p95_ms": result.p95_ms, "p99_ms": result.p99_ms,
        "mean_ms": result.mean_ms, "msg_per_s": round(result.throughput, 1),
        "rss_mb": rss, "cpu_s": cpu,
        "rasa_msg_per_cpu_s": round(answered / rasa_cpu, 1) if rasa_cpu else None,
        "nginx_upstream_failures": passed_on, "ready_s": round(cluster.ready_s, 1), "loadavg_before": load_before, "loadavg_after": load_after,
        "events": disruptions.log, "killed": disruptions.killed, "redis_restart": disruptions.redis_restart,
        "tracker_problems": {kind: len(found) for kind, found in tracker_problems.items()},
        "tracker_problem_sample": [p for found in tracker_problems.values() for p in found[:4]],
        "error_kinds": error_kinds(errors), "errors_sample": errors[:6], "checks": checks,
    }
    print_figures(figures)
    return figures


def error_kinds(errors: list[str]) -> dict[str, int]:
    """Errors grouped by what went wrong (the sender and the message text left out)."""
    kinds: dict[str, int] = {}
    for error in errors:
        kind = error.split(": ", 1)[-1]
        kind = kind.split(",")[0] if kind.startswith("HTTP") else kind.split(" after ")[0].split(" to ")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items(), key=lambda item: -item[1]))


def polite_error_text() -> str:
    domain = yaml.safe_load((repo_root() / "domain.yml").read_text(encoding="utf-8"))
    return str(domain["responses"]["utter_action_error"][0]["text"])


def print_figures(f: dict[str, Any]) -> None:
    print(f"   {f['requests']} turns ({f['http_requests']} HTTP requests, {f['resent_during_redis_outage']} resent "
          f"during the Redis outage), {f['errors']} errors, {f['seconds']:.1f} s")
    print(f"   latency p50 {f['p50_ms']:.0f} ms, p95 {f['p95_ms']:.0f} ms, p99 {f['p99_ms']:.0f} ms; "
          f"{f['msg_per_s']} msg/s; Rasa: {f['rasa_msg_per_cpu_s']} msg per CPU second")
    print("   RSS MB:  " + ", ".join(f"{k} {v:.0f}" for k, v in f["rss_mb"].items()))
    print("   CPU s:   " + ", ".join(f"{k} {v:.1f}" for k, v in f["cpu_s"].items()))
    print(f"   nginx: {f['nginx_upstream_failures']} upstream failures (messages passed to another replica or failed)")
    print(f"   load average before {f['loadavg_before']}, after {f['loadavg_after']}")
    for line in f["events"]:
        print(f"   {line}")
    if f["error_kinds"]:
        print("   errors by kind: " + ", ".join(f"{k} {v}" for k, v in f["error_kinds"].items()))
    print("   tracker problems: " + ", ".join(f"{k} {v}" for k, v in f["tracker_problems"].items()))
    for line in [*f["errors_sample"], *f["tracker_problem_sample"]]:
        print(f"   ! {line}")
    for name, ok in f["checks"].items():
        print(f"   [{'PASS' if ok else 'FAIL'}] {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster_load", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--store", choices=["redis", "postgres", "both"], default="both")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--lock-lifetime", type=int, default=DEFAULT_LOCK_LIFETIME_S,
                        help="TICKET_LOCK_LIFETIME of the replicas in seconds (default: production's 10; 0: Rasa's 60)")
    parser.add_argument("--no-disruption", action="store_true", help="no replica kill, no Redis restart")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    args = parser.parse_args(argv)
    if args.replicas < 2 and not args.no_disruption:
        parser.error("killing a replica needs --replicas 2 or more")
    model = trained_model()
    commit = git_commit()
    print(f"{datetime.datetime.now().isoformat(timespec='seconds')} commit {commit}, {os.cpu_count()} cores, "
          f"load average {loadavg()}, model {model.name}", flush=True)
    stores = ["redis", "postgres"] if args.store == "both" else [args.store]
    results = [run_store(store, model, args.users, args.turns, args.replicas, args.lock_lifetime,
                         not args.no_disruption, args.keep) for store in stores]
    if args.json:
        args.json.write_text(json.dumps({"date": datetime.datetime.now().isoformat(timespec="seconds"),
                                         "commit": commit, "cores": os.cpu_count(), "results": results},
                                        indent=2, ensure_ascii=False), encoding="utf-8")
    failed = [f"{r['store']}: {name}" for r in results for name, ok in r["checks"].items() if not ok]
    print("\nall checks passed" if not failed else "\nFAILED: " + "; ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
