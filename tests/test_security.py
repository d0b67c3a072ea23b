"""The Rasa HTTP API is never open without its token, and `make run` only listens on loopback.

Tested against the assistant started exactly as the README says (`make run` = scripts/run.sh), on
non-default ports (OIM_RASA_PORT / OIM_ACTIONS_PORT) so a developer's running assistant is untouched.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.knowledge.paths import repo_root
from tests.stack import free_ports, http_request, stop_process, wait_http

# Every route of Rasa's HTTP API that reads or changes conversations or models (rasa/server.py).
PROTECTED = [
    ("GET", "/status"),
    ("GET", "/domain"),
    ("GET", "/conversations/someone/tracker"),
    ("POST", "/conversations/someone/tracker/events"),
    ("PUT", "/conversations/someone/tracker/events"),
    ("GET", "/conversations/someone/story"),
    ("POST", "/conversations/someone/execute"),
    ("POST", "/conversations/someone/trigger_intent"),
    ("POST", "/conversations/someone/predict"),
    ("POST", "/conversations/someone/messages"),
    ("POST", "/model/parse"),
    ("POST", "/model/train"),
    ("POST", "/model/test/intents"),
    ("POST", "/model/predict"),
    ("PUT", "/model"),
    ("DELETE", "/model"),
]


@dataclass
class RunScript:
    process: subprocess.Popen
    rasa_port: int
    actions_port: int
    web_port: int
    token: str


@pytest.fixture(scope="module")
def run_sh(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunScript]:
    """`bash scripts/run.sh` as `make run` starts it, with a known token and free ports."""
    from bot.maintenance.model_cache import cached_model_path

    if not cached_model_path().exists():  # run.sh would spend minutes training it first
        pytest.fail("no cached model for the current config and data: run `make train` first")
    log = tmp_path_factory.mktemp("run_sh") / "run.log"
    # Defaults as a developer has them: only the cache location is kept from this environment.
    env = {k: v for k, v in os.environ.items()
           if k == "OIM_CACHE_DIR" or not k.startswith(("OIM_", "REDIS_", "SANIC_", "ACTION_ENDPOINT"))}
    # A leading "-" on purpose: token_urlsafe() gives one 1 time in 64, and argparse must not take
    # it for an option (run.sh passes --auth-token=...).
    token = "-" + secrets.token_urlsafe(24)
    rasa_port, actions_port, web_port = free_ports(3)
    env.update(OIM_RASA_PORT=str(rasa_port), OIM_ACTIONS_PORT=str(actions_port), OIM_WEB_PORT=str(web_port),
               OIM_RASA_TOKEN=token, OIM_STAFF_TOKEN=secrets.token_urlsafe(24))
    with open(log, "ab") as out:
        process = subprocess.Popen(["bash", "scripts/run.sh"], cwd=repo_root(), env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    started = RunScript(process, int(env["OIM_RASA_PORT"]), int(env["OIM_ACTIONS_PORT"]),
                        int(env["OIM_WEB_PORT"]), token)
    try:
        wait_http(f"http://127.0.0.1:{started.actions_port}/health", 180, process)
        wait_http(f"http://127.0.0.1:{started.rasa_port}/", 240, process)
        wait_http(f"http://127.0.0.1:{started.web_port}/", 60, process)
        yield started
    finally:
        stop_process(process)


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets in LISTEN state on `port`, from /proc/net/tcp and tcp6."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(_decode_address(address, width))
    return found


def _decode_address(hex_address: str, width: int) -> str:
    raw = bytes.fromhex(hex_address)
    if width == 8:  # IPv4, little-endian
        return ".".join(str(b) for b in reversed(raw))
    words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]  # IPv6: four little-endian 32-bit words
    import ipaddress

    return str(ipaddress.IPv6Address(b"".join(words)))


@pytest.mark.parametrize("method,path", PROTECTED)
def test_http_api_refuses_requests_without_a_valid_token(run_sh: RunScript, method: str, path: str) -> None:
    base = f"http://127.0.0.1:{run_sh.rasa_port}"
    body = b"{}" if method in {"POST", "PUT"} else None
    for suffix in ("", "?token=wrong-token", f"?token={run_sh.token[:-1]}"):
        status, _, answer = http_request(base + path + suffix, method, body, {"Content-Type": "application/json"})
        assert status in {401, 403}, f"{method} {path}{suffix} answered {status}: {answer[:200]!r}"


def test_http_api_answers_with_the_token(run_sh: RunScript) -> None:
    """The API is on (operators need it) but only behind the token."""
    status, _, body = http_request(f"http://127.0.0.1:{run_sh.rasa_port}/status?token={run_sh.token}")
    assert status == 200, body[:200]
    assert b"model_file" in body


def test_run_sh_listens_on_loopback_only(run_sh: RunScript) -> None:
    for port in (run_sh.rasa_port, run_sh.actions_port, run_sh.web_port):
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert addresses <= {"127.0.0.1", "::1"}, f"port {port} listens on {addresses}"


def test_readme_run_command_is_run_sh() -> None:
    """The README's command is `make run`, and `make run` is scripts/run.sh (the script tested above)."""
    assert "make run" in (repo_root() / "README.md").read_text(encoding="utf-8")
    makefile = (repo_root() / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run:.*\n\tbash scripts/run\.sh", makefile, re.MULTILINE)
    script = (repo_root() / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert 'host="${OIM_HOST:-127.0.0.1}"' in script
    assert '--enable-api --auth-token="$OIM_RASA_TOKEN"' in script


def test_docker_compose_publishes_ports_on_loopback_only() -> None:
    compose = yaml.safe_load((repo_root() / "docker-compose.yml").read_text(encoding="utf-8"))
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"service {name} publishes {port} on every interface"
