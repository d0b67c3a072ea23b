"""deploy/nginx/nginx.conf run by a real nginx on loopback in front of two tiny aiohttp upstreams.

No Rasa: the upstreams stand in for two Rasa replicas (they answer the REST channel path with their
name and echo on a websocket under /socket.io/). Checks: round-robin on REST, failover when a
replica dies, socket.io sticky and upgraded to a websocket, the body size limit, that Rasa's
HTTP API is not reachable through nginx, and that a message retried on another replica carries the
same X-Request-ID there (the REST channel's message id, bot/serving/idempotency.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.stack import free_ports, http_request, stop_process

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "deploy" / "nginx" / "nginx.conf"

UPSTREAM = r'''
import sys
from aiohttp import web

name, port = sys.argv[1], int(sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 else "answer"

async def rest(request):
    body = await request.json()
    request_id = request.headers.get("X-Request-ID")
    if mode == "drop":  # a replica killed while handling the message: it read it, then no answer
        with open(f"{name}.ids", "a") as seen:
            seen.write(f"{request_id}\n")
        request.transport.close()
        raise ConnectionResetError("dropped")
    return web.json_response([{"recipient_id": body["sender"], "text": name, "request_id": request_id}])

async def socket_io(request):
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return web.Response(text=name)
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        await ws.send_str(f"{name}:{message.data}")
    return ws

async def model(request):
    return web.json_response({"replica": name, "api": True})

app = web.Application()
app.router.add_post("/webhooks/rest/webhook", rest)
app.router.add_get("/socket.io/", socket_io)
app.router.add_route("*", "/model", model)
app.router.add_get("/status", model)
web.run_app(app, host="127.0.0.1", port=port, print=None)
'''


def nginx_binary() -> str:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        pytest.fail("nginx is not installed: run scripts/system_deps.sh (apt-get install nginx)")
    return binary


def wait_until(check, timeout_s: float = 15, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        http_request(url, timeout_s=1)
        return True
    except OSError:
        return False


class Stack:
    def __init__(self, tmp: Path, modes: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.modes = modes or {}
        self.nginx_port, port_a, port_b = free_ports(3)
        self.upstreams: dict[str, tuple[int, subprocess.Popen | None]] = {"a": (port_a, None), "b": (port_b, None)}
        self.nginx: subprocess.Popen | None = None

    def start(self) -> None:
        script = self.tmp / "upstream.py"
        script.write_text(UPSTREAM)
        for name, (port, _) in self.upstreams.items():
            log = open(self.tmp / f"upstream-{name}.log", "ab")  # noqa: SIM115 - owned by the child
            process = subprocess.Popen([sys.executable, str(script), name, str(port), self.modes.get(name, "answer")],
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.tmp)
            self.upstreams[name] = (port, process)
        for port, _ in self.upstreams.values():
            wait_until(lambda port=port: answers(f"http://127.0.0.1:{port}/status"), what="upstream")
        self.start_nginx()

    def start_nginx(self) -> None:
        """nginx alone, in front of `self.upstreams` (already answering)."""
        conf = self.tmp / "nginx.conf"
        conf.write_text(self.local_config())
        check = subprocess.run([nginx_binary(), "-t", "-p", str(self.tmp), "-c", str(conf)],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        self.nginx = subprocess.Popen([nginx_binary(), "-p", str(self.tmp), "-c", str(conf), "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=open(self.tmp / "nginx.err", "ab"),  # noqa: SIM115
                                      start_new_session=True)
        wait_until(lambda: answers(f"{self.url}/nginx-health"), what="nginx")

    def local_config(self) -> str:
        """The repo's file with only addresses and paths changed: loopback ports, the temp folder."""
        text = CONF.read_text(encoding="utf-8")
        servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;"
                            for port, _ in self.upstreams.values())
        text, count = re.subn(r"^ *server rasa:5005 max_fails=3 fail_timeout=10s;$", servers, text, flags=re.M)
        assert count == 2, "both upstreams of the repo's config are rewritten"
        text, count = re.subn(r"listen 8000;", f"listen 127.0.0.1:{self.nginx_port};", text)
        assert count == 1
        text = text.replace("/tmp/", f"{self.tmp}/")
        assert f"pid {self.tmp}/nginx.pid;" in text and "rasa:5005" not in text
        return text

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    def send(self, sender: str, text: str = "bonjour") -> tuple[int, str]:
        body = json.dumps({"sender": sender, "message": text}).encode()
        status, _, reply = http_request(f"{self.url}/webhooks/rest/webhook", "POST", body,
                                        {"Content-Type": "application/json"}, timeout_s=10)
        return status, (json.loads(reply)[0]["text"] if status == 200 else reply.decode(errors="replace"))

    def kill_upstream(self, name: str) -> None:
        port, process = self.upstreams[name]
        stop_process(process)
        self.upstreams[name] = (port, None)

    def stop(self) -> None:
        stop_process(self.nginx)
        for name in list(self.upstreams):
            self.kill_upstream(name)


