"""Conversations in PostgreSQL (endpoints.postgres.yml): Rasa's own SQLTrackerStore on a real server.

A private PostgreSQL cluster (tests/stack.py `PostgresServer`: initdb + postgres on a free loopback
port, password auth) and a private Redis (the lock store) are started for this module; the real
action server and Rasa server run with endpoints.postgres.yml, configured only through the
POSTGRES_* / REDIS_* variables, as in a container. Checked: slots persist across turns and across a
Rasa restart, the staff console (a real web process, and its ConversationReader) reads the
transcript and the handoff list from PostgreSQL, the retention purge deletes old conversations
there, an unreachable server is reported at once instead of being retried forever, and the
docker compose variant (docker-compose.postgres.yml) changes only the store.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.knowledge.paths import repo_root
from bot.serving.purge_trackers import SECONDS_PER_DAY, purge
from bot.serving.purge_trackers import main as purge_main
from bot.serving.tracker_stores import (
    TrackerStoreConfigError,
    conversation_ids,
    open_tracker_store,
    store_info,
)
from bot.serving.web.conversations import ConversationReader
from tests.stack import (
    ActionServer,
    PostgresServer,
    RasaServer,
    RedisServer,
    WebServer,
    base_env,
    free_port,
    start_all,
    stop_all,
)
from tests.web_app import conversation_url

ENDPOINTS = repo_root() / "endpoints.postgres.yml"
STAFF_TOKEN = "postgres-tests-staff-token-0123456789"


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(port=free_port(), workdir=tmp_path_factory.mktemp("postgres")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lock_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(port=free_port(), workdir=tmp_path_factory.mktemp("postgres-redis")).start()
    try:
        yield server
    finally:
        server.stop()


def store_variables(postgres: PostgresServer, redis: RedisServer, actions_url: str) -> dict[str, str]:
    """Every variable endpoints.postgres.yml reads."""
    return {**postgres.env(), **redis.env(), "ACTION_ENDPOINT_URL": f"{actions_url}/webhook"}


@pytest.fixture()
def store_env(postgres: PostgresServer, lock_redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process reads endpoints.postgres.yml as the web service and the purge command do."""
    variables = store_variables(postgres, lock_redis, "http://127.0.0.1:1")
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    return variables


def rows_of(postgres: PostgresServer, sender: str) -> int:
    return int(postgres.query("SELECT count(*) FROM events WHERE sender_id = %s", sender)[0][0])


# --- the store, without Rasa ---------------------------------------------------------------------

def test_endpoints_file_gives_rasas_sql_store_on_postgres(store_env: dict[str, str], postgres: PostgresServer) -> None:
    """String variables, and a password with URL-special characters (@ / : %), reach Rasa's store."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    info = store_info(ENDPOINTS)
    assert (info.kind, info.sql_dialect, info.sqlite_path) == ("sql", "postgresql", None)
    assert any(c in store_env["POSTGRES_PASSWORD"] for c in "@/:%")
    store = open_tracker_store(ENDPOINTS)
    assert type(store) is SQLTrackerStore and store.engine.dialect.name == "postgresql"
    sender = "direct-" + uuid.uuid4().hex[:8]

    async def roundtrip() -> DialogueStateTracker | None:
        await store.save(DialogueStateTracker.from_events(
            sender, [UserUttered("retour volontaire"), SlotSet("topic", "programme.voluntary_return")]))
        assert sender in await conversation_ids(store)
        return await store.retrieve(sender)

    tracker = asyncio.run(roundtrip())
    store.engine.dispose()
    assert tracker is not None and tracker.get_slot("topic") == "programme.voluntary_return"
    assert rows_of(postgres, sender) == 2  # in PostgreSQL itself, not in a cache of the store


def test_unreachable_postgres_is_reported_at_once(store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Rasa's store would retry forever (5 s apart): the console and the purge say what is wrong instead."""
    monkeypatch.setenv("POSTGRES_PORT", str(free_port()))  # nobody listens there
    started = time.monotonic()
    with pytest.raises(TrackerStoreConfigError, match="cannot reach the PostgreSQL tracker store"):
        open_tracker_store(ENDPOINTS)
    assert time.monotonic() - started < 10
    assert purge_main(["--endpoints", str(ENDPOINTS), "--older-than-days", "30"]) == 2
    assert "cannot reach the PostgreSQL tracker store" in capsys.readouterr().err

    monkeypatch.setenv("POSTGRES_PORT", store_env["POSTGRES_PORT"])
    monkeypatch.setenv("POSTGRES_PASSWORD", "wrong-password-123")
    with pytest.raises(TrackerStoreConfigError, match="password authentication failed") as error:
        open_tracker_store(ENDPOINTS)
    assert "wrong-password-123" not in str(error.value)


