"""Measure candidate config.yml changes (config_variants.yml) against the current config.

Why: a faster config is only worth proposing with its price in quality next to its gain. For the
current config and each variant, on one snapshot of the data: full training wall and CPU time and per
component (empty Rasa cache, under the shared training lock), model size, in-process load time and per-turn cost
(benchmarks/profile_turn.py), intent accuracy / macro-F1 on tests/nlu_holdout.yml, and the share
of tests/test_stories.yml predicted right. Writes benchmarks/results/config_variants.json.

    python -m benchmarks.config_variants [--only NAME ...]

`--entities` measures the entity extractors instead (issue 18: DIET kept only for entities was most
of the training time): the `entity_variants` of config_variants.yml and the current config each
trained (full training, timed) on one stratified 80/20 split of data/nlu (seed 42), then scored on
the 20 %: per entity, precision/recall/F1 of (entity, value) pairs as the actions read them (after
EntitySynonymMapper; `span` = exact character span instead of value), intent accuracy, and the
same messages with a typo and no accents in each entity word of 5+ letters ("libie", "yemen",
"retour vonlontaire"). Writes benchmarks/results/entity_variants.json.

    python -m benchmarks.config_variants --entities [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
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
import unicodedata
from collections import Counter
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
# Rasa's own `rasa train`, as `make train` runs it, so the times compare with the real model's.
RASA_TRAIN = [sys.executable, "-m", "rasa", "train"]
SPLIT_SEED = 42


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
    command = [*RASA_TRAIN, "--config", str(out / "config.yml"), "--domain", str(inputs / "domain.yml"),
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
    turn = profile(model, endpoints, OUR_MESSAGES)
    return {
        **training,
        "model_mb": round(model.stat().st_size / 1e6, 1),
        "load_s": turn.get("model_load_s"),
        "ms_per_turn": turn.get("ms_per_turn"),
        "parts_ms_per_turn": dict(list(turn.get("parts_ms_per_turn", {}).items())[:6]),
        "nlu_holdout": nlu_holdout(model, out / "nlu-test"),
        "test_stories": stories(model, out / "core-test"),
    }

# ------------------------------------------------------------------ entity extractors (--entities)


def split_nlu(inputs: Path, workdir: Path) -> tuple[Path, Path]:
    """Inputs whose data/nlu is the 80 % of one stratified split (synonyms and lookup tables kept),
    and the 20 % as a test file."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(inputs / "data" / "nlu"), language="fr")
    train_part, test_part = data.train_test_split(train_frac=0.8, random_seed=SPLIT_SEED)
    split = workdir / "split-inputs"
    for name in INPUTS:
        if name != "data/nlu":
            target = split / name
            target.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if (inputs / name).is_dir() else shutil.copy2)(inputs / name, target)
    (split / "data" / "nlu").mkdir(parents=True)
    (split / "data" / "nlu" / "train.yml").write_text(train_part.nlu_as_yaml(), encoding="utf-8")
    test = workdir / "entity-test.yml"
    test.write_text(test_part.nlu_as_yaml(), encoding="utf-8")
    return split, test


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def typo_message(text: str, entities: list[dict[str, Any]], seed: int) -> tuple[str, list[dict[str, Any]]]:
    """The message with each entity's accents dropped and one typo (swap, drop, double or replace a
    letter, never the first) in each of its words of 5+ letters; entity offsets follow the edits."""
    import random

    rng = random.Random(seed)
    out, shifted, last = [], [], 0
    for entity in sorted(entities, key=lambda e: e["start"]):
        if entity["start"] < last:
            continue
        words = []
        for word in re.split(r"(\W+)", _fold(text[entity["start"]:entity["end"]])):
            if len(word) >= 5 and word.isalpha():
                i = rng.randrange(1, len(word) - 1)
                kind = rng.choice(("swap", "drop", "double", "replace"))
                if kind == "swap":
                    word = word[:i] + word[i + 1] + word[i] + word[i + 2:]
                elif kind == "drop":
                    word = word[:i] + word[i + 1:]
                elif kind == "double":
                    word = word[:i] + word[i] + word[i:]
                else:
                    word = word[:i] + rng.choice("aeiourstnl".replace(word[i], "")) + word[i + 1:]
            words.append(word)
        out.append(text[last:entity["start"]])
        start = sum(len(part) for part in out)
        out.append("".join(words))
        shifted.append({**entity, "start": start, "end": start + len(out[-1])})
        last = entity["end"]
    out.append(text[last:])
    return "".join(out), shifted


def _pairs(entities: list[dict[str, Any]], synonyms: dict[str, str], span: bool) -> set[tuple[str, ...]]:
    if span:
        return {(e["entity"], str(e["start"]), str(e["end"])) for e in entities}
    return {(e["entity"], synonyms.get(str(e["value"]).lower(), str(e["value"])).casefold()) for e in entities}


def _prf(counts: Counter[str], prefix: str = "") -> dict[str, float]:
    tp, fp, fn = counts[prefix + "tp"], counts[prefix + "fp"], counts[prefix + "fn"]
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 3),
            "support": tp + fn}