@pytest.fixture
def stack(tmp_path: Path):
    running = Stack(tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_rest_round_robin_then_failover(stack: Stack):
    replies = [stack.send(f"user-{i}") for i in range(10)]
    assert all(status == 200 for status, _ in replies)
    assert sorted({name for _, name in replies}) == ["a", "b"]
    assert abs(sum(name == "a" for _, name in replies) - 5) <= 1  # round-robin, not random

    stack.kill_upstream("b")
    replies = [stack.send(f"user-{i}") for i in range(10)]
    assert replies == [(200, "a")] * 10  # every message answered: the dead replica is skipped


def test_socket_io_is_sticky_and_upgrades_to_websocket(stack: Stack):
    import asyncio

    import aiohttp

    def polling_from(address: str) -> str:  # every 127.x.y.z is a loopback address on Linux
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", stack.nginx_port, timeout=10,
                                                source_address=(address, 0))
        try:
            connection.request("GET", "/socket.io/?EIO=4&transport=polling")
            response = connection.getresponse()
            assert response.status == 200
            return response.read().decode()
        finally:
            connection.close()

    clients = [f"127.0.{i}.{j}" for i in range(1, 5) for j in (7, 8, 9)]  # several /24s
    first = {client: polling_from(client) for client in clients}
    assert set(first.values()) == {"a", "b"}  # clients are spread over the replicas
    for _ in range(3):  # and each stays on its own
        assert {client: polling_from(client) for client in clients} == first
    seen = {polling_from("127.0.0.1")}

    async def echo() -> str:
        async with aiohttp.ClientSession() as session, session.ws_connect(
                f"{stack.url}/socket.io/?EIO=4&transport=websocket") as ws:
            await ws.send_str("ping")
            message = await ws.receive(timeout=5)
            return message.data

    assert asyncio.run(echo()) == f"{seen.pop()}:ping"


def test_limits_and_no_rasa_api(stack: Stack):
    big = json.dumps({"sender": "u", "message": "x" * 70_000}).encode()
    status, _, _ = http_request(f"{stack.url}/webhooks/rest/webhook", "POST", big, {"Content-Type": "application/json"})
    assert status == 413
    for method, path in [("PUT", "/model"), ("GET", "/status"), ("GET", "/conversations/u/tracker")]:
        assert http_request(f"{stack.url}{path}", method)[0] == 404, path
    assert http_request(f"{stack.url}/webhooks/rest/webhook", "GET")[0] == 403


def test_compose_nginx_service_runs_this_config():
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    nginx = compose["services"]["nginx"]
    assert "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["ports"] == ["127.0.0.1:8000:8000"] and "listen 8000;" in CONF.read_text(encoding="utf-8")
    assert nginx["depends_on"]["rasa"]["condition"] == "service_healthy"


def test_a_retried_message_keeps_its_request_id(tmp_path: Path):
    """Replica `a` reads each message and closes the connection (killed after saving the turn): nginx
    passes the message to `b` (proxy_next_upstream non_idempotent) with the same X-Request-ID, nginx's
    own (a client's X-Request-ID header is replaced), and every client request has its own id."""
    stack = Stack(tmp_path, modes={"a": "drop"})
    try:
        stack.start()
        seen_by_b = []
        for i in range(6):
            body = json.dumps({"sender": f"user-{i}", "message": "bonjour"}).encode()
            status, _, reply = http_request(f"{stack.url}/webhooks/rest/webhook", "POST", body,
                                            {"Content-Type": "application/json", "X-Request-ID": "forged"},
                                            timeout_s=10)
            assert status == 200, reply
            [answer] = json.loads(reply)
            assert answer["text"] == "b" and answer["recipient_id"] == f"user-{i}"
            seen_by_b.append(answer["request_id"])
        dropped = (tmp_path / "a.ids").read_text().split()
    finally:
        stack.stop()
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in seen_by_b), seen_by_b
    assert len(set(seen_by_b)) == 6  # one id per client request
    assert dropped  # round-robin sent some to `a` first (each nginx worker leaves it out after 3 failures)
    assert set(dropped) <= set(seen_by_b)  # the retry on `b` carried the id `a` had seen
