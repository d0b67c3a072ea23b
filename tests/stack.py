"""Start the real action server and Rasa server for tests, on free loopback ports.

Why: end-to-end tests must talk to what users get (Rasa REST channel + action server), not mocks.
Each Stack gets its own endpoints file, ports and tracker store so tests cannot disturb a running
assistant or each other.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.paths import REPO_ROOT

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout_s: float, process: Optional[subprocess.Popen] = None) -> None:
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


def base_env() -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONPATH=str(REPO_ROOT),
        SANIC_HOST="127.0.0.1",
    )
    return env


@dataclass
class ActionServer:
    port: int
    log_path: Path
    env: Dict[str, str] = field(default_factory=base_env)
    process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90) -> "ActionServer":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(self.port)],
            cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
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
    env: Dict[str, str] = field(default_factory=base_env)
    process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 240) -> "RasaServer":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "rasa"), "run", "--model", str(self.model),
                "--endpoints", str(self.endpoints), "--credentials", str(REPO_ROOT / "credentials.yml"),
                "--interface", "127.0.0.1", "--port", str(self.port),
                "--enable-api", "--auth-token", self.token,
            ],
            cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_http(f"{self.url}/status?token={self.token}", timeout_s, self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def send(self, sender: str, message: Any, timeout_s: float = 30) -> List[Dict[str, Any]]:
        """POST to the REST channel; returns the bot messages."""
        status, body = post_json(f"{self.url}/webhooks/rest/webhook", {"sender": sender, "message": message}, timeout_s)
        if status != 200:
            raise AssertionError(f"REST webhook answered {status}: {body!r}")
        return json.loads(body)

    def texts(self, sender: str, message: str) -> List[str]:
        return [m["text"] for m in self.send(sender, message) if m.get("text")]

    def tracker(self, sender: str) -> Dict[str, Any]:
        url = f"{self.url}/conversations/{sender}/tracker?token={self.token}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())


def post_json(url: str, payload: Any, timeout_s: float = 30, raw: Optional[bytes] = None) -> tuple:
    """POST JSON (or raw bytes); returns (status, body text) without raising on 4xx/5xx."""
    data = raw if raw is not None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def stop_process(process: Optional[subprocess.Popen], timeout_s: float = 20) -> None:
    """SIGTERM the process group, then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout_s)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=timeout_s)


def write_sqlite_endpoints(path: Path, actions_url: str, db_path: Path) -> Path:
    path.write_text(
        f"action_endpoint:\n  url: \"{actions_url}/webhook\"\n"
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: \"{db_path}\"\n"
        "lock_store:\n  type: in_memory\n",
        encoding="utf-8",
    )
    return path


def trained_model() -> Path:
    """The model test.sh prepared (OIM_MODEL), else the cached one (training if needed)."""
    explicit = os.environ.get("OIM_MODEL")
    if explicit and Path(explicit).exists():
        return Path(explicit)
    from bot.model_cache import ensure_model

    return ensure_model()
