"""Every Rasa replica on the same model: GET /models/live and deploy's publish-and-wait (issue 17).

The route is tested in process (aiohttp's test client on `create_app`) against a deployment history
written as bot.maintenance.deploy writes it; the end-to-end test runs the real web service and two
real Rasa replicas pulling from it (endpoints.replicas.yml's `models:` section), publishes a second
model and rolls back, through deploy.publish and deploy.rollback.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient
from multidict import CIMultiDictProxy

from bot.knowledge.paths import repo_root
from bot.maintenance import deploy
from bot.maintenance.candidate_model import ModelBuild, file_sha
from bot.maintenance.report import _deployment_section
from bot.maintenance.update import EXIT_OK, Staging, Update
from bot.serving.web.model_server import model_etag, read_live_model
from tests.stack import RasaServer, WebServer, base_env, free_ports, http_request, write_sqlite_endpoints
from tests.web_app import config_for, sqlite_endpoints, start_client

TOKEN = "model-server-token-0123456789"
PROJECT = str(repo_root().resolve())


def write_history(cache: Path, *models: Path, project: str = PROJECT) -> None:
    """deployments.json as deploy.save_history writes it: one deployment per model, the last is live."""
    deployments = [
        {"id": f"2026120{i}-000000-000", "action": "update", "project": project, "model": str(model),
         "model_hash": model.name.split(".")[0], "model_sha": "ab" * 32 if not model.is_file() else file_sha(model),
         "config_sha": "", "labels": {}, "snapshot": ""}
        for i, model in enumerate(models)
    ]
    (cache / "deployments.json").write_text(json.dumps({"version": 1, "deployments": deployments}), encoding="utf-8")


@pytest.fixture()
def cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "model-a.tar.gz").write_bytes(b"model A bytes " * 1000)
    (folder / "models" / "model-b.tar.gz").write_bytes(b"model B bytes " * 1000)
    return folder


@pytest.fixture()
async def client(cache: Path, tmp_path: Path) -> AsyncIterator[TestClient]:
    config = config_for("http://127.0.0.1:9", "http://127.0.0.1:9", sqlite_endpoints(tmp_path),
                        model_server_token=TOKEN, cache_dir=cache)
    web = await start_client(config)
    yield web
    await web.close()


async def get_live(client: TestClient, **headers: str) -> tuple[int, CIMultiDictProxy[str], bytes]:
    response = await client.get("/models/live", headers={"Authorization": f"Bearer {TOKEN}", **headers})
    return response.status, response.headers, await response.read()  # header names: any case, as for Rasa


# --- the route, in process ------------------------------------------------------------------------


async def test_live_model_is_streamed_with_an_etag_naming_it(client: TestClient, cache: Path) -> None:
    model_a = cache / "models" / "model-a.tar.gz"
    write_history(cache, model_a)
    status, headers, body = await get_live(client)
    assert status == 200 and body == model_a.read_bytes()
    assert headers["ETag"] == f'"{model_etag("model-a.tar.gz", file_sha(model_a))}"'
    assert headers["filename"] == "model-a.tar.gz"  # what the replica's /status then reports
    assert headers["Content-Type"] == "application/gzip" and "Content-Encoding" not in headers


async def test_same_etag_gives_304_and_a_new_deployment_gives_the_new_model(client: TestClient, cache: Path) -> None:
    model_a, model_b = cache / "models" / "model-a.tar.gz", cache / "models" / "model-b.tar.gz"
    write_history(cache, model_a)
    etag_a = (await get_live(client))[1]["ETag"]
    status, headers, body = await get_live(client, **{"If-None-Match": etag_a})  # as Rasa sends it back
    assert (status, body, headers["ETag"]) == (304, b"", etag_a)
    write_history(cache, model_a, model_b)
    status, headers, body = await get_live(client, **{"If-None-Match": etag_a})
    assert status == 200 and body == model_b.read_bytes() and headers["ETag"] != etag_a
    write_history(cache, model_a, model_b, model_a)  # a rollback: A's ETag again
    assert (await get_live(client))[1]["ETag"] == etag_a


async def test_copies_of_one_model_under_two_names_have_two_etags(client: TestClient, cache: Path) -> None:
    copy = cache / "models" / "copy-of-a.tar.gz"
    shutil.copyfile(cache / "models" / "model-a.tar.gz", copy)
    write_history(cache, cache / "models" / "model-a.tar.gz")
    etag_a = (await get_live(client))[1]["ETag"]
    write_history(cache, copy)
    assert (await get_live(client, **{"If-None-Match": etag_a}))[0] == 200


async def test_token_in_the_query_as_rasa_token_setting_sends_it(client: TestClient, cache: Path) -> None:
    write_history(cache, cache / "models" / "model-a.tar.gz")
    assert (await client.get(f"/models/live?token={TOKEN}")).status == 200


@pytest.mark.parametrize("headers,query", [({}, ""), ({"Authorization": "Bearer wrong-token-0123456789"}, ""),
                                           ({}, "?token=wrong"), ({"Authorization": f"Basic {TOKEN}"}, "")])
async def test_missing_or_wrong_token_is_401(client: TestClient, cache: Path, headers: dict, query: str) -> None:
    write_history(cache, cache / "models" / "model-a.tar.gz")
    response = await client.get(f"/models/live{query}", headers=headers)
    assert response.status == 401 and (await response.json())["error"] == "model_server_unauthorized"


async def test_nothing_published_is_404_json(client: TestClient, cache: Path) -> None:
    status, _, body = await get_live(client)  # no history at all
    assert status == 404 and json.loads(body)["error"] == "no_model_published"
    write_history(cache, cache / "models" / "model-a.tar.gz", project="/another/checkout")
    status, _, body = await get_live(client)  # deployments of another project only
    assert status == 404 and json.loads(body)["error"] == "no_model_published"


async def test_no_token_configured_turns_the_route_off(cache: Path, tmp_path: Path) -> None:
    write_history(cache, cache / "models" / "model-a.tar.gz")
    web = await start_client(config_for("http://127.0.0.1:9", "http://127.0.0.1:9", sqlite_endpoints(tmp_path),
                                        cache_dir=cache))
    try:
        response = await web.get("/models/live", headers={"Authorization": "Bearer "})
        assert response.status == 404 and (await response.json())["error"] == "model_server_disabled"
    finally:
        await web.close()


async def test_never_a_file_outside_the_models_cache(client: TestClient, cache: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.tar.gz"
    secret.write_bytes(b"not a model")
    (cache / "models" / "link.tar.gz").symlink_to(secret)
    for model in (secret, cache / "models" / ".." / ".." / "secret.tar.gz", cache / "models" / "link.tar.gz",
                  cache / "deployments.json", cache / "models", cache / "models" / "missing.tar.gz"):
        write_history(cache, model)
        status, _, body = await get_live(client)
        assert status == 404 and b"not a model" not in body, model
    inside = cache / "models" / "key.tar.gz"  # the model cache links keys to files: allowed inside it
    inside.symlink_to(cache / "models" / "model-a.tar.gz")
    write_history(cache, inside)
    status, headers, _ = await get_live(client)
    assert status == 200 and headers["filename"] == "key.tar.gz"


def test_history_written_by_deploy_is_read_by_the_route(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    """The format contract between the layers: deploy.record_deployment writes, read_live_model reads."""
    knowledge, pages = tmp_path / "knowledge", tmp_path / "pages"
    knowledge.mkdir()
    pages.mkdir()
    monkeypatch.setenv("OIM_CACHE_DIR", str(cache))
    model = cache / "models" / "model-b.tar.gz"
    deployment = deploy.record_deployment("update", model, "model-b", knowledge, pages, None, repo_root())
    live = read_live_model(cache)
    assert live is not None and live.path == model.resolve() and live.deployment_id == deployment.id
    assert live.etag == model_etag(model.name, deployment.model_sha)


# --- waiting for replicas (no Rasa needed) -----------------------------------------------------------


def test_a_replica_that_never_answers_is_reported_late() -> None:
    (port,) = free_ports(1)
    began = time.monotonic()
    [report] = deploy.wait_for_replicas([f"http://127.0.0.1:{port}"], "t", Path("m.tar.gz"), timeout_s=1.5,
                                        poll_s=0.5)
    assert not report.has_model and report.problem.startswith("no answer")
    assert 1.5 <= time.monotonic() - began < 10
    assert "NOT after" in report.describe()


def test_model_server_mode_is_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OIM_MODEL_SERVER", raising=False)
    assert not deploy.model_server_enabled()
    monkeypatch.setenv("OIM_MODEL_SERVER", "1")
    assert deploy.model_server_enabled()


def test_publish_copies_a_model_from_elsewhere_into_the_cache(cache: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m bot publish --model /app/model.tar.gz`: the first deployment of pulling replicas."""
    image_model = tmp_path / "model.tar.gz"
    image_model.write_bytes(b"the image's model")
    (port,) = free_ports(1)
    for name, value in {"OIM_CACHE_DIR": str(cache), "OIM_KNOWLEDGE_DIR": str(tmp_path / "k"),
                        "OIM_PAGES_DIR": str(tmp_path / "p"), "OIM_RASA_URL": f"http://127.0.0.1:{port}",
                        "OIM_RASA_TOKEN": "t", "OIM_REPLICA_WAIT_S": "0"}.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "k").mkdir()
    (tmp_path / "p").mkdir()
    monkeypatch.delenv("OIM_MODEL_SERVER", raising=False)
    with pytest.raises(deploy.DeployError, match="OIM_MODEL_SERVER=1"):
        deploy.publish_model(image_model)
    monkeypatch.setenv("OIM_MODEL_SERVER", "1")
    outcome = deploy.publish_model(image_model)
    assert not outcome.model_loaded and "do NOT have it" in outcome.message  # no replica listens
    live = read_live_model(cache)
    assert live is not None and live.path.parent == (cache / "models").resolve()
    assert live.path.read_bytes() == b"the image's model" and live.name.startswith("published-")
    assert deploy.load_history()[-1].action == "publish"


