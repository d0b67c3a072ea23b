"""Libraries doing what was hand-written: itsdangerous session cookies, `limits` rate limits
shared through a real Redis, pydantic settings."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from itsdangerous import TimestampSigner

from bot.serving.web.ratelimit import RateLimiter, check_and_record, make_storage, redis_url
from bot.serving.web.staff_auth import StaffAuth

TOKEN = "s" * 32


# --- staff session cookie (itsdangerous) ----------------------------------------------------

def test_staff_session_is_signed_without_the_token() -> None:
    auth = StaffAuth(TOKEN, session_hours=1, secure_cookie=False)
    value = auth.session_value()
    assert TOKEN not in value
    assert auth.session_valid(value)
    assert not auth.token_matches("s" * 31) and auth.token_matches(TOKEN)


def test_tampered_or_foreign_session_is_refused() -> None:
    auth = StaffAuth(TOKEN, session_hours=1, secure_cookie=False)
    value = auth.session_value()
    payload, timestamp, signature = value.rsplit(".", 2)
    # Change the first character (the last one of base64 has padding bits that may not count).
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert not auth.session_valid(f"{payload}.{timestamp}.{flipped}")
    assert not auth.session_valid(f"{payload}.{timestamp}")
    assert not auth.session_valid("")
    assert not auth.session_valid("garbage")
    assert not StaffAuth("t" * 32, 1, False).session_valid(value)  # the token changed: sessions end
    assert not StaffAuth(None, 1, False).session_valid(value)  # console disabled


def test_expired_session_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = StaffAuth(TOKEN, session_hours=1, secure_cookie=False)
    value = auth.session_value()
    now = int(time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now + 3590)
    assert auth.session_valid(value)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now + 3610)
    assert not auth.session_valid(value)


# --- rate limits (limits) ---------------------------------------------------------------------

def test_memory_limiter_counts_and_tells_how_long_to_wait() -> None:
    limiter = RateLimiter("t", limit=3, window_s=60)
    for _ in range(3):
        assert limiter.hit("a") is None
    wait = limiter.retry_after("a")
    assert wait is not None and 55 <= wait <= 60
    assert limiter.retry_after("b") is None
    assert limiter.hit("a") is not None


def test_a_refused_hit_is_not_counted_anywhere() -> None:
    storage = make_storage([])
    limiters = {"ip": RateLimiter("ip", 10, storage=storage), "sender": RateLimiter("sender", 1, storage=storage)}
    assert check_and_record(limiters, {"ip": "1.2.3.4", "sender": "s1"}) is None
    wait = check_and_record(limiters, {"ip": "1.2.3.4", "sender": "s1"})
    assert wait is not None and 55 <= wait <= 60
    assert check_and_record(limiters, {"ip": "1.2.3.4", "sender": "s2"}) is None
    ip = limiters["ip"]
    assert ip._strategy.get_window_stats(ip.item, "1.2.3.4")[1] == 8  # two hits counted, not three


def test_redis_url_quotes_the_password() -> None:
    assert redis_url({"host": "redis", "port": 6380, "db": 2, "password": "p@ss/w"}) == "redis://:p%40ss%2Fw@redis:6380/2"
    assert redis_url({"host": "127.0.0.1", "port": 6379, "db": 0, "password": None}) == "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _redis_answers(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The local Redis on 6379 if one runs, else a throwaway redis-server (tests/stack.py)."""
    if _redis_answers(6379):
        yield {"host": "127.0.0.1", "port": 6379, "db": 0, "password": None}
        return
    from tests.stack import RedisServer

    server = RedisServer(port=_free_port(), workdir=Path(tmp_path_factory.mktemp("redis"))).start()
    try:
        yield {"host": "127.0.0.1", "port": server.port, "db": 0, "password": None}
    finally:
        server.stop()


