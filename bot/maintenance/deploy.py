"""Put a model and its knowledge live, remember what was live, and roll back.

Why: the running Rasa server swaps models through its HTTP API (`PUT /model`, behind the token)
without a restart: conversations in progress keep going, requests that arrive during the swap
wait for it instead of failing. Every deployment is recorded in <cache>/deployments.json with a
snapshot of the knowledge and pages it was served with, so `python -m bot rollback` can restore
the previous model and knowledge, and the next update can say what changed since.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
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
    action: str  # baseline | update | rollback
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
    live_knowledge = live_knowledge or knowledge_dir()
    live_pages = live_pages or pages_dir()
    changed = []
    if knowledge.resolve() != live_knowledge.resolve():
        changed += sync_tree(knowledge, live_knowledge)
    if pages.resolve() != live_pages.resolve():
        changed += [f"pages/{p}" for p in sync_tree(pages, live_pages)]
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


# ---------------------------------------------------------------- `python -m bot rollback`


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `rollback` subcommand."""
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