# --- the example files ---------------------------------------------------------------------------------


def test_replicas_endpoints_are_the_redis_ones_plus_models() -> None:
    replicas = yaml.safe_load((repo_root() / "endpoints.replicas.yml").read_text(encoding="utf-8"))
    redis = yaml.safe_load((repo_root() / "endpoints.redis.yml").read_text(encoding="utf-8"))
    models = replicas.pop("models")
    assert replicas == redis
    assert models == {"url": "${OIM_MODEL_SERVER_URL}", "wait_time_between_pulls": 10,
                      "headers": {"Authorization": "Bearer ${OIM_MODEL_SERVER_TOKEN}"}}


def test_compose_replicas_variant_pulls_from_the_web_service() -> None:
    from tests.test_postgres_store import compose_config

    base = compose_config("docker-compose.yml")["services"]
    services = compose_config("docker-compose.yml", "docker-compose.replicas.yml")["services"]
    rasa = services["rasa"]
    token_check = 'test -n "$$OIM_MODEL_SERVER_TOKEN" || { echo "set OIM_MODEL_SERVER_TOKEN" >&2; exit 1; };'
    assert rasa["command"][-1].replace(token_check + " ", "") == (
        base["rasa"]["command"][-1].replace("endpoints.redis.yml", "endpoints.replicas.yml"))
    assert rasa["environment"]["OIM_MODEL_SERVER_URL"] == "http://web:8080/models/live"
    web = services["web"]
    assert web["command"][-1].endswith("exec python -m bot web --host 0.0.0.0")
    assert web["environment"]["OIM_CACHE_DIR"] == "/cache" and "model-cache:/cache:rw" in web["volumes"]
    for service in (rasa, web):
        assert service["environment"]["OIM_MODEL_SERVER_TOKEN"] == ""  # the operator must set it


