"""The model for the current training data: from the cache, fine-tuned from the live model, or trained.

Why: most updates only change knowledge, which the model does not depend on, so the cached model
is reused in seconds. When NLU examples or stories change but the config and every label (intent,
entity, slot, action) stay the same, Rasa can fine-tune the live model (`rasa train --finetune`,
fewer epochs); anything else needs a full training. Trainings take the machine's 2 cores, so they
wait for one another on a shared lock file (the same one `flock /tmp/oim-train.lock` uses).

A fine-tuned model is not the model a full training gives: it is cached under a key of its own,
`<model key>-finetuned-<base model sha>-<epoch fraction>` (`finetuned_model_path`), never under the
plain key that `make train`, the tests and later updates read as "fully trained on these inputs".
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.paths import cache_root
from bot.maintenance.locks import exclusive
from bot.maintenance.model_cache import TrainingCancelled, cached_model_path, model_hash, train

TRAIN_LOCK_ENV = "OIM_TRAIN_LOCK"
DEFAULT_TRAIN_LOCK = "/tmp/oim-train.lock"
DEFAULT_EPOCH_FRACTION = 0.5
CANCEL_WAIT_S = 30  # a cancelled training is killed within a second; a lock wait is not waited for
LABEL_KINDS = ("intents", "entities", "slots", "actions", "responses")


@dataclass
class ModelBuild:
    """Which model the update uses and how it was obtained."""

    path: Path
    model_hash: str
    how: str  # cache | finetune | full
    seconds: float = 0.0
    base: str | None = None  # model fine-tuned from
    note: str = ""

    def describe(self) -> str:
        if self.how == "cache":
            why = self.note or "training data unchanged"
            return f"model {self.model_hash} reused from the cache ({why}): no training"
        if self.how == "finetune":
            return f"model {self.model_hash} fine-tuned from {Path(self.base or '').name} in {self.seconds:.0f} s"
        reason = f" ({self.note})" if self.note else ""
        return f"model {self.model_hash} fully trained in {self.seconds:.0f} s{reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "model_hash": self.model_hash,
            "how": self.how,
            "seconds": round(self.seconds, 1),
            "base": self.base,
            "note": self.note,
        }


def training_lock() -> contextlib.AbstractContextManager[None]:
    """The machine-wide training lock: /tmp/oim-train.lock (or $OIM_TRAIN_LOCK), as `flock` uses it."""
    return exclusive(Path(os.environ.get(TRAIN_LOCK_ENV, DEFAULT_TRAIN_LOCK)), "another training runs")


def file_sha(path: Path) -> str:
    """sha256 of a file's bytes (16 hex chars), '' if it does not exist."""
    if not path.is_file():
        return ""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def domain_labels(root: Path) -> dict[str, list[str]]:
    """Names the model's output layers depend on: intents, entities, slots, actions, responses."""
    data = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8")) or {}

    def names(value: Any) -> list[str]:
        if isinstance(value, dict):
            return sorted(str(k) for k in value)
        return sorted(next(iter(v)) if isinstance(v, dict) else str(v) for v in value or [])

    return {kind: names(data.get(kind)) for kind in LABEL_KINDS}


def finetune_blocker(root: Path, base: dict[str, Any] | None) -> str | None:
    """Why Rasa cannot fine-tune the live model on the current data (None: it can).

    `base` is the live deployment record: its model file, config hash and domain labels.
    Rasa fine-tuning needs the same configuration and the same labels as the model it starts from.
    """
    if not base:
        return "no live model to fine-tune"
    model = Path(str(base.get("model") or ""))
    if not model.is_file():
        return f"the live model file {model} is gone"
    if base.get("config_sha") != file_sha(root / "config.yml"):
        return "config.yml changed since the live model"
    if base.get("labels") != domain_labels(root):
        return "the domain's intents, entities, slots, actions or responses changed"
    return None


def finetuned_model_path(root: Path, base_model: Path, epoch_fraction: float) -> Path:
    """Where the model fine-tuned from `base_model` on root's inputs is cached (never a full training's key)."""
    fraction = f"{epoch_fraction:g}".replace(".", "_")  # no dot: the key is the name up to ".tar.gz"
    key = f"{model_hash(root)}-finetuned-{file_sha(base_model)}-{fraction}"
    return cache_root() / "models" / f"{key}.tar.gz"


