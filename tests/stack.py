"""Start the real action server and Rasa server for tests, on free loopback ports.

Why: end-to-end tests must talk to what users get (Rasa REST channel + action server), not mocks.
Each Stack gets its own endpoints file, ports and tracker store so tests cannot disturb a running
assistant or each other.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge.paths import repo_root

# One implementation for the tests and `bot update`; re-exported for the test modules.
from bot.maintenance.candidate_stack import free_port, stop_process  # noqa: F401
from bot.serving import startup

VENV_BIN = Path(sys.executable).parent


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports: bound all at once, since two free_port() calls may repeat."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_http(url: str, timeout_s: float, process: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 2xx; fail early if the process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def start_all(*servers: Any) -> None:
    """Start servers side by side: each `start()` (spawn, then wait until it answers) in its own thread.

    An action server and a Rasa server each spend 10-15 s importing TensorFlow, spaCy and the model
    before they answer; one after the other, a stack took the sum. Rasa needs the action server only
    when a message arrives, so both may boot at once. The first start-up error is raised; the caller
    stops every server (stopping one that never started does nothing).
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        for future in [pool.submit(server.start) for server in servers]:
            future.result()


def stop_all(*servers: Any) -> None:
    """Stop servers side by side (a Rasa server takes seconds to shut down; one after the other, the sum)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        for future in [pool.submit(server.stop) for server in servers]:
            future.result()


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONPATH=str(repo_root()),
        SANIC_HOST="127.0.0.1",
    )
    return env


@dataclass
class ActionServer:
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=base_env)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90) -> ActionServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process owns it while it runs
        self.process = subprocess.Popen(
            startup.actions_command(self.port, rasa=str(VENV_BIN / "rasa")),
            cwd=repo_root(), env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_http(f"{self.url}/health", timeout_s, self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


@dataclass
class RasaServer:
    port: int
    model: Path
    endpoints: Path
    log_path: Path
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    env: dict[str, str] = field(default_factory=base_env)
    process: subprocess.Popen | None = None
    credentials: Path | None = None  # default: written by bot.serving.channels next to the log, as run.sh does
    stock: bool = False  # Rasa's own SQL tracker store (the benchmarks' stock baseline)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def effective_credentials(self) -> Path:
        """credentials.yml + the connectors whose variables are set in `env` (bot.serving.channels)."""
        if self.credentials is None:
            self.credentials = startup.write_credentials(
                self.log_path.with_name(f"credentials-{self.port}.yml"), env=self.env)
        return self.credentials

    def start(self, timeout_s: float = 240) -> RasaServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process owns it while it runs
        command = startup.rasa_command(self.model, self.endpoints, self.effective_credentials(), self.port,
                                       token=self.token, python=sys.executable)
        self.process = subprocess.Popen(  # started as scripts/run.sh and the update gates start it
            command,
            cwd=repo_root(), env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_http(f"{self.url}/status?token={self.token}", timeout_s, self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def send(self, sender: str, message: Any, timeout_s: float = 30) -> list[dict[str, Any]]:
        """POST to the REST channel; returns the bot messages."""
        status, body = post_json(f"{self.url}/webhooks/rest/webhook", {"sender": sender, "message": message}, timeout_s)
        if status != 200:
            raise AssertionError(f"REST webhook answered {status}: {body!r}")
        return json.loads(body)

    def texts(self, sender: str, message: str) -> list[str]:
        return [m["text"] for m in self.send(sender, message) if m.get("text")]

    def tracker(self, sender: str) -> dict[str, Any]:
        url = f"{self.url}/conversations/{sender}/tracker?token={self.token}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())


def post_json(url: str, payload: Any, timeout_s: float = 30, raw: bytes | None = None) -> tuple:
    """POST JSON (or raw bytes); returns (status, body text) without raising on 4xx/5xx."""
    data = raw if raw is not None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def write_sqlite_endpoints(path: Path, actions_url: str, db_path: Path, stock: bool = False) -> Path:
    """endpoints.yml's store (SQLite in WAL mode) on `db_path`, this action server; stock: Rasa's `type: SQL`."""
    return startup.sqlite_endpoints(path, actions_url, db_path, *(["SQL"] if stock else []))


def trained_model() -> Path:
    """The model test.sh prepared (OIM_MODEL), else the cached one (training if needed)."""
    explicit = os.environ.get("OIM_MODEL")
    if explicit and Path(explicit).exists():
        return Path(explicit)
    from bot.maintenance.model_cache import ensure_model

    return ensure_model()


@dataclass
class RedisServer:
    """A throwaway redis-server on a free port, never a developer's data.

    No persistence by default; `appendonly=True` runs it as docker-compose.yml does (AOF, fsync every
    second, in `workdir`), so `crash()` then `start()` on the same object reads the data back.
    """

    port: int
    workdir: Path
    process: subprocess.Popen | None = None
    appendonly: bool = False

    def start(self, timeout_s: float = 15) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run scripts/system_deps.sh (apt-get install redis-server)")
        log = open(self.workdir / f"redis-{self.port}.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             *(["--appendonly", "yes", "--appendfsync", "everysec"] if self.appendonly else ["--appendonly", "no"]),
             "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start (see {log.name})")
            time.sleep(0.1)
        return self

    def ping(self) -> bool:
        import redis

        try:  # while the AOF is read, PING answers LOADING (a RedisError): not ready yet
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def crash(self) -> None:
        """SIGKILL, as a crash or an OOM kill: no shutdown, only what is already in the AOF file stays."""
        import contextlib
        import signal

        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        self.process = None

    def env(self, key_prefix: str = "oim", record_exp: str = "3600") -> dict[str, str]:
        """The REDIS_* variables endpoints.redis.yml reads, pointing at this server."""
        return {
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port), "REDIS_DB": "0",
            "REDIS_PASSWORD": "", "REDIS_KEY_PREFIX": key_prefix, "REDIS_RECORD_EXP": record_exp,
        }


def http_request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
    timeout_s: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request, no redirect following, no raising on 4xx/5xx: (status, headers, body)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path or "/", body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@dataclass
class WebServer:
    """`python -m bot web` as a real process, configured only through environment variables."""

    port: int
    log_path: Path
    settings: dict[str, str] = field(default_factory=dict)  # OIM_* and REDIS_* variables
    verbose: bool = False
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90) -> WebServer:
        env = {k: v for k, v in base_env().items() if not k.startswith(("OIM_", "REDIS_"))}
        env.update(self.settings)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process owns it while it runs
        command = [sys.executable, "-m", "bot", *(["-v"] if self.verbose else []), "web", "--port", str(self.port)]
        self.process = subprocess.Popen(command, cwd=repo_root(), env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_http(f"{self.url}/static/chat.css", timeout_s, self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout_s: float = 30) -> tuple[int, dict[str, str], bytes]:
        return http_request(self.url + path, method, body, headers, timeout_s)

    def chat(self, sender: str, message: Any, **extra: Any) -> tuple[int, dict[str, Any]]:
        """POST /api/chat; returns (status, decoded JSON body)."""
        payload = json.dumps({"sender": sender, "message": message, **extra}).encode()
        status, _, body = self.request("POST", "/api/chat", payload, {"Content-Type": "application/json"})
        return status, json.loads(body)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def compose_environment(service: str) -> dict[str, str]:
    """The environment docker-compose.yml gives `service`, with no variable set on this machine."""
    import yaml

    binary = shutil.which("docker-compose")
    if binary is None:
        raise RuntimeError("docker-compose is not installed: run scripts/system_deps.sh")
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    result = subprocess.run([binary, "config"], cwd=repo_root(), env=clean, capture_output=True, text=True,
                            timeout=60, check=True)
    environment = yaml.safe_load(result.stdout)["services"][service].get("environment") or {}
    return {str(k): "" if v is None else str(v) for k, v in environment.items()}


# --- PostgreSQL (endpoints.postgres.yml) ------------------------------------------------------

POSTGRES_PACKAGE = "postgresql"  # Debian's server package: initdb and postgres in /usr/lib/postgresql/<version>/bin


def postgres_bindir() -> Path:
    """The folder of the newest PostgreSQL server binaries (Debian keeps them out of PATH)."""
    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/postgres") if (path.parent / "initdb").exists()]
    if found:
        return max(found, key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0)
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).parent / "postgres").exists():
        return Path(initdb).parent
    raise RuntimeError(
        f"PostgreSQL server binaries (initdb, postgres) not found: apt-get install {POSTGRES_PACKAGE}"
    )


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb) on a free loopback port, password auth: never shared data.

    initdb and postgres refuse to run as root, so as root both run as the `postgres` system user
    (created by Debian's package) on a private folder it owns, made with mkdtemp in /tmp (pytest's
    own temp folders are root-only). TCP on 127.0.0.1 only, no Unix socket; fsync off (a test
    database: speed over durability). `stop()` removes the cluster.
    """

    port: int
    workdir: Path  # the server's log goes here
    user: str = "oim"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12) + "@/:%")  # URL-special characters
    database: str = "oim"
    process: subprocess.Popen | None = None
    root: Path | None = None  # the cluster's private folder

    def _run_as(self) -> dict[str, Any]:
        """Popen arguments that drop root for the `postgres` user (nothing when not root)."""
        if os.geteuid() != 0:
            return {}
        import pwd

        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError(
                f"running as root needs the 'postgres' system user: apt-get install {POSTGRES_PACKAGE}"
            ) from None
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def start(self, timeout_s: float = 60) -> PostgresServer:
        import tempfile

        bindir = postgres_bindir()
        run_as = self._run_as()
        self.root = Path(tempfile.mkdtemp(prefix="oim-postgres-"))
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n", encoding="utf-8")
        if run_as:
            for path in (self.root, password_file):
                os.chown(path, run_as["user"], run_as["group"])
        log_path = self.workdir / f"postgres-{self.port}.log"
        with open(log_path, "ab") as log:
            initdb = subprocess.run(
                [str(bindir / "initdb"), "-D", str(self.root / "data"), "-U", self.user, f"--pwfile={password_file}",
                 "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale", "--no-sync"],
                stdout=log, stderr=subprocess.STDOUT, timeout=120, check=False, **run_as,
            )
        password_file.unlink()
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed with {initdb.returncode} (see {log_path})")
        log = open(log_path, "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(self.root / "data"), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **run_as,
        )
        deadline = time.monotonic() + timeout_s
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres on port {self.port} did not start (see {log_path})")
            time.sleep(0.2)
        connection = self.connect("postgres")
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{self.database}"')  # as POSTGRES_DB does in the image
        finally:
            connection.close()
        return self

    def connect(self, database: str | None = None) -> Any:
        """A psycopg2 connection as the cluster's owner (for setting up and checking)."""
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                                dbname=database or self.database, connect_timeout=2)

    def ping(self) -> bool:
        import psycopg2

        try:
            self.connect("postgres").close()
            return True
        except psycopg2.OperationalError:
            return False

    def query(self, sql: str, *parameters: Any) -> list[tuple]:
        """Rows of one statement in the test database (committed)."""
        connection = self.connect()
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(sql, parameters)
                return list(cursor.fetchall()) if cursor.description else []
        finally:
            connection.close()

    def stop(self) -> None:
        """Fast shutdown (SIGINT: open sessions are ended), then the cluster's folder is removed."""
        import contextlib
        import signal

        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop_process(self.process)
        self.process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def env(self) -> dict[str, str]:
        """The POSTGRES_* variables endpoints.postgres.yml reads, pointing at this server."""
        return {
            "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(self.port), "POSTGRES_DB": self.database,
            "POSTGRES_USER": self.user, "POSTGRES_PASSWORD": self.password,
        }


def run_at_once(calls: list) -> tuple[list, list[BaseException]]:
    """Run the calls in threads released together; their results and errors."""
    start = threading.Barrier(len(calls))
    results: list = []
    errors: list[BaseException] = []

    def run(call) -> None:
        try:
            start.wait()
            results.append(call())
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return results, errors
