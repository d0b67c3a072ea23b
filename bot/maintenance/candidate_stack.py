"""A private action server + Rasa server running a candidate model on candidate knowledge.

Why: a new model and new knowledge are judged by talking to them exactly as users will (REST
channel, real custom actions), before they replace what is live. Both servers start as `make run`
starts them (bot/serving/startup.py: our channels from credentials.yml, the SQLite
tracker store of endpoints.yml), on free loopback ports, with a tracker database of their own in
the work folder and no messaging connector, so they never touch the live assistant, its
conversations or its webhooks.
"""

from __future__ import annotations

import contextlib
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
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.knowledge.paths import KNOWLEDGE_DIR_ENV, repo_root
from bot.serving import startup

VENV_BIN = Path(sys.executable).parent


class StackError(RuntimeError):
    """A candidate server did not start or answer (its log file is named in the message)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rasa_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Rasa subprocesses: quiet, offline, our package importable."""
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join(filter(None, [str(repo_root()), env.get("PYTHONPATH", "")])),
    )
    env.update(extra or {})
    return env


def http_json(
    method: str, url: str, payload: Any = None, timeout_s: float = 30, raw: bytes | None = None
) -> tuple:
    """(status, parsed JSON or text) without raising on HTTP error codes; raw: send these bytes as YAML."""
    data: bytes | None = raw
    content_type = "application/x-yaml"
    if raw is None:
        data = json.dumps(payload).encode() if payload is not None else None
        content_type = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read().decode("utf-8", "replace")
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read().decode("utf-8", "replace"), error.code
    try:
        return status, json.loads(body) if body else None
    except json.JSONDecodeError:
        return status, body


def wait_http(url: str, timeout_s: float, process: subprocess.Popen, log: Path) -> None:
    """Poll url until it answers 2xx; StackError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"server exited with code {process.returncode} before answering; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    raise StackError(f"{url} did not answer within {timeout_s:.0f} s; see {log}")


def stop_process(process: subprocess.Popen | None, timeout_s: float = 20) -> None:
    """SIGTERM the process group, SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout_s)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout_s)


class CandidateStack:
    """Context manager: `with CandidateStack(model, knowledge, workdir) as stack: stack.send(...)`."""

    def __init__(
        self, model: Path | None, knowledge: Path, workdir: Path, project: Path | None = None
    ) -> None:
        self.model = model  # None: the Rasa server boots with no model while it trains (`load`)
        self.knowledge = knowledge
        self.workdir = workdir
        self.project = project or repo_root()
        self.token = secrets.token_hex(16)  # hex: never starts with "-" (argparse would read an option)
        self.actions_port = free_port()
        self.rasa_port = free_port()
        self._processes: list[subprocess.Popen] = []
        self._logs: tuple[Path, Path] = (workdir, workdir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def launch(self) -> CandidateStack:
        """Spawn both servers without waiting (they boot while other work goes on).

        The action server reads the knowledge folder on its first request only, so it may be
        launched before that folder is complete.
        """
        if self._processes:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._logs = (self.workdir / "candidate-actions.log", self.workdir / "candidate-rasa.log")
        endpoints = startup.sqlite_endpoints(
            self.workdir / "candidate-endpoints.yml", f"http://127.0.0.1:{self.actions_port}",
            self.workdir / "candidate-trackers.db",
        )
        credentials = startup.write_credentials(self.workdir / "candidate-credentials.yml", connectors=False)
        env = rasa_env({KNOWLEDGE_DIR_ENV: str(self.knowledge), "SANIC_HOST": "127.0.0.1"})
        env["PYTHONPATH"] = os.pathsep.join([str(self.project), env["PYTHONPATH"]])
        self._spawn(startup.actions_command(self.actions_port, rasa=str(VENV_BIN / "rasa")), self._logs[0], env)
        model = self.model
        if model is None:  # an empty folder: Rasa starts with no model and waits for PUT /model
            model = self.workdir / "no-model-yet"
            model.mkdir(exist_ok=True)
        self._spawn(
            startup.rasa_command(model, endpoints, credentials, self.rasa_port, token=self.token,
                                 python=sys.executable),
            self._logs[1], env,
        )
        return self

    def wait_until_ready(self, timeout_s: float = 600) -> CandidateStack:
        """Block until both servers answer (StackError naming the log if one dies or is too slow)."""
        actions, rasa = self._processes
        wait_http(f"http://127.0.0.1:{self.actions_port}/health", timeout_s, actions, self._logs[0])
        # /status answers 409 until a model is loaded; /version as soon as the server listens.
        ready = f"{self.url}/status?token={self.token}" if self.model is not None else f"{self.url}/version"
        wait_http(ready, timeout_s, rasa, self._logs[1])
        return self

    def load(self, model: Path, timeout_s: float = 600) -> None:
        """Give the running Rasa server its model (PUT /model; it booted with none or another)."""
        self.wait_until_ready(timeout_s)
        status, body = http_json(
            "PUT", f"{self.url}/model?token={self.token}", {"model_file": str(model)}, timeout_s
        )
        if status != 204:
            raise StackError(f"PUT /model of {model.name} answered {status}: {body!r}; see {self._logs[1]}")
        self.model = model

    def start(self, timeout_s: float = 600) -> CandidateStack:
        return self.launch().wait_until_ready(timeout_s)

    def _spawn(self, command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
        with open(log, "ab") as handle:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                command,
                cwd=self.project,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self._processes):
            stop_process(process)
        self._processes.clear()

    def __enter__(self) -> CandidateStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def send(self, sender: str, message: str, timeout_s: float = 60) -> list[dict[str, Any]]:
        """One user message over the REST channel; the bot's messages."""
        status, body = http_json(
            "POST", f"{self.url}/webhooks/rest/webhook", {"sender": sender, "message": message}, timeout_s
        )
        if status != 200 or not isinstance(body, list):
            raise StackError(f"REST webhook answered {status}: {body!r}")
        return body

    def parse(self, text: str, timeout_s: float = 60) -> dict[str, Any]:
        """NLU parse of one message (intent with confidence, entities)."""
        status, body = http_json(
            "POST", f"{self.url}/model/parse?token={self.token}", {"text": text}, timeout_s
        )
        if status != 200 or not isinstance(body, dict):
            raise StackError(f"/model/parse answered {status}: {body!r}")
        return body

    def test_stories(self, stories_yaml: str, timeout_s: float = 600) -> list[dict[str, Any]]:
        """Rasa's story evaluation on the loaded model (POST /model/test/stories): one row per action."""
        status, body = http_json(
            "POST",
            f"{self.url}/model/test/stories?token={self.token}",
            timeout_s=timeout_s,
            raw=stories_yaml.encode(),
        )
        if status != 200 or not isinstance(body, dict):
            raise StackError(f"/model/test/stories answered {status}: {body!r}")
        return list(body.get("actions") or [])
