"""`make bench`: our assistant against the stock `rasa init` bot, same machine, same run.

Why: speed claims are only honest as ratios measured side by side (the machine is shared, absolute
numbers drift). Prints and writes benchmarks/results/latest.json and latest.md:

- latency p50/p95/p99 and throughput over the REST channel at 1, 10 and 50 concurrent users, for
  stock, ours (as scripts/run.sh runs it) and scaled (Redis + 2 Rasa replicas + benchmarks/balancer.py);
- start-to-ready time, resident memory of every process, knowledge-only update time, training
  time (measured with --train, else the last measurement for the same model inputs);
- where a turn's time goes (benchmarks/profile_turn.py), for ours and stock;
- with --train, the wall time of `make update` of a new page with NLU examples (a real training and
  the holdout gates, benchmarks/update_timing.py) and its ratio to the full training.

Not a test: nothing here fails on a slow figure; targets are reported as met or not.
    .venv/bin/python -m benchmarks.bench [--quick] [--train] [--no-profile]   (OIM_MODEL=path: that model)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from benchmarks import report, update_timing
from benchmarks.load import LoadResult, run_load, scripts_for
from benchmarks.scenarios import OUR_MESSAGES, STOCK_MESSAGES
from benchmarks.stock_bot import TRAIN_LOCK, ensure_stock_model, rasa_version, time_stock_training
from benchmarks.topology import Topology, start_ours, start_scaled, start_stock
from bot.knowledge.paths import knowledge_dir, repo_root
from bot.maintenance.model_cache import cached_model_path, model_hash, train
from tests.stack import write_sqlite_endpoints

RESULTS_DIR = Path(__file__).with_name("results")
LEADERSHIP_QUESTION = "qui dirige l'OIM ?"
UPDATE_MARKER = "Marqueur de mise à jour du banc d'essai."


def git_commit() -> str:
    """The short hash of HEAD, "+ uncommitted changes" when tracked files differ: what a figure was measured on."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo_root(), capture_output=True, text=True, check=False).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")


def machine_facts() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "rasa": rasa_version(),
    }


def our_model() -> Path:
    """$OIM_MODEL if set, else the cached model of the current inputs (trained, under the shared
    training lock, only if missing)."""
    explicit = os.environ.get("OIM_MODEL")
    if explicit and Path(explicit).exists():
        return Path(explicit)
    path = cached_model_path()
    if not path.exists():
        print("[bench] no cached model for the current inputs: training it (under the lock)")
        subprocess.run(["flock", TRAIN_LOCK, sys.executable, "-m", "bot.maintenance.model_cache"], cwd=repo_root(), check=True)
    return path


def training_seconds(measure: bool) -> dict[str, Any]:
    """Full training time of our model and of the stock bot, one after the other under one lock
    (--train), or the last figures for these inputs."""
    record = RESULTS_DIR / "training.json"
    key = model_hash()
    if not measure:
        if record.exists():
            data = json.loads(record.read_text())
            data["same_inputs_as_now"] = data.get("model_hash") == key
            return data
        return {"seconds": None, "note": "not measured: run `make bench BENCH_ARGS=--train`"}
    ensure_stock_model()  # the stock project, made under the lock by `rasa init` if missing
    with open(TRAIN_LOCK, "w") as lock:  # noqa: SIM117 - the lock must cover only the training
        print("[bench] waiting for the training lock")
        fcntl.flock(lock, fcntl.LOCK_EX)
        target = cached_model_path()
        with tempfile.TemporaryDirectory() as tmp:
            print("[bench] timing a full training (rasa train, empty Rasa cache)")
            # Rasa reuses components cached in .rasa/cache: a fresh cache makes it a full training.
            os.environ["RASA_CACHE_DIRECTORY"] = str(Path(tmp) / "rasa-cache")
            # Into the model cache when it lacks this model (what `make run` would train anyway).
            seconds = train(repo_root(), Path(tmp) / "model.tar.gz" if target.exists() else target)
            print(f"[bench] ours trained in {seconds:.1f} s; timing a full training of the stock bot")
            stock_seconds = time_stock_training(Path(tmp) / "stock")
            print(f"[bench] stock trained in {stock_seconds:.1f} s: ours / stock {seconds / stock_seconds:.2f}")
    data = {"seconds": round(seconds, 1), "stock_seconds": round(stock_seconds, 1),
            "ratio": round(seconds / stock_seconds, 2), "model_hash": key,
            "measured_at": machine_facts()["date"], "load_average": [round(x, 2) for x in os.getloadavg()]}
    RESULTS_DIR.mkdir(exist_ok=True)
    record.write_text(json.dumps(data, indent=2))
    data["same_inputs_as_now"] = True
    return data