# --- docker compose ----------------------------------------------------------------------------------

def compose_config(*files: str, profiles: str = "") -> dict:
    """`docker-compose config` of `files` (Debian's docker-compose), with no variable of this machine."""
    binary = shutil.which("docker-compose")
    if binary is None:
        raise RuntimeError("docker-compose is not installed: run scripts/system_deps.sh (apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env["COMPOSE_PROFILES"] = profiles
    arguments = [item for name in files for item in ("-f", name)]
    result = subprocess.run([binary, *arguments, "config"], cwd=repo_root(), env=env, capture_output=True, text=True,
                            timeout=60, check=True)
    return yaml.safe_load(result.stdout)


def test_compose_postgres_variant_changes_only_the_store() -> None:
    base = compose_config("docker-compose.yml")
    # The default set-up (Redis) does not start PostgreSQL: only with the `postgres` profile.
    assert base["services"]["postgres"]["profiles"] == ["postgres"]
    merged = compose_config("docker-compose.yml", "docker-compose.postgres.yml", profiles="postgres")
    services = merged["services"]
    assert services["rasa"]["command"] == [
        part.replace("endpoints.redis.yml", "endpoints.postgres.yml") for part in base["services"]["rasa"]["command"]]
    assert services["web"]["environment"]["OIM_ENDPOINTS"] == "endpoints.postgres.yml"
    needed = set(re.findall(r"\$\{(\w+)\}", ENDPOINTS.read_text(encoding="utf-8")))
    for name in ("rasa", "web"):
        assert needed <= set(services[name]["environment"]), name
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    postgres = services["postgres"]
    assert "postgres-data:/var/lib/postgresql/data:rw" in postgres["volumes"] and "postgres-data" in merged["volumes"]
    for key in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"):  # the server and Rasa agree
        assert postgres["environment"][key] == services["rasa"]["environment"][key]


# --- Rasa on PostgreSQL ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rasa_on_postgres(model_path: Path, postgres: PostgresServer, lock_redis: RedisServer,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaServer]:
    """Action server + Rasa server with endpoints.postgres.yml, started once for the module."""
    workdir = tmp_path_factory.mktemp("rasa-postgres")
    actions = ActionServer(port=free_port(), log_path=workdir / "actions.log")
    env = {**base_env(), **store_variables(postgres, lock_redis, actions.url)}
    rasa = RasaServer(port=free_port(), model=model_path, endpoints=ENDPOINTS, log_path=workdir / "rasa.log", env=env)
    try:
        start_all(actions, rasa)
        rasa.actions = actions  # type: ignore[attr-defined]
        yield rasa
    finally:
        stop_all(rasa, actions)


def user_texts(tracker: dict) -> list[str]:
    return [e.get("text") for e in tracker["events"] if e["event"] == "user"]


def test_conversation_in_postgres_survives_a_rasa_restart(rasa_on_postgres: RasaServer, postgres: PostgresServer) -> None:
    rasa = rasa_on_postgres
    sender = "pg-restart-" + uuid.uuid4().hex[:8]
    assert rasa.texts(sender, "retour volontaire")
    slots = rasa.tracker(sender)["slots"]
    assert (slots["topic"], slots["programme"]) == ("programme.voluntary_return", "voluntary_return")
    stored = [json.loads(data) for (data,) in postgres.query(
        "SELECT data FROM events WHERE sender_id = %s AND type_name = 'slot' ORDER BY id", sender)]
    assert {"topic": "programme.voluntary_return"}.items() <= {e["name"]: e["value"] for e in stored}.items()

    rasa.stop()
    rasa.start()  # a new process: all it knows of the conversation comes from PostgreSQL

    answer = "\n".join(rasa.texts(sender, "et depuis le yemen ?"))
    tracker = rasa.tracker(sender)
    assert user_texts(tracker) == ["retour volontaire", "et depuis le yemen ?"]
    assert tracker["slots"]["programme"] == "voluntary_return"
    assert tracker["slots"]["topic"] == "programme.voluntary_return"
    assert "Yémen" in answer or tracker["slots"].get("country") == "Yémen"


def test_staff_console_reads_transcript_and_handoffs_from_postgres(
    rasa_on_postgres: RasaServer, postgres: PostgresServer, lock_redis: RedisServer, store_env: dict[str, str],
    tmp_path: Path,
) -> None:
    rasa = rasa_on_postgres
    sender = "pg-staff-" + uuid.uuid4().hex[:8]
    assert rasa.texts(sender, "bonjour")
    request = urllib.request.Request(  # the real action_human_handoff sets the slot
        f"{rasa.url}/conversations/{sender}/trigger_intent?token={rasa.token}",
        data=json.dumps({"name": "ask_human"}).encode(), headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200

    # The staff console itself: a real `python -m bot web` process with endpoints.postgres.yml.
    variables = store_variables(postgres, lock_redis, rasa.actions.url)  # type: ignore[attr-defined]
    web = WebServer(port=free_port(), log_path=tmp_path / "web.log", settings={
        **variables, "OIM_ENDPOINTS": str(ENDPOINTS), "OIM_RASA_URL": rasa.url,
        "OIM_ACTIONS_URL": rasa.actions.url, "OIM_STAFF_TOKEN": STAFF_TOKEN,  # type: ignore[attr-defined]
        "OIM_TRACKER_RETENTION_DAYS": "0",
    }).start()
    try:
        bearer = {"Authorization": f"Bearer {STAFF_TOKEN}"}
        status, _, body = web.request("GET", conversation_url(sender, STAFF_TOKEN, api=True), headers=bearer)
        assert status == 200, body
        transcript = json.loads(body)["transcript"]
        assert {"user", "bot", "handoff"} <= {line["kind"] for line in transcript}
        assert "bonjour" in [line["text"] for line in transcript if line["kind"] == "user"]
        for listing in ("/api/staff/handoffs", "/api/staff/queue"):  # the queue reads the events table in bulk
            status, _, body = web.request("GET", listing, headers=bearer)
            assert status == 200 and sender in {c["sender_id"] for c in json.loads(body)["conversations"]}, listing
    finally:
        web.stop()

    reader = ConversationReader(ENDPOINTS)  # the same reader, in this process
    lines = reader.transcript(sender)
    assert lines is not None
    assert [line.text for line in lines if line.kind == "user"][:1] == ["bonjour"]  # then Rasa's "EXTERNAL: ask_human"
    assert any(line.kind == "bot" for line in lines) and any(line.kind == "handoff" for line in lines)
    listed = {summary.sender_id: summary for summary in reader.handoffs().conversations}
    assert sender in listed and listed[sender].still_requested and "handoff" in listed[sender].reasons
    assert reader.transcript("pg-nobody-" + uuid.uuid4().hex) is None


def test_purge_deletes_old_conversations_from_postgres(
    rasa_on_postgres: RasaServer, postgres: PostgresServer, store_env: dict[str, str]
) -> None:
    rasa = rasa_on_postgres
    old, recent = ("pg-old-" + uuid.uuid4().hex[:8]), ("pg-recent-" + uuid.uuid4().hex[:8])
    for sender in (old, recent):
        assert rasa.texts(sender, "c'est quoi l'OIM ?")
    # The old conversation's last message was 40 days ago.
    postgres.query("UPDATE events SET timestamp = timestamp - %s WHERE sender_id = %s", 40 * SECONDS_PER_DAY, old)
    old_rows = rows_of(postgres, old)
    assert old_rows > 0 and rows_of(postgres, recent) > 0

    counted = purge(ENDPOINTS, 30, dry_run=True)
    assert (counted.store, counted.conversations, counted.events) == ("sql", 1, old_rows)
    assert rows_of(postgres, old) == old_rows  # a dry run deletes nothing

    done = purge(ENDPOINTS, 30)
    assert (done.conversations, done.events) == (1, old_rows)
    assert rows_of(postgres, old) == 0 and rows_of(postgres, recent) > 0
    assert ConversationReader(ENDPOINTS).transcript(old) is None
    assert user_texts(rasa.tracker(old)) == []  # Rasa itself no longer has it
    assert user_texts(rasa.tracker(recent)) == ["c'est quoi l'OIM ?"]
