"""Put a model and its knowledge live, remember what was live, and roll back.

Why: the running Rasa server swaps models through its HTTP API (`PUT /model`, behind the token)
without a restart: conversations in progress keep going, requests that arrive during the swap
wait for it instead of failing. Every deployment is recorded in <cache>/deployments.json with a
snapshot of the knowledge and pages it was served with, so `python -m bot rollback` can restore
the previous model and knowledge, and the next update can say what changed since.

With several replicas, `$OIM_MODEL_SERVER=1` switches to pulling (issue 17): the replicas pull the
live model from the web service's `GET /models/live` (endpoints.replicas.yml), which serves the
last deployment of this history. Publishing is then recording the deployment; `publish` waits until
every replica's `GET /status` reports the new model file and says which did, after how long.
deployments.json is read by bot/serving/web/model_server.py as plain JSON: keep `project`, `model`,
`model_sha` and `id` as they are.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge.paths import knowledge_dir, pages_dir, repo_root
from bot.knowledge.yamlio import write_atomic
from bot.maintenance.candidate_model import domain_labels, file_sha
from bot.maintenance.candidate_stack import http_json
from bot.maintenance.model_cache import cache_root

URL_ENV, TOKEN_ENV = "OIM_RASA_URL", "OIM_RASA_TOKEN"
DEFAULT_URL = "http://127.0.0.1:5005"
HISTORY_FILE = "deployments.json"
LOAD_TIMEOUT_S = 600
MODEL_SERVER_ENV = "OIM_MODEL_SERVER"  # 1: replicas pull from the web service's /models/live
REPLICA_WAIT_ENV = "OIM_REPLICA_WAIT_S"  # how long publish waits for every replica
DEFAULT_REPLICA_WAIT_S = 180.0  # pull interval (10 s) + loading (~20 s) with room for a busy machine


class DeployError(RuntimeError):
    """The server refused or failed to load the model (message says what to do)."""


def now_id() -> str:
    """A sortable id for a run: 20261123-031502-123."""
    stamp = dt.datetime.now()
    return stamp.strftime("%Y%m%d-%H%M%S-") + f"{stamp.microsecond // 1000:03d}"


@dataclass
class Deployment:
    """One model + knowledge that was (or would have been) put live."""

    id: str
    action: str  # baseline | update | rollback | publish
    project: str
    model: str
    model_hash: str
    model_sha: str
    config_sha: str
    labels: dict[str, list[str]]
    snapshot: str
    previous: str | None = None
    restores: str | None = None
    server: str = ""
    report: str | None = None
    created_at: str = field(default_factory=lambda: dt.datetime.now().isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- history


def history_path() -> Path:
    return cache_root() / HISTORY_FILE


def snapshots_root() -> Path:
    return cache_root() / "snapshots"


def load_history() -> list[Deployment]:
    path = history_path()
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Deployment(**item) for item in data.get("deployments", [])]


def save_history(history: list[Deployment]) -> None:
    path = history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        {"version": 1, "deployments": [d.to_dict() for d in history]}, ensure_ascii=False, indent=2
    )
    write_atomic(path, text + "\n")


def project_history(project: Path | None = None) -> list[Deployment]:
    """Deployments of this project (one cache may serve several checkouts)."""
    name = str((project or repo_root()).resolve())
    return [d for d in load_history() if d.project == name]


def live_deployment(project: Path | None = None) -> Deployment | None:
    """The last deployment of this project: what is (or was last) put live."""
    history = project_history(project)
    return history[-1] if history else None


def find_deployment(deployment_id: str, project: Path | None = None) -> Deployment | None:
    for deployment in project_history(project):
        if deployment.id == deployment_id:
            return deployment
    return None


# ---------------------------------------------------------------- files


def sync_tree(source: Path, target: Path) -> list[str]:
    """Make target's files equal to source's (atomic per file); returns the relative paths changed.

    Entries are written last and stale files removed at the end, so the action server's reload
    never sees entries pointing at passages that are not there yet.
    """
    target.mkdir(parents=True, exist_ok=True)
    wanted = sorted(
        (p.relative_to(source) for p in source.rglob("*") if p.is_file() and not p.name.startswith(".")),
        key=lambda rel: (rel.parts[0] == "entries", str(rel)),
    )
    changed: list[str] = []
    for rel in wanted:
        if write_atomic(target / rel, (source / rel).read_bytes()):
            changed.append(str(rel))
    keep = {str(rel) for rel in wanted}
    for path in sorted(target.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and str(path.relative_to(target)) not in keep:
            path.unlink()
            changed.append(f"{path.relative_to(target)} (removed)")
    return changed


def take_snapshot(deployment_id: str, knowledge: Path, pages: Path) -> Path:
    """Copy the knowledge and pages being put live to <cache>/snapshots/<id>/."""
    folder = snapshots_root() / deployment_id
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(knowledge, folder / "knowledge")
    if pages.is_dir():
        shutil.copytree(pages, folder / "pages")
    else:
        (folder / "pages").mkdir(parents=True)
    return folder


# ---------------------------------------------------------------- the running server


def server_urls() -> list[str]:
    """$OIM_RASA_URL: one Rasa server, or a comma-separated list of replicas (as the web service reads it)."""
    raw = os.environ.get(URL_ENV) or DEFAULT_URL
    return [url.strip().rstrip("/") for url in raw.split(",") if url.strip()]


def server_token() -> str | None:
    """$OIM_RASA_TOKEN, else the token file scripts/run.sh writes."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    path = cache_root() / "rasa-api-token"
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def server_status(url: str, token: str | None) -> dict[str, Any] | None:
    """GET /status; None when no server answers at url; DeployError if it refuses the token."""
    try:
        status, body = http_json("GET", f"{url}/status?token={token or ''}", timeout_s=10)
    except OSError:
        return None
    if status == 401 or status == 403:
        raise DeployError(
            f"the server at {url} refused the API token (HTTP {status}); set {TOKEN_ENV} to the token "
            f"it was started with (scripts/run.sh keeps it in {cache_root() / 'rasa-api-token'})"
        )
    if status != 200 or not isinstance(body, dict):
        raise DeployError(f"GET {url}/status answered HTTP {status}: {body!r}")
    return body