def test_two_replicas_share_their_counts_through_redis(redis_server: dict) -> None:
    namespace = f"oim-test-{uuid.uuid4().hex}"  # never a real limiter's keys
    # Two web replicas: separate storages (separate connections), one Redis.
    first = RateLimiter("sender", 4, storage=make_storage([redis_server]), namespace=namespace)
    second = RateLimiter("sender", 4, storage=make_storage([redis_server]), namespace=namespace)
    assert first.shared and second.shared
    try:
        assert first.hit("abc") is None
        assert second.hit("abc") is None
        assert first.hit("abc") is None
        assert second.hit("abc") is None
        # Four hits in all: each replica alone has seen two, yet both now refuse.
        assert first.retry_after("abc") is not None
        assert second.hit("abc") is not None
        assert first.retry_after("other") is None
        client = redis.Redis(host=redis_server["host"], port=redis_server["port"])
        assert any(namespace in key.decode() for key in client.scan_iter(match=f"*{namespace}*"))
    finally:
        first.clear("abc")
    assert second.retry_after("abc") is None


def test_unreachable_redis_fails_open() -> None:
    port = _free_port()  # nobody listens on it
    limiter = RateLimiter("ip", 1, storage=make_storage([{"host": "127.0.0.1", "port": port, "db": 0}]))
    assert check_and_record({"ip": limiter}, {"ip": "1.2.3.4"}) is None


# --- settings as pydantic models -------------------------------------------------------------

def test_web_settings_name_the_variable_and_hide_the_token() -> None:
    from bot.serving.web.config import ConfigError, WebConfig

    with pytest.raises(ConfigError) as caught:
        WebConfig.from_env({"OIM_RATE_IP_PER_MIN": "0", "OIM_STORE": "mysql", "OIM_STAFF_TOKEN": "short-secret"})
    problems = caught.value.problems
    assert any(p.startswith("OIM_RATE_IP_PER_MIN='0'") and "greater than or equal to 1" in p for p in problems)
    assert any(p.startswith("OIM_STORE='mysql'") for p in problems)
    assert any(p.startswith("OIM_STAFF_TOKEN is too short") for p in problems)
    assert "short-secret" not in str(caught.value)
    config = WebConfig.from_env({"OIM_TRUST_FORWARDED_FOR": "on", "OIM_RASA_TIMEOUT": "2.5"})
    assert config.trust_forwarded_for and config.rasa_timeout_s == 2.5
    with pytest.raises(ConfigError, match="--port"):
        config.with_overrides(port=70000)
    assert config.with_overrides(port=9000).port == 9000
    assert set(WebConfig.variables().values()) >= {"OIM_WEB_PORT", "OIM_STAFF_TOKEN", "OIM_ENDPOINTS", "OIM_STORE"}


def test_gates_yml_is_checked_by_its_schema(tmp_path: Path) -> None:
    import yaml

    from bot.knowledge.paths import repo_root
    from bot.maintenance.gates import GateConfigError, load_gate_config

    data = yaml.safe_load((repo_root() / "gates.yml").read_text(encoding="utf-8"))
    config = load_gate_config(repo_root())
    assert config.nlu.holdout.file == data["nlu"]["holdout"]["file"]
    assert config.nlu_macro_f1_min("holdout") == data["nlu"]["holdout"]["macro_f1_min"]

    def broken(change: str, value: object) -> str:
        copy = yaml.safe_load(yaml.safe_dump(data))
        *parents, last = change.split(".")
        node = copy
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
        (tmp_path / "gates.yml").write_text(yaml.safe_dump(copy), encoding="utf-8")
        with pytest.raises(GateConfigError) as caught:
            load_gate_config(tmp_path)
        return str(caught.value)

    assert "missing setting 'qa.holdout_file'" in broken("qa.holdout_file", None)
    assert "unknown setting 'qa.pass_rate_minimum'" in broken("qa.pass_rate_minimum", 0.9)
    assert "'qa.pass_rate_min'" in broken("qa.pass_rate_min", 1.5)
    assert "'nlu.default_mode'" in broken("nlu.default_mode", "k_fold")


# --- locks (filelock) -------------------------------------------------------------------------

