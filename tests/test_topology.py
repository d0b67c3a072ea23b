"""docker-compose.yml: valid, and the same topology works without Docker.

`redis_topology` (tests/conftest.py) starts Redis, the action server, two Rasa replicas and the web
service as local processes with the environment `docker-compose config` gives each service (service
names replaced by local addresses).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
import uuid

import pytest
import yaml

from bot.knowledge.paths import repo_root
from tests.conftest import TOPOLOGY_STAFF_TOKEN, Topology
from tests.web_app import conversation_url

CLEAN_ENV = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}


def compose_config() -> dict:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: run scripts/system_deps.sh")
    result = subprocess.run([binary, "config"], cwd=repo_root(), env=CLEAN_ENV, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid_with_no_variable_set() -> None:
    result = subprocess.run(["docker-compose", "config", "-q"], cwd=repo_root(), env=CLEAN_ENV,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


COMPOSE_FILES = (["docker-compose.yml"], ["docker-compose.yml", "docker-compose.postgres.yml"],
                 ["docker-compose.yml", "docker-compose.replicas.yml"])


@pytest.mark.parametrize("files", COMPOSE_FILES, ids=["redis", "postgres", "replicas"])
def test_compose_gives_the_action_server_its_handoff_settings(files: list[str]) -> None:
    """The action server answers "parler à un humain": OIM_HANDOFF_QUEUE (off unless set, as in
    bot/knowledge/staff_hours.yml) and OIM_STAFF_HOURS_FILE (the image's copy of that file) reach it
    with every compose file set, and an operator's values replace the defaults."""
    from bot.knowledge.handoff_hours import DEFAULT_FILE, staff_hours

    arguments = [part for name in files for part in ("-f", name)]
    binary = shutil.which("docker-compose") or "docker-compose"
    for extra, queue in (({}, "off"), ({"OIM_HANDOFF_QUEUE": "on", "OIM_STAFF_HOURS_FILE": "/etc/oim/hours.yml"}, "on")):
        env = {**CLEAN_ENV, "OIM_RASA_TOKEN": "t" * 20, "OIM_MODEL_SERVER_TOKEN": "m" * 20, **extra}
        result = subprocess.run([binary, *arguments, "config"], cwd=repo_root(), env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        actions = yaml.safe_load(result.stdout)["services"]["actions"]["environment"]
        assert actions["OIM_HANDOFF_QUEUE"] == queue, files
        assert actions["OIM_STAFF_HOURS_FILE"] == extra.get("OIM_STAFF_HOURS_FILE", "/app/bot/knowledge/staff_hours.yml")
    image_file = "/app/bot/knowledge/staff_hours.yml"
    assert (repo_root() / image_file.removeprefix("/app/")).resolve() == DEFAULT_FILE.resolve()
    defaults = compose_environment_of(["docker-compose.yml"], "actions")
    settings = staff_hours({**defaults, "OIM_STAFF_HOURS_FILE": str(DEFAULT_FILE)})
    assert settings.queue is False and settings.hours[0]  # the real loader reads compose's values


def compose_environment_of(files: list[str], service: str) -> dict[str, str]:
    arguments = [part for name in files for part in ("-f", name)]
    result = subprocess.run([shutil.which("docker-compose") or "docker-compose", *arguments, "config"],
                            cwd=repo_root(), env=CLEAN_ENV, capture_output=True, text=True, timeout=60, check=True)
    environment = yaml.safe_load(result.stdout)["services"][service]["environment"]
    return {str(k): "" if v is None else str(v) for k, v in environment.items()}


def test_compose_web_service() -> None:
    services = compose_config()["services"]
    web = services["web"]
    assert web["command"] == ["python", "-m", "bot", "web", "--host", "0.0.0.0"]
    assert web["image"] == services["rasa"]["image"]
    assert "http://localhost:8080/health" in web["healthcheck"]["test"]
    assert web["depends_on"]["rasa"]["condition"] == "service_healthy"
    assert web["environment"]["OIM_RASA_URL"] == "http://rasa:5005"
    assert web["environment"]["OIM_ENDPOINTS"] == "endpoints.redis.yml"
    assert web["environment"]["OIM_STAFF_TOKEN"] == ""  # console disabled unless the operator sets it
    assert "python -m bot.serving.channels" in " ".join(services["rasa"]["command"])


def test_health_of_the_whole_topology(redis_topology: Topology) -> None:
    status, _, body = redis_topology.web.request("GET", "/health")
    data = json.loads(body)
    assert status == 200, data
    assert {name: part["status"] for name, part in data["parts"].items()} == {
        "rasa": "up", "rasa_2": "up", "action_server": "up", "redis": "up"}


def test_conversation_through_the_web_service_on_both_replicas(redis_topology: Topology) -> None:
    sender = uuid.uuid4().hex
    status, body = redis_topology.web.chat(sender, "c'est quoi l'OIM ?")
    assert status == 200, body
    text = "\n".join(m["text"] for m in body["messages"])
    assert "OIM" in text and "Source" in text
    assert redis_topology.web.chat(sender, "retour volontaire")[0] == 200
    for replica in redis_topology.rasa:  # round-robin: each replica saw a turn, both see all turns
        users = [e["text"] for e in replica.tracker(f"web-{sender}")["events"] if e["event"] == "user"]
        assert users == ["c'est quoi l'OIM ?", "retour volontaire"]


def test_staff_console_reads_handoffs_from_redis(redis_topology: Topology) -> None:
    sender = uuid.uuid4().hex
    assert redis_topology.web.chat(sender, "bonjour")[0] == 200
    rasa = redis_topology.rasa[0]
    request = urllib.request.Request(
        f"{rasa.url}/conversations/web-{sender}/trigger_intent?token={rasa.token}",
        data=json.dumps({"name": "ask_human"}).encode(), headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60):
        pass
    bearer = {"Authorization": f"Bearer {TOPOLOGY_STAFF_TOKEN}"}
    status, _, body = redis_topology.web.request("GET", "/api/staff/handoffs", headers=bearer)
    assert status == 200
    assert f"web-{sender}" in [c["sender_id"] for c in json.loads(body)["conversations"]]
    status, _, body = redis_topology.web.request("GET", conversation_url(f"web-{sender}", TOPOLOGY_STAFF_TOKEN, api=True),
                                                 headers=bearer)
    assert status == 200 and "handoff" in [line["kind"] for line in json.loads(body)["transcript"]]


def test_health_names_redis_when_it_stops(redis_topology: Topology) -> None:
    redis_topology.redis.stop()
    try:
        status, _, body = redis_topology.web.request("GET", "/health")
        data = json.loads(body)
        assert status == 503 and data["down"] == ["redis"]
    finally:
        redis_topology.redis.start()
    assert redis_topology.web.request("GET", "/health")[0] == 200
