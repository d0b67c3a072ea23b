"""Shared fixtures: the real servers, started once per test session, and a fake Rasa for in-process tests.

Start-ups are what make this suite slow (a Rasa server takes about a minute to load the model on
two cores): tests that need the real servers share the session's `stack`, `web_service` and
`redis_topology`; tests where Rasa is not the point use `fake_rasa` (tests/web_app.py) in process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.stack import (
    ActionServer,
    RasaServer,
    free_port,
    start_all,
    stop_all,
    trained_model,
    write_sqlite_endpoints,
)

if TYPE_CHECKING:
    from tests.web_app import FakeRasa


# Session fixtures that start servers: every module using one of them runs in the same xdist
# worker, so each is started once per run. Not `stack` (one Rasa, ~30 s to start): each worker starts
# its own. One shared `stack` (tried on 2026-12-02) saves a start-up but puts every conversation of the
# suite in one SQLite store: after test_qa's ~720, the staff feedback count of test_staff_ask
# (GET /api/staff/feedback reads every tracker) timed out at 30 s on a loaded machine.
SHARED_SERVERS = ("redis_topology",)


def pytest_configure(config: pytest.Config) -> None:
    """xdist sends the groups in the workers' collection order (longest_first below), not sorted by
    their number of tests (its default, which put hundreds of millisecond tests before the update loop)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fast tests first: every test that needs the trained model (a Rasa server or Rasa's agent,
    all through the `model_path` fixture) runs after the others, in file order, so a broken pure
    function fails in the first minute, not after the stacks have started.

    Under xdist (`scripts/test.sh` runs `-n 2 --dist loadgroup`), each test is put in the
    group of its module, and modules sharing a server fixture in one group: module- and
    session-scoped servers then start once, while independent groups (the SQLite stack, the Redis
    topology, messaging, the update loop...) run side by side on the two cores.

    In an xdist worker, once a run has recorded how long each group took (the pytest cache, see
    pytest_sessionfinish), the groups are sent longest first: the two workers then finish within a
    short group of each other, instead of one running the update loop alone at the end."""
    items.sort(key=lambda item: "model_path" in getattr(item, "fixturenames", ()))
    if config.pluginmanager.hasplugin("xdist"):
        groups = worker_groups(items)
        for item, group in zip(items, groups, strict=True):
            item.add_marker(pytest.mark.xdist_group(group))
        if hasattr(config, "workerinput"):  # xdist sends the groups in the order its workers collect them
            order = longest_first(items, groups, recorded_seconds(config))
            items[:] = [items[i] for i in order]


def worker_groups(items: list[pytest.Item]) -> list[str]:
    """One group name per item: its module, merged with every module sharing a SHARED_SERVERS fixture."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    modules = [item.nodeid.split("::")[0] for item in items]
    for item, module in zip(items, modules, strict=True):
        for server in SHARED_SERVERS:
            if server in getattr(item, "fixturenames", ()):
                parent[root(module)] = root(server)
    return [root(module) for module in modules]


MODULE_SECONDS = "oim/xdist_module_seconds"  # pytest cache key: seconds per test module in the last runs


def recorded_seconds(config: pytest.Config) -> dict[str, float]:
    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider
    stored = cache.get(MODULE_SECONDS, {}) if cache is not None else {}
    return stored if isinstance(stored, dict) else {}


def longest_first(items: list[pytest.Item], groups: list[str], seconds: dict[str, float]) -> list[int]:
    """Item indexes with the groups in decreasing recorded duration (the sum of their modules'; a
    stable sort: inside a group, the order stays). A module not recorded yet counts as the longest
    one if it needs the model (it starts servers), else as instant; nothing recorded: the order stays."""
    if not seconds:
        return list(range(len(items)))
    longest = max(seconds.values())
    modules: dict[str, set[str]] = {}
    needs_model: set[str] = set()
    for item, group in zip(items, groups, strict=True):
        module = item.nodeid.split("::")[0]
        modules.setdefault(group, set()).add(module)
        if "model_path" in getattr(item, "fixturenames", ()):
            needs_model.add(module)
    weight = {
        group: sum(seconds.get(m, longest if m in needs_model else 0.0) for m in names)
        for group, names in modules.items()
    }
    return sorted(range(len(items)), key=lambda i: -weight[groups[i]])


