"""Measure candidate config.yml changes (config_variants.yml) against the current config.

Why: a faster config is only worth proposing with its price in quality next to its gain. For the
current config and each variant, on one snapshot of the data: full training wall and CPU time and per
component (empty Rasa cache, under the shared training lock), model size, in-process load time and per-turn cost
(benchmarks/profile_turn.py), intent accuracy / macro-F1 on tests/nlu_holdout.yml, and the share
of tests/test_stories.yml predicted right. Writes benchmarks/results/config_variants.json.

    python -m benchmarks.config_variants [--only NAME ...]
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.bench import RESULTS_DIR, profile
from benchmarks.scenarios import OUR_MESSAGES
from benchmarks.stock_bot import TRAIN_LOCK
from bot.knowledge.paths import repo_root
from tests.stack import write_sqlite_endpoints

SPEC = Path(__file__).with_name("config_variants.yml")
INPUTS = ("config.yml", "domain.yml", "data/nlu", "data/rules", "data/stories")
RASA = str(Path(sys.executable).with_name("rasa"))


def apply_variant(config: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
    """A copy of `config` with the variant's removed and inserted components, settings and policy removals applied."""
    config = copy.deepcopy(config)
    dropped = set(variant.get("remove_components", []))
    config["pipeline"] = [c for c in config["pipeline"] if c.get("name") not in dropped]
    for insert in variant.get("insert", []):
        names = [c.get("name") for c in config["pipeline"]]
        if insert["before"] not in names:
            raise ValueError(f"variant {variant['name']}: no component {insert['before']} to insert before")
        config["pipeline"].insert(names.index(insert["before"]), dict(insert["component"]))
    for change in variant.get("pipeline", []):
        matches = [c for c in config["pipeline"] if all(c.get(k) == v for k, v in change["match"].items())]
        if len(matches) != 1:
            raise ValueError(f"variant {variant['name']}: {change['match']} matches {len(matches)} components")
        matches[0].update(change["set"])
    removed = set(variant.get("remove_policies", []))
    config["policies"] = [p for p in config["policies"] if p["name"] not in removed]
    return config


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
            "RASA_CACHE_DIRECTORY": str(cache), "PYTHONPATH": str(repo_root())}


def snapshot(workdir: Path) -> Path:
    """Copy the training inputs once, so every variant sees the same data."""
    base = workdir / "inputs"
    for name in INPUTS:
        source = repo_root() / name
        target = base / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    return base


HOOK_LINE = re.compile(r"^\S+ (\d\d):(\d\d):(\d\d) .*(Starting to train|Finished training) component '(\w+)'")


def component_seconds(log: str) -> dict[str, int]:
    """Seconds each component trained, from the timestamps of Rasa's training hooks."""
    started: dict[str, int] = {}
    took: dict[str, int] = {}
    for line in log.splitlines():
        match = HOOK_LINE.match(line)
        if match:
            hh, mm, ss, what, name = match.groups()
            at = int(hh) * 3600 + int(mm) * 60 + int(ss)
            if what.startswith("Starting"):
                started[name] = at
            elif name in started:
                took[name] = took.get(name, 0) + (at - started.pop(name)) % 86400
    return {name: seconds for name, seconds in took.items() if seconds >= 1}


def train(inputs: Path, config: dict[str, Any], out: Path) -> dict[str, Any]:
    """Wall and CPU seconds of a full training (CPU time is the figure the shared machine disturbs least)."""
    out.mkdir(parents=True)
    (out / "config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    command = [RASA, "train", "--config", str(out / "config.yml"), "--domain", str(inputs / "domain.yml"),
               "--data", *(str(inputs / d) for d in INPUTS[2:]), "--out", str(out), "--fixed-model-name", "model"]
    with open(TRAIN_LOCK, "w") as lock, open(out / "train.log", "w") as log:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one training at a time on the shared machine
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        subprocess.run(command, cwd=out, env=_env(out / "rasa-cache"), check=True, stdout=log,
                       stderr=subprocess.STDOUT)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"training_s": round(wall, 1), "training_cpu_s": round(cpu, 1),
            "components_s": component_seconds((out / "train.log").read_text(encoding="utf-8", errors="replace"))}


def nlu_holdout(model: Path, out: Path) -> dict[str, float]:
    subprocess.run([RASA, "test", "nlu", "--nlu", str(repo_root() / "tests" / "nlu_holdout.yml"),
                    "--model", str(model), "--out", str(out)], cwd=out.parent, env=_env(out / "c"),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report = json.loads((out / "intent_report.json").read_text())
    return {"accuracy": round(report["accuracy"], 3), "macro_f1": round(report["macro avg"]["f1-score"], 3)}


def stories(model: Path, out: Path) -> dict[str, Any]:
    subprocess.run([RASA, "test", "core", "--stories", str(repo_root() / "tests" / "test_stories.yml"),
                    "--model", str(model), "--out", str(out)], cwd=out.parent, env=_env(out / "c"),
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failed = out / "failed_test_stories.yml"
    failures = (failed.read_text(encoding="utf-8").count("- story:") if failed.exists() else None)
    total = (repo_root() / "tests" / "test_stories.yml").read_text(encoding="utf-8").count("- story:")
    return {"stories": total, "failed": failures}


def measure(name: str, inputs: Path, config: dict[str, Any], workdir: Path) -> dict[str, Any]:
    out = workdir / name
    print(f"[variants] {name}: training")
    training = train(inputs, config, out)
    model = out / "model.tar.gz"
    print(f"[variants] {name}: trained in {training['training_s']:.0f} s; evaluating")
    endpoints = write_sqlite_endpoints(out / "endpoints.yml", "http://127.0.0.1:9", out / "trackers.db")
    turn = profile(model, endpoints, OUR_MESSAGES, speedups=True)
    return {
        **training,
        "model_mb": round(model.stat().st_size / 1e6, 1),
        "load_s": turn.get("model_load_s"),
        "ms_per_turn": turn.get("ms_per_turn"),
        "parts_ms_per_turn": dict(list(turn.get("parts_ms_per_turn", {}).items())[:6]),
        "nlu_holdout": nlu_holdout(model, out / "nlu-test"),
        "test_stories": stories(model, out / "core-test"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.config_variants", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="variant names (default: all), always with 'current'")
    args = parser.parse_args(argv)
    variants = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["variants"]
    if args.only:
        variants = [v for v in variants if v["name"] in args.only]
    workdir = Path(tempfile.mkdtemp(prefix="oim-variants-"))
    inputs = snapshot(workdir)
    config = yaml.safe_load((inputs / "config.yml").read_text(encoding="utf-8"))
    results: dict[str, Any] = {"current": measure("current", inputs, config, workdir)}
    for variant in variants:
        results[variant["name"]] = {"why": variant["why"],
                                    **measure(variant["name"], inputs, apply_variant(config, variant), workdir)}
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "config_variants.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
