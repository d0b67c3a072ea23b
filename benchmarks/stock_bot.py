"""The stock `rasa init` assistant, our yardstick: created and trained once, cached outside the repo.

Why: "fast" only means something next to what Rasa gives out of the box on the same machine, in the
same run. The project lives in <cache>/stock-bot and its model is cached under a name keyed by the
Rasa version, so the benchmark trains it at most once per Rasa upgrade.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bot.knowledge.paths import cache_root

TRAIN_LOCK = "/tmp/oim-train.lock"  # one training at a time on the shared machine


def rasa_version() -> str:
    from importlib.metadata import version

    return version("rasa")


def stock_dir() -> Path:
    return cache_root() / "stock-bot"


def stock_model_path() -> Path:
    return stock_dir() / "cached-models" / f"stock-rasa-{rasa_version()}.tar.gz"


def ensure_stock_model() -> tuple[Path, float | None]:
    """(model path, training seconds or None when it came from the cache)."""
    target = stock_model_path()
    if target.exists():
        return target, None
    project = stock_dir()
    rasa = str(Path(sys.executable).with_name("rasa"))
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.monotonic()
    if not (project / "domain.yml").exists():
        project.mkdir(parents=True, exist_ok=True)
        # `rasa init --no-prompt` scaffolds and trains; the lock keeps it from racing another training.
        subprocess.run(["flock", TRAIN_LOCK, rasa, "init", "--no-prompt", "--init-dir", str(project)],
                       cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
    models = sorted((project / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        subprocess.run(["flock", TRAIN_LOCK, rasa, "train", "--out", "models"],
                       cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
        models = sorted((project / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    seconds = time.monotonic() - started
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(models[-1], target)
    return target, seconds


def time_stock_training(out_dir: Path) -> float:
    """Seconds of a full `rasa train` of the stock bot (its own config, an empty Rasa cache) into out_dir.

    Why: the training target is ours / stock from the same run (issue 18); the cached stock model is
    from another day's machine load. The caller holds TRAIN_LOCK (so the project must already exist:
    `ensure_stock_model()` first, it takes the lock itself); the cached model is left as it is.
    """
    if not (stock_dir() / "domain.yml").exists():
        raise RuntimeError("no stock bot project: call ensure_stock_model() before taking the training lock")
    rasa = str(Path(sys.executable).with_name("rasa"))
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "RASA_CACHE_DIRECTORY": str(out_dir / "rasa-cache")}
    started = time.monotonic()
    subprocess.run([rasa, "train", "--out", str(out_dir), "--fixed-model-name", "stock"],
                   cwd=stock_dir(), env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


if __name__ == "__main__":
    path, took = ensure_stock_model()
    print(path, f"trained in {took:.0f} s" if took is not None else "(cached)")