def score_entities(model: Path, test: Path) -> dict[str, Any]:
    """Parse the test messages (and their typo versions) with the model; entity and intent scores."""
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(test), language="fr")
    synonyms = {k.lower(): v for k, v in data.entity_synonyms.items()}
    cases = []
    for index, message in enumerate(data.nlu_examples):
        gold = message.get("entities") or []
        cases.append(("clean", message.get("text"), gold, message.get("intent")))
        if gold:
            text, shifted = typo_message(message.get("text"), gold, seed=index)
            cases.append(("typo", text, shifted, message.get("intent")))
    agent = Agent.load(str(model))

    async def parse_all() -> list[dict[str, Any]]:
        return [await agent.parse_message(text) for _, text, _, _ in cases]

    started = time.monotonic()
    parsed = asyncio.run(parse_all())
    parse_ms = 1000 * (time.monotonic() - started) / len(cases)
    counts: Counter[str] = Counter()
    intents_right = intents = 0
    misses: list[dict[str, Any]] = []
    for (kind, text, gold, intent), result in zip(cases, parsed, strict=True):
        predicted = result.get("entities", [])
        if kind == "clean":
            intents += 1
            intents_right += result.get("intent", {}).get("name") == intent
        for span in (False, True):
            g, p = _pairs(gold, synonyms, span), _pairs(predicted, {}, span)
            tag = f"{kind}:{'span' if span else 'value'}:"
            for entity in {x[0] for x in g | p}:
                gs, ps = {x for x in g if x[0] == entity}, {x for x in p if x[0] == entity}
                for key in (f"{tag}{entity}:", f"{tag}*:"):
                    counts[key + "tp"] += len(gs & ps)
                    counts[key + "fp"] += len(ps - gs)
                    counts[key + "fn"] += len(gs - ps)
            if not span and g != p and len(misses) < 400:
                misses.append({"kind": kind, "text": text, "gold": sorted(g), "predicted": sorted(p)})
    entities = sorted({key.split(":")[2] for key in counts} - {"*"})
    return {
        "entities_value": {e: _prf(counts, f"clean:value:{e}:") for e in [*entities, "*"]},
        "entities_span": {e: _prf(counts, f"clean:span:{e}:") for e in [*entities, "*"]},
        "typos_value": {e: _prf(counts, f"typo:value:{e}:") for e in [*entities, "*"]},
        "typos_span": {e: _prf(counts, f"typo:span:{e}:") for e in [*entities, "*"]},
        "intent_accuracy": round(intents_right / intents, 4),
        "test_messages": intents,
        "ms_per_parse": round(parse_ms, 1),
        "misses": misses,
    }


def measure_entities(name: str, inputs: Path, test: Path, config: dict[str, Any], workdir: Path) -> dict[str, Any]:
    out = workdir / name
    print(f"[entities] {name}: training on the 80 %")
    training = train(inputs, config, out)
    print(f"[entities] {name}: trained in {training['training_s']:.0f} s; scoring the 20 %")
    scored = subprocess.run([sys.executable, "-m", "benchmarks.config_variants", "--score", str(out / "model.tar.gz"),
                             str(test)], cwd=repo_root(), env=_env(out / "score-cache"), check=True,
                            capture_output=True, text=True)
    result = {**training, "model_mb": round((out / "model.tar.gz").stat().st_size / 1e6, 1),
              **json.loads(scored.stdout.strip().splitlines()[-1])}
    (out / "misses.json").write_text(json.dumps(result.pop("misses"), indent=1, ensure_ascii=False))
    value, typo = result["entities_value"]["*"], result["typos_value"]["*"]
    print(f"[entities] {name}: value F1 {value['f1']}, span F1 {result['entities_span']['*']['f1']}, "
          f"typo value F1 {typo['f1']}, intent accuracy {result['intent_accuracy']} (misses: {out / 'misses.json'})")
    return result


def entity_table(results: dict[str, Any]) -> str:
    """Markdown table for RESULTS.md."""
    names = sorted({e for r in results.values() for e in r["entities_value"]} - {"*"})
    head = ["variant", "training s (CPU s)", "entity F1 (value)", *names, "span F1", "typos F1 (value)", "typos F1 (span)", "intent acc.", "ms/msg"]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for name, r in results.items():
        cells = [name, f"{r['training_s']:.0f} ({r['training_cpu_s']:.0f})", f"{r['entities_value']['*']['f1']:.3f}",
                 *(f"{r['entities_value'].get(e, {}).get('f1', 0):.3f}" for e in names),
                 f"{r['entities_span']['*']['f1']:.3f}", f"{r['typos_value']['*']['f1']:.3f}",
                 f"{r['typos_span']['*']['f1']:.3f}",
                 f"{r['intent_accuracy']:.3f}", f"{r['ms_per_parse']}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.config_variants", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="variant names (default: all), always with 'current'")
    parser.add_argument("--entities", action="store_true", help="measure the entity_variants (entity F1, time)")
    parser.add_argument("--skip-current", action="store_true", help="--entities: leave out the current config")
    parser.add_argument("--score", nargs=2, metavar=("MODEL", "TEST"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.score:  # in its own process: one TensorFlow model loaded per variant
        print(json.dumps(score_entities(Path(args.score[0]), Path(args.score[1])), ensure_ascii=False))
        return 0
    variants = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["entity_variants" if args.entities else "variants"]
    if args.only:
        variants = [v for v in variants if v["name"] in args.only]
    workdir = Path(tempfile.mkdtemp(prefix="oim-variants-"))
    inputs = snapshot(workdir)
    config = yaml.safe_load((inputs / "config.yml").read_text(encoding="utf-8"))
    if args.entities:
        split, test = split_nlu(inputs, workdir)
        found: dict[str, Any] = {}
        if not args.skip_current:
            found["current"] = measure_entities("current", split, test, config, workdir)
        for variant in variants:
            found[variant["name"]] = {"why": variant["why"], **measure_entities(
                variant["name"], split, test, apply_variant(config, variant), workdir)}
        RESULTS_DIR.mkdir(exist_ok=True)
        (RESULTS_DIR / "entity_variants.json").write_text(json.dumps(found, indent=2, ensure_ascii=False))
        print(entity_table(found))
        print(f"[entities] work folder kept (models, misses.json): {workdir}")
        return 0
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