def _post(url: str, text: str, sender: str) -> list[str]:
    request = urllib.request.Request(
        url + "/webhooks/rest/webhook", method="POST",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return [m.get("text", "") for m in json.loads(response.read())]


def knowledge_update_seconds(url: str, knowledge: Path) -> dict[str, Any]:
    """Change the leadership answer in the running copy; seconds until the assistant says it."""
    path = next(p for p in sorted((knowledge / "entries").glob("*.yml"))
                if "org.leadership" in p.read_text(encoding="utf-8"))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry = next(e for e in data["entries"] if e["id"] == "org.leadership")
    before = " ".join(_post(url, LEADERSHIP_QUESTION, f"update-before-{time.time_ns()}"))
    if entry["answer"].split()[0] not in before:
        return {"seconds": None, "note": f"{LEADERSHIP_QUESTION!r} is not answered from org.leadership"}
    # First: a focused reply quotes the answer's first sentence, not its end.
    entry["answer"] = f"{UPDATE_MARKER} {entry['answer']}"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    started = time.monotonic()
    os.replace(tmp, path)
    polls = 0
    while time.monotonic() - started < 30:
        polls += 1
        if UPDATE_MARKER in " ".join(_post(url, LEADERSHIP_QUESTION, f"update-{time.time_ns()}")):
            return {"seconds": round(time.monotonic() - started, 2), "polls": polls}
        time.sleep(0.05)
    return {"seconds": None, "note": "the change was not live within 30 s"}


PROFILE_ROUNDS = 3


def profile(model: Path, endpoints: Path, messages: list[str]) -> dict[str, Any]:
    """Per-part milliseconds per turn, from benchmarks/profile_turn.py in its own process."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(scripts_for(messages, users=4, turns=10), handle)
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.profile_turn", "--model", str(model), "--endpoints", str(endpoints),
         "--messages", handle.name, "--json"],
        cwd=repo_root(), capture_output=True, text=True, timeout=600,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
             "PYTHONPATH": str(repo_root()), "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
    )
    os.unlink(handle.name)
    if result.returncode != 0:
        return {"error": result.stderr[-2000:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_profile(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median cost per turn, and every run's cost: one run swings with the machine."""
    done = sorted((r for r in runs if "error" not in r), key=lambda r: r["ms_per_turn"])
    if not done:
        return runs[0]
    return {**done[len(done) // 2], "rounds_ms_per_turn": [r["ms_per_turn"] for r in runs if "error" not in r]}


def warm_up(url: str, messages: list[str]) -> None:
    for text in messages:
        _post(url, text, f"warmup-{time.time_ns()}")


async def measure_loads(targets: dict[str, tuple[str, list[str], str | None]], quick: bool) -> dict[str, Any]:
    """1 user (interleaved rounds, so every set-up sees the same machine load), then 10 and 50."""
    single_turns, rounds = (12, 2) if quick else (20, 3)
    samples: dict[str, list[LoadResult]] = {name: [] for name in targets}
    for round_index in range(rounds):
        for name, (url, messages, error_text) in targets.items():
            script = scripts_for(messages, users=round_index + 1, turns=single_turns)[-1:]
            samples[name].append(await run_load(url, script, f"{name}-1u", error_text))
    results: dict[str, Any] = {name: {"1": LoadResult.merge(s).as_dict()} for name, s in samples.items()}
    for users, turns in ((10, 6 if quick else 15), (50, 3 if quick else 10)):
        for name, (url, messages, error_text) in targets.items():
            print(f"[bench] {name}: {users} concurrent users x {turns} turns")
            result = await run_load(url, scripts_for(messages, users, turns), f"{name}-{users}u", error_text)
            results[name][str(users)] = result.as_dict()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    parser.add_argument("--train", action="store_true", help="time a full training of our model")
    parser.add_argument("--no-profile", action="store_true", help="skip the per-part profile")
    parser.add_argument("--replicas", type=int, default=2, help="Rasa replicas in the scaled set-up")
    parser.add_argument("--ready-runs", type=int, default=2,
                        help="starts of stock and ours timed (the fastest counts: least disturbed)")
    args = parser.parse_args(argv)

    began = time.monotonic()
    results: dict[str, Any] = {"machine": machine_facts()}
    print(f"[bench] {results['machine']}")
    stock_model, stock_training = ensure_stock_model()
    model = our_model()
    results["models"] = {"ours": model.name, "stock": stock_model.name,
                         "stock_training_s_when_built": stock_training}
    workdir = Path(tempfile.mkdtemp(prefix="oim-bench-"))
    print(f"[bench] logs in {workdir} (removed after a successful run)")
    knowledge = workdir / "knowledge"
    shutil.copytree(knowledge_dir(), knowledge)
    error_text = _polite_error_text()
    running: list[Topology] = []
    ready: dict[str, list[float]] = {"stock": [], "ours": []}
    try:
        for run in range(max(1, args.ready_runs)):
            last = run == max(1, args.ready_runs) - 1  # the last start stays up for the load tests
            stock = start_stock(workdir / f"stock-{run}", stock_model, STOCK_MESSAGES[0])
            ready["stock"].append(stock.ready_s)
            print(f"[bench] stock (rasa init) ready in {stock.ready_s:.1f} s")
            if last:
                running.append(stock)
            else:
                stock.stop()
            ours = start_ours(workdir / f"ours-{run}", model, OUR_MESSAGES[0], knowledge_dir=knowledge)
            ready["ours"].append(ours.ready_s)
            print(f"[bench] ours (as scripts/run.sh) ready in {ours.ready_s:.1f} s")
            if last:
                running.append(ours)
            else:
                ours.stop()
        scaled = start_scaled(workdir / "scaled", model, OUR_MESSAGES[0], replicas=args.replicas)
        running.append(scaled)
        print(f"[bench] scaled ({args.replicas} replicas) ready in {scaled.ready_s:.1f} s")
        results["ready_samples_s"] = {name: [round(x, 1) for x in xs] for name, xs in ready.items()}
        results["ready_s"] = {"stock": round(min(ready["stock"]), 1), "ours": round(min(ready["ours"]), 1),
                              "scaled": round(scaled.ready_s, 1)}

        for topology, messages in ((stock, STOCK_MESSAGES), (ours, OUR_MESSAGES), (scaled, OUR_MESSAGES)):
            warm_up(topology.url, messages)
        for name, part in scaled.parts.items():
            if name.startswith("rasa_"):
                warm_up(part.url, OUR_MESSAGES)  # type: ignore[attr-defined]
        targets = {
            "stock": (stock.url, STOCK_MESSAGES, None),
            "ours": (ours.url, OUR_MESSAGES, error_text),
            "scaled": (scaled.url, OUR_MESSAGES, error_text),
        }
        results["load"] = asyncio.run(measure_loads(targets, args.quick))
        results["rss_mb"] = {t.name: t.rss() for t in running}

        print("[bench] QA sets over ours' REST channel")
        results["quality"] = {"qa": qa_pass_rates(ours.url)}
        print("[bench] knowledge-only update")
        results["knowledge_update"] = knowledge_update_seconds(ours.url, knowledge)
        if not args.no_profile:
            print(f"[bench] profiling a turn (ours, then stock, {PROFILE_ROUNDS} rounds)")
            actions_url = ours.parts["actions"].url  # type: ignore[attr-defined]
            profile_dir = workdir / "profile"
            profile_dir.mkdir()
            rounds: dict[str, list[dict[str, Any]]] = {"ours": [], "stock": []}
            for round_index in range(PROFILE_ROUNDS):  # interleaved: both see the same machine load
                rounds["ours"].append(profile(model, write_sqlite_endpoints(
                    profile_dir / f"ours{round_index}.yml", actions_url, profile_dir / f"ours{round_index}.db"),
                    OUR_MESSAGES))
                rounds["stock"].append(profile(stock_model, write_sqlite_endpoints(
                    profile_dir / f"stock{round_index}.yml", "http://127.0.0.1:9",
                    profile_dir / f"stock{round_index}.db", stock=True), STOCK_MESSAGES))
            results["profile"] = {name: median_profile(runs) for name, runs in rounds.items()}
    finally:
        for topology in reversed(running):
            topology.stop()
    results["training"] = training_seconds(args.train)
    if args.train:  # the entity figure needs a training of its own (the 80 % of one split)
        results.setdefault("quality", {})["entities"] = entity_scores()
        # `make update` of a new page with NLU examples: a real training + the gates, vs the full training.
        results["make_update"] = update = update_timing.time_update(model)
        if update.get("seconds") is not None and results["training"].get("seconds"):
            update["ratio_to_training"] = round(update["seconds"] / results["training"]["seconds"], 2)
            print(f"[bench] make update {update['seconds']} s / full training {results['training']['seconds']} s"
                  f" = {update['ratio_to_training']}")
    results["bench_seconds"] = round(time.monotonic() - began, 1)
    results["targets"] = report.targets(results)

    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    markdown = report.markdown(results)
    (RESULTS_DIR / "latest.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def qa_pass_rates(url: str) -> dict[str, dict[str, Any]]:
    """Both QA sets replayed over the REST channel at url (as tests/test_qa.py): a speed change
    must not cost answers, so the bench prints the pass rates beside the speed ratios."""
    from bot.maintenance.qa_set import load_items, rest_sender, run_items, scores_by_category

    rates = {}
    for name in ("questions", "holdout"):
        outcomes = run_items(load_items(repo_root() / "tests" / "qa" / f"{name}.yml"), rest_sender(url))
        passed, total = scores_by_category(outcomes)["all"]
        rates[name] = {"passed": passed, "total": total, "rate": round(100 * passed / total, 1)}
    return rates


def entity_scores() -> dict[str, Any]:
    """Entity F1 of the current config, trained on 80 % of a fixed stratified split of data/nlu and
    scored on the rest (benchmarks/config_variants.py --entities, 'current' only)."""
    from benchmarks import config_variants

    workdir = Path(tempfile.mkdtemp(prefix="oim-bench-entities-"))
    try:
        inputs = config_variants.snapshot(workdir)
        config = yaml.safe_load((inputs / "config.yml").read_text(encoding="utf-8"))
        split, test = config_variants.split_nlu(inputs, workdir)
        found = config_variants.measure_entities("current", split, test, config, workdir)
        return {"f1": found["entities_value"]["*"]["f1"], "typos_f1": found["typos_value"]["*"]["f1"],
                "intent_accuracy": found["intent_accuracy"]}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _polite_error_text() -> str:
    domain = yaml.safe_load((repo_root() / "domain.yml").read_text(encoding="utf-8"))
    return str(domain["responses"]["utter_action_error"][0]["text"])


if __name__ == "__main__":
    raise SystemExit(main())
