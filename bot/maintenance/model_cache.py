"""Trained-model cache: train only when what the model depends on changed.

Why: training takes minutes on 2 cores; run, test and update all need "the model for the current
config + domain + NLU/dialogue data". The key is a hash of exactly those files (and the locked
package versions); models live outside the repo in the cache folder and a copy is placed in
`models/` so plain `rasa shell` / `rasa test` find it too.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from bot.knowledge.paths import cache_root, repo_root

logger = logging.getLogger(__name__)

# What a trained model depends on (the knowledge files are read by the action server at run time),
# including our own pipeline components (config.yml), the text folding and the SMS table
# (data/knowledge/sms_spellings.yml) they train on. A fine-tuned model has a key of its own (bot/maintenance/candidate_model.py).
MODEL_INPUTS = (
    "config.yml", "domain.yml", "data/nlu", "data/rules", "data/stories", "requirements.lock",
    "bot/nlu/linear_intent_classifier.py", "bot/nlu/lookup_entity_extractor.py", "bot/knowledge/textnorm.py", "bot/nlu/guards.py", "bot/knowledge/user_text.py",
    "bot/nlu/spacy_nlp.py", "bot/nlu/one_step_rule_policy.py",
    "bot/knowledge/sms.py", "data/knowledge/sms_spellings.yml",
)
TRAINING_DATA = ("data/nlu", "data/rules", "data/stories")
STOP_POLL_S = 0.5  # how often a training in the background checks whether it must stop


def _input_files(root: Path, inputs: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for name in inputs:
        path = root / name
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
    return files


def model_hash(root: Path | None = None, inputs: Iterable[str] = MODEL_INPUTS) -> str:
    """Hash of the names and contents of the files the model is trained from."""
    root = root or repo_root()
    digest = hashlib.sha256()
    for path in _input_files(root, inputs):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def cached_model_path(root: Path | None = None) -> Path:
    """Where the model for the current inputs of `root` is (or will be) cached."""
    return cache_root() / "models" / f"{model_hash(root)}.tar.gz"


class TrainingCancelled(RuntimeError):
    """The training was stopped on request (an update rejected while its model trained)."""


def train(
    root: Path,
    out_file: Path,
    extra_args: list[str] | None = None,
    stop: threading.Event | None = None,
    log: Path | None = None,
) -> float:
    """Run Rasa's own `rasa train` into a temp folder and move the model to out_file; returns seconds.

    `stop` set: the training process group is killed and TrainingCancelled raised (nothing cached).
    `log`: Rasa's output goes to this file instead of the terminal (a training in the background).
    """
    out_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=out_file.parent) as tmp:
        command = [
            sys.executable, "-m", "rasa", "train",
            "--config", "config.yml", "--domain", "domain.yml",
            "--data", *TRAINING_DATA,
            "--out", tmp, "--fixed-model-name", "model",
            *(extra_args or []),
        ]
        logger.info("training: %s", " ".join(command))
        with contextlib.ExitStack() as files:
            output = files.enter_context(log.open("ab")) if log is not None else None
            process = subprocess.Popen(
                command, cwd=root, stdout=output, stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
            )  # fmt: skip
            try:
                while process.poll() is None:
                    if stop is None:
                        process.wait()
                    elif stop.wait(STOP_POLL_S):
                        raise TrainingCancelled("training stopped on request")
            finally:
                if process.poll() is None:  # cancelled or interrupted: no orphan training
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        if process.returncode != 0:
            raise subprocess.CalledProcessError(process.returncode, command)
        os.replace(Path(tmp) / "model.tar.gz", out_file)
    return time.monotonic() - started


def ensure_model(root: Path | None = None, force: bool = False) -> Path:
    """The cached model for the current inputs, training it first if needed; copied to models/."""
    root = root or repo_root()
    target = cached_model_path(root)
    if force or not target.exists():
        seconds = train(root, target)
        print(f"[oim] trained {target.name} in {seconds:.0f} s", file=sys.stderr)
    else:
        print(f"[oim] model up to date: {target}", file=sys.stderr)
    local = root / "models" / target.name
    if not local.exists():
        local.parent.mkdir(exist_ok=True)
        shutil.copy2(target, local)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.maintenance.model_cache", description=__doc__)
    parser.add_argument("--force", action="store_true", help="train even if a cached model exists")
    parser.add_argument("--print-hash", action="store_true", help="print the model key and exit")
    args = parser.parse_args(argv)
    if args.print_hash:
        print(model_hash())
        return 0
    print(ensure_model(force=args.force))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    raise SystemExit(main())