def same_model(status: dict[str, Any], model: Path) -> bool:
    """Whether the server already runs this model file."""
    loaded = str(status.get("model_file") or "")
    return bool(loaded) and Path(loaded).name == model.name


def load_model(url: str, token: str | None, model: Path) -> float:
    """PUT /model: the server loads the file and swaps it in; returns the seconds it took."""
    started = time.monotonic()
    try:
        status, body = http_json(
            "PUT", f"{url}/model?token={token or ''}", {"model_file": str(model)}, LOAD_TIMEOUT_S
        )
    except OSError as error:
        raise DeployError(f"PUT {url}/model failed: {error}") from error
    if status != 204:
        raise DeployError(f"the server did not load {model.name}: HTTP {status} {body!r}")
    after = server_status(url, token) or {}
    if not same_model(after, model):
        raise DeployError(f"the server reports model {after.get('model_file')!r} after loading {model.name}")
    return time.monotonic() - started


# ---------------------------------------------------------------- replicas pulling from a model server


def model_server_enabled() -> bool:
    """$OIM_MODEL_SERVER=1: the replicas pull the live model (endpoints.replicas.yml), no PUT /model."""
    return os.environ.get(MODEL_SERVER_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def replica_wait_s() -> float:
    """$OIM_REPLICA_WAIT_S, else DEFAULT_REPLICA_WAIT_S."""
    raw = os.environ.get(REPLICA_WAIT_ENV, "").strip()
    try:
        return float(raw) if raw else DEFAULT_REPLICA_WAIT_S
    except ValueError as error:
        raise DeployError(f"{REPLICA_WAIT_ENV}={raw!r} is not a number of seconds") from error


@dataclass
class ReplicaReport:
    """What one replica reported while publish waited for it."""

    url: str
    has_model: bool = False
    seconds: float = 0.0  # until it reported the model, else how long it was waited for
    model_file: str = ""  # the model file it reported last ("" if it never reported one)
    problem: str = ""  # why it did not report a model at its last poll ("" when it did)

    def describe(self) -> str:
        if self.has_model:
            return f"{self.url}: has it after {self.seconds:.1f} s"
        now = f"still on {self.model_file}" if self.model_file else "no model reported"
        return (
            f"{self.url}: NOT after {self.seconds:.1f} s ({now}{'; ' + self.problem if self.problem else ''})"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def replica_model(url: str, token: str | None) -> tuple[str, str]:
    """(model file, problem) from GET /status: problem is "" when the replica reports a model."""
    try:
        status, body = http_json("GET", f"{url}/status?token={token or ''}", timeout_s=10)
    except OSError as error:
        return "", f"no answer ({type(error).__name__})"
    if status in (401, 403):
        return "", f"refused the API token (HTTP {status}): set {TOKEN_ENV}"
    if status == 409:
        return "", "no model loaded (HTTP 409)"
    if status != 200 or not isinstance(body, dict):
        return "", f"GET /status answered HTTP {status}"
    return str(body.get("model_file") or ""), ""


def wait_for_replicas(
    urls: list[str], token: str | None, model: Path, timeout_s: float, poll_s: float = 1.0
) -> list[ReplicaReport]:
    """Poll every replica's /status until each reports `model` (by file name) or timeout_s passes."""
    started = time.monotonic()
    reports = {url: ReplicaReport(url) for url in urls}
    pending = list(urls)
    while pending:
        for url in list(pending):
            model_file, problem = replica_model(url, token)
            report = reports[url]
            report.seconds = time.monotonic() - started
            report.problem = problem
            report.model_file = model_file or report.model_file
            if same_model({"model_file": model_file}, model):
                report.has_model = True
                pending.remove(url)
            elif problem.startswith("refused"):  # waiting will not fix a wrong token
                pending.remove(url)
        if not pending or time.monotonic() - started >= timeout_s:
            break
        time.sleep(poll_s)
    return [reports[url] for url in urls]


def annotate_deployment(deployment_id: str, server: str) -> None:
    """Replace the `server` note of a recorded deployment (what the replicas did, known after it)."""
    history = load_history()
    for item in history:
        if item.id == deployment_id:
            item.server = server
    save_history(history)


def publish(
    model: Path,
    knowledge: Path,
    pages: Path,
    urls: list[str],
    token: str | None,
    record: Callable[[], Deployment],
    live_knowledge: Path | None = None,
    live_pages: Path | None = None,
    timeout_s: float | None = None,
) -> GoLive:
    """Model-server mode: record the deployment, wait for every replica, then put knowledge in place.

    Recording is publishing: from then on the web service's /models/live serves `model` and each
    replica loads it at its next pull. As with PUT /model, the model goes first and the knowledge
    follows; the knowledge is put in place even when some replica is late, since the history now
    says this deployment is live and the late replica will pull it (the report names it).
    """
    wait_s = replica_wait_s() if timeout_s is None else timeout_s
    deployment = record()
    replicas = wait_for_replicas(urls, token, model, wait_s)
    changed = _put_files_live(knowledge, pages, live_knowledge, live_pages)
    late = [r for r in replicas if not r.has_model]
    summary = (
        f"published {model.name} on the model server; "
        + (
            f"every replica ({len(replicas)}) has it"
            if not late
            else f"{len(late)} of {len(replicas)} replica(s) do NOT have it after {wait_s:.0f} s"
        )
        + ": "
        + "; ".join(r.describe() for r in replicas)
    )
    annotate_deployment(deployment.id, summary)
    deployment.server = summary
    return GoLive(
        server_running=any(not r.problem.startswith("no answer") for r in replicas),
        model_loaded=bool(replicas) and not late,
        message=summary,
        seconds=max((r.seconds for r in replicas), default=0.0),
        knowledge_changed=changed,
        deployment=deployment,
        replicas=replicas,
    )


def _put_files_live(
    knowledge: Path, pages: Path, live_knowledge: Path | None, live_pages: Path | None
) -> list[str]:
    """Synchronise knowledge and pages into data/knowledge and data/pages (or the given folders)."""
    live_knowledge = live_knowledge or knowledge_dir()
    live_pages = live_pages or pages_dir()
    changed = []
    if knowledge.resolve() != live_knowledge.resolve():
        changed += sync_tree(knowledge, live_knowledge)
    if pages.resolve() != live_pages.resolve():
        changed += [f"pages/{p}" for p in sync_tree(pages, live_pages)]
    return changed


# ---------------------------------------------------------------- deploy and roll back


@dataclass
class GoLive:
    """What happened to the running server and the live files (for the terminal and the report)."""

    server_running: bool
    model_loaded: bool
    message: str
    seconds: float = 0.0
    knowledge_changed: list[str] = field(default_factory=list)
    deployment: Deployment | None = None
    replicas: list[ReplicaReport] = field(default_factory=list)  # model-server mode: each replica's state


def record_deployment(
    action: str,
    model: Path,
    model_hash: str,
    snapshot_of: Path,
    pages: Path,
    report: Path | None,
    root: Path | None = None,
    restores: Deployment | None = None,
    server: str = "",
) -> Deployment:
    """Append a deployment to the history with a snapshot of its knowledge."""
    root = (root or repo_root()).resolve()
    previous = live_deployment(root)
    deployment_id = now_id()
    snapshot = take_snapshot(deployment_id, snapshot_of, pages)
    if restores is not None:
        config_sha, labels, prev = restores.config_sha, restores.labels, restores.previous
    else:
        config_sha, labels, prev = (
            file_sha(root / "config.yml"),
            domain_labels(root),
            previous.id if previous else None,
        )
    deployment = Deployment(
        id=deployment_id,
        action=action,
        project=str(root),
        model=str(model),
        model_hash=model_hash,
        model_sha=file_sha(model),
        config_sha=config_sha,
        labels=labels,
        snapshot=str(snapshot),
        previous=prev,
        restores=restores.id if restores else None,
        server=server,
        report=str(report) if report else None,
    )
    history = load_history()
    history.append(deployment)
    save_history(history)
    return deployment


def model_file_named(name: str, root: Path) -> Path | None:
    """The model file a server reports by name (/status gives the basename), if we have it."""
    for folder in (cache_root() / "models", root / "models"):
        candidate = folder / name
        if name and candidate.is_file():
            return candidate
    return None


def record_baseline(root: Path, status: dict[str, Any] | None) -> Deployment | None:
    """Before the first recorded update: record what is live now, so it can be rolled back to.

    The model is the one the running server reports (found in the model cache), else the cached
    model for the current training data (what `make run` starts); the knowledge is data/knowledge.
    """
    from bot.maintenance.model_cache import cached_model_path, model_hash

    model: Path | None = None
    if status is not None:
        model = model_file_named(str(status.get("model_file") or ""), root)
    if model is None and cached_model_path(root).is_file():
        model = cached_model_path(root)
    if model is None:
        return None
    key = model.name.split(".")[0] if model.name.endswith(".tar.gz") else model_hash(root)
    where = "running server" if status is not None else "model cache (no server was running)"
    return record_deployment(
        "baseline",
        model,
        key,
        knowledge_dir(),
        pages_dir(),
        None,
        root,
        server=f"what was live before the first update ({where})",
    )


def swap_model(url: str, token: str | None, model: Path) -> tuple[bool, bool, float, str]:
    """(server running, model loaded, seconds, message) for one Rasa server."""
    status = server_status(url, token)
    if status is None:
        return (
            False,
            False,
            0.0,
            f"no Rasa server answers at {url}: model recorded, the next `make run` uses it",
        )
    if same_model(status, model):
        return True, False, 0.0, f"the server at {url} already runs {model.name}: no model swap needed"
    seconds = load_model(url, token, model)
    return (
        True,
        True,
        seconds,
        f"the server at {url} now runs {model.name} (swapped in {seconds:.1f} s, no restart)",
    )


def go_live(
    model: Path,
    knowledge: Path,
    pages: Path,
    urls: list[str],
    token: str | None,
    live_knowledge: Path | None = None,
    live_pages: Path | None = None,
) -> GoLive:
    """Load the model into the running server(s), then put knowledge and pages in place.

    The model goes first: if a server refuses it, the knowledge is not touched (with several
    replicas, those already swapped are named in the error). Knowledge files are then synchronised
    into data/knowledge (or live_knowledge), which the action server reloads within a second.
    """
    outcomes = []
    for url in urls:
        try:
            outcomes.append(swap_model(url, token, model))
        except DeployError as error:
            done = "; ".join(message for _, loaded, _, message in outcomes if loaded)
            raise DeployError(f"{error}" + (f" (already swapped: {done})" if done else "")) from error
    changed = _put_files_live(knowledge, pages, live_knowledge, live_pages)
    return GoLive(
        server_running=any(o[0] for o in outcomes),
        model_loaded=any(o[1] for o in outcomes),
        message="; ".join(o[3] for o in outcomes),
        seconds=max((o[2] for o in outcomes), default=0.0),
        knowledge_changed=changed,
    )


def rollback(target_id: str | None = None, root: Path | None = None) -> GoLive:
    """Restore the deployment before the live one (or target_id): its model and its knowledge."""
    root = (root or repo_root()).resolve()
    live = live_deployment(root)
    if live is None:
        raise DeployError("no deployment recorded yet: nothing to roll back to")
    target_ref = target_id or live.previous
    if not target_ref:
        raise DeployError(f"deployment {live.id} is the first one recorded: there is no previous model")
    target = find_deployment(target_ref, root)
    if target is None:
        raise DeployError(f"deployment {target_ref} not found in {history_path()}")
    model = Path(target.model)
    if not model.is_file():
        raise DeployError(f"the model of deployment {target.id} ({model}) is no longer in the cache")
    snapshot = Path(target.snapshot)
    if model_server_enabled():
        return publish(
            model, snapshot / "knowledge", snapshot / "pages", server_urls(), server_token(),
            lambda: record_deployment(
                "rollback", model, target.model_hash, snapshot / "knowledge", snapshot / "pages", None, root,
                restores=target, server="published on the model server",
            ),
        )  # fmt: skip
    outcome = go_live(model, snapshot / "knowledge", snapshot / "pages", server_urls(), server_token())
    outcome.deployment = record_deployment(
        "rollback",
        model,
        target.model_hash,
        knowledge_dir(),
        pages_dir(),
        None,
        root,
        restores=target,
        server=outcome.message,
    )
    return outcome


def publish_model(model: Path | None = None, root: Path | None = None) -> GoLive:
    """`python -m bot publish`: put a model file live through the model server, with today's knowledge.

    Why: replicas that pull (endpoints.replicas.yml) ignore their --model and have no model until a
    deployment is published; this publishes the first one (the image's /app/model.tar.gz, or the
    cached model of this checkout) without an update. A file outside the models cache is copied in,
    under a name from its content hash, since the model server serves nothing else.
    """
    from bot.maintenance.model_cache import cached_model_path

    root = (root or repo_root()).resolve()
    if not model_server_enabled():
        raise DeployError(f"publish is for replicas that pull their model: set {MODEL_SERVER_ENV}=1")
    source = model or cached_model_path(root)
    if not source.is_file():
        raise DeployError(f"no model file at {source}: give one with --model (or run `make train`)")
    models = (cache_root() / "models").resolve()
    if source.resolve().is_relative_to(models):
        target = source
    else:
        target = models / f"published-{file_sha(source)[:16]}.tar.gz"
        if not target.is_file():
            models.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target.with_suffix(".part"))
            target.with_suffix(".part").replace(target)
    key = target.name.split(".")[0]
    return publish(
        target, knowledge_dir(), pages_dir(), server_urls(), server_token(),
        lambda: record_deployment("publish", target, key, knowledge_dir(), pages_dir(), None, root,
                                  server="published on the model server"),
    )  # fmt: skip


# ---------------------------------------------------------------- `python -m bot rollback`


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `rollback` and `publish` subcommands."""
    parser = subparsers.add_parser(
        "rollback",
        help="put the previous model and knowledge back live (see --list)",
        description="Load the model of the previous deployment into the running server and restore "
        "the knowledge and pages it was served with. Training data (data/nlu, rules, domain) is not changed.",
    )
    parser.add_argument(
        "--to", dest="target", default=None, help="deployment id to restore (default: the previous one)"
    )
    parser.add_argument("--list", action="store_true", help="list the recorded deployments and exit")
    parser.set_defaults(func=run_from_args)
    publish_parser = subparsers.add_parser(
        "publish",
        help="replicas pulling from the model server: publish a model file (the first one)",
        description=f"With {MODEL_SERVER_ENV}=1: record MODEL (default: the cached model of this checkout) as "
        "the live deployment, which the web service's /models/live then serves to every replica, and wait "
        f"until each replica of {URL_ENV} reports it. Knowledge and pages stay as they are.",
    )
    publish_parser.add_argument("--model", type=Path, default=None, help="model file (.tar.gz) to publish")
    publish_parser.set_defaults(func=publish_from_args)


def publish_from_args(args: argparse.Namespace) -> int:
    try:
        outcome = publish_model(args.model)
    except DeployError as error:
        print(f"[oim] PUBLISH REFUSED: {error}", file=sys.stderr)
        return 1
    print(f"[oim] {outcome.message}", file=sys.stderr)
    return 0 if outcome.model_loaded else 3


def run_from_args(args: argparse.Namespace) -> int:
    if args.list:
        history = project_history()
        if not history:
            print("no deployment recorded yet", file=sys.stderr)
        live = history[-1].id if history else None
        for item in history:
            marker = "*" if item.id == live else " "
            origin = f" (restores {item.restores})" if item.restores else ""
            print(f"{marker} {item.id}  {item.action:8} model {item.model_hash}{origin}  {item.server}")
        return 0
    try:
        outcome = rollback(args.target)
    except DeployError as error:
        print(f"[oim] ROLLBACK REFUSED: {error}", file=sys.stderr)
        return 1
    restored = outcome.deployment.restores if outcome.deployment else args.target
    print(f"[oim] rolled back to deployment {restored}: {outcome.message}", file=sys.stderr)
    if outcome.knowledge_changed:
        print(f"[oim] knowledge restored: {len(outcome.knowledge_changed)} file(s) changed", file=sys.stderr)
    print(
        "[oim] training data (data/nlu, data/rules, domain.yml) is unchanged: revert your edits there "
        "too (git) before the next `make update`, or it will train them again.",
        file=sys.stderr,
    )
    return 0