# --- end to end: the web service and two real Rasa replicas --------------------------------------------

PULL_S = 2
WAIT_S = 150.0


def replicas_endpoints(path: Path, db: Path) -> Path:
    """Our SQLite endpoints plus endpoints.replicas.yml's own `models:` section (pulls every PULL_S s)."""
    write_sqlite_endpoints(path, "http://127.0.0.1:9/webhook", db)  # no action server: only models here
    models = yaml.safe_load((repo_root() / "endpoints.replicas.yml").read_text(encoding="utf-8"))["models"]
    text = path.read_text(encoding="utf-8")
    block = yaml.safe_dump({"models": {**models, "wait_time_between_pulls": PULL_S}}, sort_keys=False)
    path.write_text(text + "\n" + block, encoding="utf-8")
    return path


def link_or_copy(source: Path, target: Path) -> Path:
    """Another name for the same model file: a hard link (no 100 MB copy), else a copy."""
    try:
        os.link(source.resolve(), target)
    except OSError:
        shutil.copyfile(source.resolve(), target)
    return target


@pytest.fixture(scope="module")
def replicas(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A (published before start) live on two replicas that pull from the real web service."""
    workdir = tmp_path_factory.mktemp("replicas")
    cache = workdir / "cache"
    (cache / "models").mkdir(parents=True)
    model_a = link_or_copy(model_path, cache / "models" / "model-a.tar.gz")
    model_b = link_or_copy(model_path, cache / "models" / "model-b.tar.gz")
    knowledge = shutil.copytree(repo_root() / "data" / "knowledge", workdir / "knowledge")
    pages = shutil.copytree(repo_root() / "data" / "pages", workdir / "pages")
    env = {"OIM_CACHE_DIR": str(cache), "OIM_KNOWLEDGE_DIR": str(knowledge), "OIM_PAGES_DIR": str(pages)}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    deploy.record_deployment("baseline", model_a, "model-a", knowledge, pages, None, repo_root())

    web_port, port_1, port_2 = free_ports(3)
    web = WebServer(web_port, workdir / "web.log", settings={
        "OIM_MODEL_SERVER_TOKEN": TOKEN, "OIM_CACHE_DIR": str(cache), "OIM_ENDPOINTS": str(sqlite_endpoints(workdir)),
    }).start()
    token = "replica-api-token"
    servers = []
    for port in (port_1, port_2):
        server = RasaServer(port, model_path, replicas_endpoints(workdir / f"endpoints-{port}.yml",
                                                                 workdir / f"trackers-{port}.db"),
                            workdir / f"rasa-{port}.log", token=token)
        server.env = {**server.env, "OIM_MODEL_SERVER_URL": f"{web.url}/models/live", "OIM_MODEL_SERVER_TOKEN": TOKEN}
        servers.append(server)
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:  # both load the model at the same time
            list(pool.map(lambda s: s.start(timeout_s=300), servers))
        yield {"web": web, "servers": servers, "token": token, "a": model_a, "b": model_b, "cache": cache,
               "knowledge": knowledge, "pages": pages}
    finally:
        for server in servers:
            server.stop()
        web.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def model_files(replicas: dict) -> list[str]:
    files = []
    for server in replicas["servers"]:
        status, _, body = http_request(f"{server.url}/status?token={replicas['token']}")
        files.append(json.loads(body)["model_file"] if status == 200 else f"HTTP {status}")
    return files


def test_replicas_start_on_the_published_model(replicas: dict) -> None:
    assert model_files(replicas) == ["model-a.tar.gz", "model-a.tar.gz"]  # not --model's file name


def test_update_then_rollback_reach_every_replica(replicas: dict, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """`bot update`'s deploy step publishes B to both replicas, then `python -m bot rollback` brings back A."""
    servers = replicas["servers"]
    monkeypatch.setenv("OIM_RASA_URL", ",".join(s.url for s in servers))
    monkeypatch.setenv("OIM_RASA_TOKEN", replicas["token"])
    monkeypatch.setenv("OIM_MODEL_SERVER", "1")
    monkeypatch.setenv("OIM_REPLICA_WAIT_S", str(WAIT_S))
    model_b, live_knowledge = replicas["b"], replicas["knowledge"]
    assert file_sha(model_b) == file_sha(replicas["a"])  # same bytes: only the published name differs
    staged = Staging(tmp_path, shutil.copytree(live_knowledge, tmp_path / "knowledge"),
                     shutil.copytree(replicas["pages"], tmp_path / "pages"))
    sources = staged.knowledge / "sources.yml"
    sources.write_text(sources.read_text(encoding="utf-8") + "# staged by the update\n", encoding="utf-8")

    update = Update([], None, allow_finetune=False, use_cache=True)  # its last phase only: the gates passed
    update.staging, update.record.model = staged, ModelBuild(model_b, "model-b", "cache")
    assert update.deploy() == EXIT_OK
    live = update.record.live
    assert live is not None and update.record.outcome == "DEPLOYED", update.record.message
    print("update to B:", live.message)
    assert [r.has_model for r in live.replicas] == [True, True] and all(r.seconds < WAIT_S for r in live.replicas)
    assert model_files(replicas) == ["model-b.tar.gz", "model-b.tar.gz"]
    assert "# staged by the update" in (live_knowledge / "sources.yml").read_text(encoding="utf-8")
    history = deploy.load_history()
    assert history[-1].model == str(model_b) and "every replica (2) has it" in history[-1].server
    report = "\n".join(_deployment_section(update.record))
    assert report.count("has it after") == 2, report  # one line per replica in the update report

    time.sleep(3 * PULL_S)  # more pulls: If-None-Match matches, 304, no reload
    sent = re.findall(r"model server: sending (\S+)", replicas["web"].log_text())
    assert sent.count("model-b.tar.gz") == 2, sent  # once per replica
    assert TOKEN not in replicas["web"].log_text()  # the token travels in a header, never in a logged URL

    result = subprocess.run([sys.executable, "-m", "bot", "rollback"], cwd=repo_root(), env=base_env(),
                            capture_output=True, text=True, timeout=WAIT_S + 60)
    print("rollback to A:", result.stderr.strip().splitlines()[0] if result.stderr.strip() else "")
    assert result.returncode == 0, result.stderr
    assert "every replica (2) has it" in result.stderr
    assert model_files(replicas) == ["model-a.tar.gz", "model-a.tar.gz"]
    assert deploy.load_history()[-1].action == "rollback"
    assert "# staged by the update" not in (live_knowledge / "sources.yml").read_text(encoding="utf-8")
    assert isinstance(servers[0].send("replica-check", "bonjour"), list)  # the reloaded replica answers