_module_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """In the xdist controller: add up setup, call and teardown seconds per module (of the tests
    xdist ran in a group: their ids end with "@group")."""
    if "@" in report.nodeid:
        module = report.nodeid.split("::")[0]
        _module_seconds[module] = _module_seconds.get(module, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Record this run's seconds per module for the next run's order (merged: a partial run keeps
    the other modules' figures)."""
    cache = getattr(session.config, "cache", None)
    if _module_seconds and cache is not None and not hasattr(session.config, "workerinput"):
        cache.set(MODULE_SECONDS, {**recorded_seconds(session.config), **_module_seconds})


@pytest.fixture(scope="session")
def model_path() -> Path:
    return trained_model()


@pytest.fixture(scope="session")
def stack(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaServer]:
    """Action server + Rasa server (REST channel, SQLite tracker store) on free ports."""
    workdir = tmp_path_factory.mktemp("stack")
    actions = ActionServer(port=free_port(), log_path=workdir / "actions.log")
    endpoints = write_sqlite_endpoints(workdir / "endpoints.yml", actions.url, workdir / "trackers.db")
    rasa = RasaServer(port=free_port(), model=model_path, endpoints=endpoints, log_path=workdir / "rasa.log")
    try:
        start_all(actions, rasa)
        rasa.actions = actions  # type: ignore[attr-defined]
        yield rasa
    finally:
        stop_all(rasa, actions)


# --- Redis topology (docker-compose.yml without Docker) ---------------------------------------

from dataclasses import dataclass  # noqa: E402

from bot.knowledge.paths import repo_root  # noqa: E402
from tests.stack import RedisServer, WebServer, base_env, compose_environment  # noqa: E402

TOPOLOGY_STAFF_TOKEN = "topology-staff-token-0123456789"


@dataclass
class Topology:
    """Redis + action server + two Rasa replicas on Redis + the web service, as local processes."""

    redis: RedisServer
    actions: ActionServer
    rasa: list[RasaServer]
    web: WebServer


def localize(environment: dict[str, str], redis: RedisServer, actions: ActionServer, rasa_urls: list[str]) -> dict[str, str]:
    """Compose service names (redis, actions, rasa) replaced by the local processes' addresses."""
    local = {}
    for key, value in environment.items():
        value = value.replace("http://actions:5055", actions.url).replace("http://rasa:5005", ",".join(rasa_urls))
        local[key] = value
    local.update(REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis.port))
    return local


@pytest.fixture(scope="session")
def redis_topology(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """The docker-compose.yml topology with the environment docker-compose.yml sets."""
    workdir = tmp_path_factory.mktemp("topology")
    redis = RedisServer(port=free_port(), workdir=workdir).start()
    started: list = [redis]
    try:
        actions = ActionServer(port=free_port(), log_path=workdir / "actions.log")
        started.append(actions)
        ports = [free_port(), free_port()]
        rasa_urls = [f"http://127.0.0.1:{port}" for port in ports]
        rasa_env = {**base_env(), **localize(compose_environment("rasa"), redis, actions, rasa_urls)}
        replicas = [
            RasaServer(port=port, model=model_path, endpoints=repo_root() / "endpoints.redis.yml",
                       log_path=workdir / f"rasa-{i}.log", env=dict(rasa_env))
            for i, port in enumerate(ports, 1)
        ]
        started.extend(replicas)
        start_all(actions, *replicas)  # the action server and both replicas load at once
        web_env = localize(compose_environment("web"), redis, actions, rasa_urls)
        web_env["OIM_STAFF_TOKEN"] = TOPOLOGY_STAFF_TOKEN
        web = WebServer(port=free_port(), log_path=workdir / "web.log", settings=web_env).start()
        started.append(web)
        yield Topology(redis, actions, replicas, web)
    finally:
        # The web service first: its keep-alive connections would hold Rasa's graceful shutdown.
        for process in [p for p in started if isinstance(p, WebServer)]:
            process.stop()
        stop_all(*started)  # Rasa takes seconds to stop


# --- Web service in front of the SQLite stack ---------------------------------------------------

WEB_STAFF_TOKEN = "web-tests-staff-token-0123456789"
WEB_PARTNER_ORIGIN = "https://partner.example.org"


def web_settings(rasa: RasaServer, **extra: str) -> dict[str, str]:
    """OIM_* variables for a web service in front of `rasa` (the `stack` fixture) and its store."""
    return {
        "OIM_RASA_URL": rasa.url,
        "OIM_ACTIONS_URL": rasa.actions.url,  # type: ignore[attr-defined]
        "OIM_ENDPOINTS": str(rasa.endpoints),
        "OIM_RASA_TIMEOUT": "60",
        "OIM_RATE_IP_PER_MIN": "100000",
        "OIM_RATE_SENDER_PER_MIN": "1000",
        **extra,
    }


@pytest.fixture(scope="session")
def web_service(stack: RasaServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`python -m bot -v web` (debug logs on, to check they are redacted) in front of `stack`, with
    Rasa's API token (as `make run` passes it)."""
    workdir = tmp_path_factory.mktemp("web")
    settings = web_settings(stack, OIM_STAFF_TOKEN=WEB_STAFF_TOKEN, OIM_CORS_ORIGINS=WEB_PARTNER_ORIGIN,
                            OIM_RASA_TOKEN=stack.token)  # feedback, "handled" and staff replies go through Rasa's API
    web = WebServer(port=free_port(), log_path=workdir / "web.log", settings=settings, verbose=True).start()
    try:
        yield web
    finally:
        web.stop()


# --- In process: a fake Rasa REST channel (and action server /health) ---------------------------

@pytest.fixture()
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    """What the web service needs from Rasa, in process, recording what it receives (tests/web_app.py)."""
    from tests.web_app import FakeRasa  # here: the web app's imports are for in-process tests only

    fake = await FakeRasa().start()
    try:
        yield fake
    finally:
        await fake.close()


# --- Real headless Chromium (Debian's chromium, driven by Playwright) ------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"  # git-ignored, for a human look
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Chromium is missing: run scripts/system_deps.sh")
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def phone(browser: Any) -> Iterator[Any]:
    """A phone-sized page whose console errors and CSP violations are collected in `page.problems`."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="fr-FR")
    page = context.new_page()
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    yield page
    context.close()