def _model_key(path: Path) -> str:
    return path.name[: -len(".tar.gz")] if path.name.endswith(".tar.gz") else path.stem


def _copy_to_models_folder(root: Path, model: Path) -> None:
    """Also place the model in <root>/models/ so plain `rasa shell` / `rasa test` find it."""
    local = root / "models" / model.name
    if not local.exists():
        local.parent.mkdir(exist_ok=True)
        shutil.copy2(model, local)


def build_model(
    root: Path,
    base: dict[str, Any] | None = None,
    allow_finetune: bool = True,
    epoch_fraction: float = DEFAULT_EPOCH_FRACTION,
    stop: threading.Event | None = None,
    log: Path | None = None,
) -> ModelBuild:
    """The model for root's training data: cached, else fine-tuned from `base`, else trained.

    `stop` and `log` go to `train` (a build in the background: BackgroundBuild).
    """
    key = model_hash(root)
    target = cached_model_path(root)
    if target.exists():
        _copy_to_models_folder(root, target)
        return ModelBuild(target, key, "cache")
    with training_lock():
        if target.exists():  # trained by someone else while we waited
            return ModelBuild(target, key, "cache")
        if stop is not None and stop.is_set():  # cancelled while waiting for the lock
            raise TrainingCancelled("training stopped on request")
        reason = finetune_blocker(root, base) if allow_finetune else "fine-tuning disabled (--full-train)"
        if reason is None:
            base_model = str(base["model"])  # type: ignore[index]
            tuned = finetuned_model_path(root, Path(base_model), epoch_fraction)
            if tuned.exists():  # the same fine-tuning, done before
                _copy_to_models_folder(root, tuned)
                return ModelBuild(tuned, _model_key(tuned), "cache", base=base_model, note="fine-tuned earlier")
            started = time.monotonic()
            try:
                seconds = train(
                    root, tuned, ["--finetune", base_model, "--epoch-fraction", str(epoch_fraction)],
                    stop, log,
                )
                _copy_to_models_folder(root, tuned)
                return ModelBuild(tuned, _model_key(tuned), "finetune", seconds, base=base_model)
            except subprocess.CalledProcessError as error:
                reason = (
                    f"fine-tuning failed after {time.monotonic() - started:.0f} s (exit {error.returncode})"
                )
                print(f"[oim] {reason}; training from scratch instead", file=sys.stderr)
        seconds = train(root, target, stop=stop, log=log)
    _copy_to_models_folder(root, target)
    return ModelBuild(target, key, "full", seconds, note=reason or "")


class BackgroundBuild:
    """`build_model` in a thread: the update's knowledge gates run while the model trains.

    Why: ingest, knowledge validation, `rasa data validate` and the candidate servers' start need
    no model; run one after the other before the training, they doubled an update's wall time.
    The training process is mostly one core busy, so they fit beside it on the second one.
    `cancel()` stops the training when a gate has already rejected the update.
    """

    def __init__(
        self, root: Path, base: dict[str, Any] | None, allow_finetune: bool, log: Path | None = None
    ) -> None:
        self._stop = threading.Event()
        self._build: ModelBuild | None = None
        self._error: BaseException | None = None
        self.started = time.monotonic()
        self.seconds = 0.0  # wall time of the build, lock wait included, once it is over
        self._thread = threading.Thread(
            target=self._run, args=(root, base, allow_finetune, log), name="model-build", daemon=True
        )
        self._thread.start()

    def _run(self, root: Path, base: dict[str, Any] | None, allow_finetune: bool, log: Path | None) -> None:
        try:
            self._build = build_model(root, base, allow_finetune, stop=self._stop, log=log)
        except BaseException as error:  # handed to the caller of result()
            self._error = error
        finally:
            self.seconds = time.monotonic() - self.started

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> ModelBuild:
        """Wait for the build; its model, or the exception it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._build is not None
        return self._build

    def cancel(self) -> None:
        """Stop a training still running (no model is cached) and wait for the thread.

        A build still waiting for another training's lock is left to notice the request when it
        gets the lock (the thread is a daemon: it does not keep the process alive).
        """
        self._stop.set()
        self._thread.join(timeout=CANCEL_WAIT_S)