def test_exclusive_lock_waits_for_the_flock_command_and_says_so(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    import shutil
    import subprocess

    from bot.maintenance.locks import exclusive

    lock = tmp_path / "train.lock"
    if shutil.which("flock") is None:
        pytest.skip("flock(1) not installed")
    # Another process (the shell tool scripts use) holds the lock for two seconds.
    holder = subprocess.Popen(["flock", str(lock), "sleep", "2"])
    try:
        deadline = time.monotonic() + 10
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        with exclusive(lock, "another training runs"):
            # We got it only once the holder let go: it has exited (within the moment the kernel
            # takes to report an exit after releasing its files). No wall-clock bound: it flaked
            # under load.
            deadline = time.monotonic() + 0.5
            while holder.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert holder.poll() == 0
            # Held: the flock command cannot take it now.
            assert subprocess.run(["flock", "-n", str(lock), "true"]).returncode != 0
    finally:
        holder.wait(timeout=10)
    assert "another training runs" in capfd.readouterr().err
    assert subprocess.run(["flock", "-n", str(lock), "true"]).returncode == 0  # released


# --- the staff console in process: itsdangerous cookie, limits, Jinja2 pages ----------------

STAFF_TOKEN = "in-process-staff-token-0123456789"


async def _staff_client(tmp_path: Path) -> object:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.serving.web.app import create_app
    from bot.serving.web.config import WebConfig

    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: trackers.db\n", encoding="utf-8")
    config = WebConfig(endpoints=endpoints, staff_token=STAFF_TOKEN, rasa_urls=("http://127.0.0.1:9",),
                       actions_url="http://127.0.0.1:9", retention_days=0)
    client = TestClient(TestServer(create_app(config)))
    await client.start_server()
    return client


async def test_login_sets_a_signed_cookie_that_opens_the_console(tmp_path: Path) -> None:
    from bot.serving.web.staff_auth import COOKIE_NAME

    client = await _staff_client(tmp_path)
    try:
        page = await (await client.get("/staff")).text()  # type: ignore[attr-defined]
        assert 'type="password"' in page and "Connexion" in page and "aria-current" not in page
        response = await client.post("/staff/login", data={"token": STAFF_TOKEN}, allow_redirects=False)  # type: ignore[attr-defined]
        assert response.status == 303
        cookie = response.cookies[COOKIE_NAME]
        assert STAFF_TOKEN not in cookie.value and cookie["httponly"] and cookie["samesite"] == "Strict"
        client.session.cookie_jar.clear()  # type: ignore[attr-defined]
        opened = await client.get("/staff/queue", headers={"Cookie": f"{COOKIE_NAME}={cookie.value}"})  # type: ignore[attr-defined]
        assert opened.status == 200
        assert 'href="/staff/queue" aria-current="page"' in await opened.text()
        tampered = cookie.value[:-4] + ("AAAA" if not cookie.value.endswith("AAAA") else "BBBB")
        refused = await client.get("/staff/queue", headers={"Cookie": f"{COOKIE_NAME}={tampered}"})  # type: ignore[attr-defined]
        assert 'type="password"' in await refused.text()  # the login form again, not the console
    finally:
        await client.close()  # type: ignore[attr-defined]


async def test_login_attempts_are_limited_and_the_page_escapes_what_it_shows(tmp_path: Path) -> None:
    client = await _staff_client(tmp_path)
    try:
        statuses = []
        for _ in range(11):
            response = await client.post("/staff/login", data={"token": "<script>alert(1)</script>"})  # type: ignore[attr-defined]
            statuses.append(response.status)
            page = await response.text()
            assert "<script>alert(1)</script>" not in page
        assert statuses[:10] == [403] * 10 and statuses[10] == 429  # LOGIN_ATTEMPTS_PER_MINUTE
        assert 'role="alert"' in page
        transcript = await client.get("/staff/conversations/%3Cscript%3Ex", headers={"Authorization": f"Bearer {STAFF_TOKEN}"})  # type: ignore[attr-defined]
        body = await transcript.text()
        assert transcript.status == 404 and "<script>x" not in body and "Lien de conversation invalide" in body
    finally:
        await client.close()  # type: ignore[attr-defined]


# --- report.html (Jinja2) ---------------------------------------------------------------------

def test_report_html_escapes_the_title_and_any_html_in_the_markdown() -> None:
    from bot.maintenance.report import render_html

    page = render_html("# Report\n\n| reply |\n|---|\n| <script>alert(1)</script> |\n\n**ok** ![plot](nlu/a.png)\n",
                       "OIM <update> & co")
    assert "<title>OIM &lt;update&gt; &amp; co</title>" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<h1>Report</h1>" in page and "<strong>ok</strong>" in page and '<img alt="plot" src="nlu/a.png"' in page
    assert "<table>" in page
