"""GET /models/live: the live deployment's model, for Rasa replicas that pull it (issue 17).

Why: with several Rasa replicas, `PUT /model` on each one can leave them on different models (one
refused, one restarted on the image's model). Instead every replica pulls from here (Rasa's
`models:` endpoint, endpoints.replicas.yml), and the deployment history that `python -m bot update`
and `rollback` write (<cache>/deployments.json, bot/maintenance/deploy.py) says which model is live.

Rasa's puller (rasa/core/agent.py, `_pull_model_and_fingerprint`) sends `If-None-Match: <the ETag
it loaded last>` and `?token=<token>` (EndpointConfig's `token`, `token_name`); 204/304/404 mean "keep
yours", 200 means "load this body", its `ETag` becoming the replica's fingerprint and its `filename`
header the file name `/status` reports as `model_file`. So the ETag names the model (file name and
content hash: two copies of one model under different names are different deployments), and
`filename` is the deployed file's name, which `deploy` compares with each replica's `/status`.

This layer may not import bot.maintenance: the history is read here as the plain JSON it is.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.helpers import ETag

from bot.knowledge.paths import repo_root
from bot.serving.web.state import CONFIG
from bot.serving.web.texts import error_response

logger = logging.getLogger(__name__)

HISTORY_FILE = "deployments.json"  # bot/maintenance/deploy.py writes it
MODELS_FOLDER = "models"  # the only folder models are served from
_UNSAFE_ETAG_CHARS = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class LiveModel:
    """The model file of the live deployment and the ETag that names it."""

    path: Path  # the file sent (symlinks resolved: the model cache links keys to files)
    name: str  # the file name the deployment recorded: what replicas report as `model_file`
    etag: str
    deployment_id: str


class ModelUnavailable(Exception):
    """The live deployment names a model that cannot be served (message says why, for the log)."""


def model_etag(name: str, sha: str) -> str:
    """ETag value (unquoted) for a model file: its content hash and its name, header-safe."""
    return f"{sha[:16]}-{_UNSAFE_ETAG_CHARS.sub('_', name)}"


def read_live_model(cache_dir: Path, project: Path | None = None) -> LiveModel | None:
    """The last deployment of `project` in <cache>/deployments.json; None when none is recorded.

    Raises ModelUnavailable when its model file is missing or lies outside <cache>/models (a
    symlink or `..` cannot make this route serve another file).
    """
    history = cache_dir / HISTORY_FILE
    try:
        data = json.loads(history.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    name = str((project or repo_root()).resolve())
    ours = [
        item for item in data.get("deployments", []) if isinstance(item, dict) and item.get("project") == name
    ]
    if not ours:
        return None
    live = ours[-1]
    models = (cache_dir / MODELS_FOLDER).resolve()
    recorded = Path(str(live.get("model") or ""))
    path = recorded.resolve()
    if not path.is_relative_to(models) or path == models:
        raise ModelUnavailable(f"deployment {live.get('id')}: {path} is not in the models cache {models}")
    if not path.is_file() or not recorded.name.endswith(".tar.gz"):
        raise ModelUnavailable(f"deployment {live.get('id')}: model file {path} not found")
    etag = model_etag(recorded.name, str(live.get("model_sha") or ""))
    return LiveModel(path, recorded.name, etag, str(live.get("id")))


def _token_given(request: web.Request) -> str:
    """The token as Rasa's EndpointConfig sends it (?token=...), or an Authorization: Bearer header."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return request.query.get("token", "")


def _etag_matches(request: web.Request, etag: str) -> bool:
    """If-None-Match names this ETag (weak comparison, as RFC 9110 says for If-None-Match) or `*`."""
    tags: tuple[ETag, ...] = request.if_none_match or ()
    return any(tag.value in (etag, "*") for tag in tags)


class ModelFileResponse(web.FileResponse):
    """A FileResponse (streamed, sendfile) whose ETag is the model's own.

    Why the override: aiohttp's FileResponse sets an ETag of its own (mtime-size) while preparing,
    which would make every replica reload whenever the file is touched, and never match ours.
    """

    def __init__(self, live: LiveModel) -> None:
        # application/gzip, not a guess from ".tar.gz": a guessed Content-Encoding: gzip would make
        # Rasa's HTTP client unpack the body before saving it as a .tar.gz.
        headers = {"Content-Type": "application/gzip", "filename": live.name, "Cache-Control": "no-store"}
        super().__init__(live.path, headers=headers)
        self._model_etag = live.etag

    @property
    def etag(self) -> ETag | None:
        return super().etag

    @etag.setter
    def etag(self, value: ETag | str | None) -> None:
        web.StreamResponse.etag.fset(self, self._model_etag)  # type: ignore[attr-defined]


async def live_model(request: web.Request) -> web.StreamResponse:
    """The live model for a Rasa replica: 200 with the file, 304 when it already has it, 404 if none."""
    config = request.app[CONFIG]
    if not config.model_server_token:
        return error_response(404, "model_server_disabled")
    if not hmac.compare_digest(
        _token_given(request).encode("utf-8"), config.model_server_token.encode("utf-8")
    ):
        return error_response(401, "model_server_unauthorized")
    try:
        live = await asyncio.to_thread(read_live_model, config.cache_dir)
    except ModelUnavailable as error:
        logger.warning("model server: %s", error)
        return error_response(404, "no_model_published")
    except (OSError, ValueError) as error:  # unreadable or half-written history: replicas keep their model
        logger.warning("model server: cannot read %s: %s", config.cache_dir / HISTORY_FILE, error)
        return error_response(404, "no_model_published")
    if live is None:
        return error_response(404, "no_model_published")
    if _etag_matches(request, live.etag):
        response = web.Response(status=304)
        response.etag = live.etag
        return response
    logger.info(
        "model server: sending %s (deployment %s) to %s", live.name, live.deployment_id, request.remote
    )
    return ModelFileResponse(live)
