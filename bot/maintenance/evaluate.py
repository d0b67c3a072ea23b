"""The quality gates of a candidate (model + knowledge), cached, and `python -m bot evaluate`.

Why: the same gates decide whether `bot update` may put a candidate live and tell a maintainer
how good the current data is (`make evaluate`). Each gate's result is stored under
<cache>/evaluations/<key>/, the key being a hash of exactly what the gate depends on (the model
file, the held-out or QA file, the knowledge), so running it again on the same inputs is instant.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.knowledge.paths import knowledge_dir, pages_dir, repo_root
from bot.maintenance import nlu_eval
from bot.maintenance.candidate_model import file_sha, training_lock
from bot.maintenance.candidate_stack import CandidateStack, StackError, rasa_env
from bot.maintenance.gates import (
    FAIL,
    NLU_MODES,
    PASS,
    SKIP,
    GateConfig,
    GateResult,
    QASetGate,
    load_gate_config,
)
from bot.maintenance.model_cache import cache_root, model_hash
from bot.maintenance.prechecks import check_training_data
from bot.maintenance.qa_set import (
    QAItem,
    QAOutcome,
    Sender,
    load_items,
    run_items,
    scores_by_category,
    spread_sample,
)

GATE_NAMES = ("training_data", "knowledge", "rasa_validate", "nlu", "stories", "qa")
RESULT_FILE = "result.json"
# Code whose behaviour the QA answers depend on (besides model and knowledge).
QA_CODE = ("actions", "bot")


def evaluations_root() -> Path:
    return cache_root() / "evaluations"


def tree_hash(paths: Iterable[Path], suffixes: Iterable[str] = (".yml", ".yaml", ".py", ".txt")) -> str:
    """Hash of names and contents of the given files / folders (recursively, by suffix)."""
    wanted = tuple(suffixes)
    digest = hashlib.sha256()
    for base in paths:
        files = (
            sorted(p for p in base.rglob("*") if p.is_file() and p.suffix in wanted)
            if base.is_dir()
            else [base]
        )
        for path in files:
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cached_gate(key: str, compute: Callable[[Path], GateResult], use_cache: bool = True) -> GateResult:
    """The stored result for key, else compute(folder) stored for next time.

    Only completed evaluations are stored: an exception (server down, crash) is not a result.
    """
    folder = evaluations_root() / key
    stored = folder / RESULT_FILE
    if use_cache and stored.exists():
        result = GateResult.from_dict(json.loads(stored.read_text(encoding="utf-8")))
        result.cached = True
        return result
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    result = compute(folder)
    result.details.setdefault("results_dir", str(folder))
    stored.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    return result


# ---------------------------------------------------------------- gates without a model


def check_knowledge(knowledge: Path, pages: Path, config: GateConfig) -> GateResult:
    """`bot validate` rules on the knowledge folder, passages compared with the pages."""
    from bot.knowledge.validate import validate_dir

    started = time.monotonic()
    problems = [str(p) for p in validate_dir(knowledge, pages)]
    seconds = time.monotonic() - started
    allowed = config.knowledge.max_problems
    if len(problems) > allowed:
        return GateResult(
            "knowledge",
            FAIL,
            f"{len(problems)} problem(s) (max {allowed}): {problems[0]}",
            seconds=seconds,
            problems=problems,
        )
    return GateResult(
        "knowledge", PASS, f"knowledge files valid ({knowledge})", seconds=seconds, problems=problems
    )


def check_rasa_data(root: Path, config: GateConfig, use_cache: bool = True) -> GateResult:
    """`rasa data validate` on config, domain, NLU, rules and stories (cached by model inputs)."""

    def compute(folder: Path) -> GateResult:
        started = time.monotonic()
        command = [
            str(Path(sys.executable).with_name("rasa")),
            "data",
            "validate",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data/nlu",
            "data/rules",
            "data/stories",
        ]
        result = subprocess.run(command, cwd=root, env=rasa_env(), capture_output=True, text=True)
        output = result.stdout + result.stderr
        (folder / "rasa-data-validate.log").write_text(output, encoding="utf-8")
        warnings = [
            line.strip() for line in output.splitlines() if "UserWarning" in line or " WARNING " in line
        ]
        errors = [line.strip() for line in output.splitlines() if " ERROR " in line or "Error:" in line]
        seconds = time.monotonic() - started
        failed = result.returncode != 0 or (config.rasa_data_validate.fail_on_warnings and warnings)
        if failed:
            first = (errors or warnings or output.strip().splitlines()[-1:] or ["(no output)"])[0]
            return GateResult(
                "rasa data validate",
                FAIL,
                f"exit {result.returncode}: {first}",
                seconds=seconds,
                problems=errors or warnings,
                details={"warnings": warnings},
            )
        return GateResult(
            "rasa data validate",
            PASS,
            f"no error ({len(warnings)} warning(s), listed in the report)",
            seconds=seconds,
            details={"warnings": warnings},
        )

    return cached_gate(f"rasa-validate-{model_hash(root)}", compute, use_cache)


# ---------------------------------------------------------------- gates on a model


def evaluate_nlu_cross_validation(root: Path, config: GateConfig, use_cache: bool = True) -> GateResult:
    """5-fold cross-validation of the training data (does not use the candidate model)."""

    def compute(folder: Path) -> GateResult:
        with training_lock():
            seconds = nlu_eval.timed(lambda: nlu_eval.run_cross_validation(root, folder, config.nlu.folds))
        return nlu_eval.nlu_gate("cross_validation", folder, config, seconds)

    return cached_gate(f"nlu-cv{config.nlu.folds}-{model_hash(root)}", compute, use_cache)


def evaluate_stories(
    root: Path, model: Path, stack: Callable[[], CandidateStack], config: GateConfig, use_cache: bool = True
) -> GateResult:
    """Test stories on the candidate server (no second model load); failures named by `rasa test core`.

    Same verdict as `rasa test core --stories ... --fail-on-prediction-errors`: a story fails when
    one of its actions is mispredicted. When some fail, the CLI is run once more to name them
    (failed_test_stories.yml) for the report.
    """
    stories = root / config.stories.file
    if not stories.exists():
        return GateResult("stories", SKIP, f"{config.stories.file} not found: no dialogue test run")

    def compute(folder: Path) -> GateResult:
        started = time.monotonic()
        count = len((yaml.safe_load(stories.read_text(encoding="utf-8")) or {}).get("stories") or [])
        actions = stack().test_stories(stories.read_text(encoding="utf-8"))
        (folder / "story_actions.json").write_text(json.dumps(actions, ensure_ascii=False, indent=2), "utf-8")
        wrong = [a for a in actions if a.get("action") != a.get("predicted")]
        details: dict = {"total": count, "actions": len(actions), "wrong_actions": wrong[:50], "failed": []}
        if not wrong:
            summary = f"{count}/{count} test stories pass ({len(actions)} actions predicted right)"
            details["correct"] = count
            return GateResult("stories", PASS, summary, seconds=time.monotonic() - started, details=details)
        failed_names = run_rasa_test_core(root, model, stories, folder)
        details.update(failed=failed_names, correct=count - len(failed_names))
        status = PASS if len(failed_names) <= config.stories.max_failed else FAIL
        summary = (
            f"{count - len(failed_names)}/{count} test stories pass ({len(failed_names)} failed, "
            f"max {config.stories.max_failed}; {len(wrong)} wrong action(s))"
        )
        if failed_names:
            summary += ": " + ", ".join(failed_names[:3])
        problems = [f"story failed: {name}" for name in failed_names]
        problems += [
            f"expected {a.get('action')}, predicted {a.get('predicted')} ({a.get('policy')})" for a in wrong
        ]
        return GateResult(
            "stories", status, summary, seconds=time.monotonic() - started, problems=problems, details=details
        )

    return cached_gate(f"stories-{file_sha(model)}-{file_sha(stories)}", compute, use_cache)


def run_rasa_test_core(root: Path, model: Path, stories: Path, folder: Path) -> list[str]:
    """`rasa test core` into folder; the names of the failed stories."""
    endpoints = folder / "endpoints.yml"
    endpoints.write_text('action_endpoint:\n  url: "http://127.0.0.1:1/webhook"\n', encoding="utf-8")
    command = [
        str(Path(sys.executable).with_name("rasa")), "test", "core", "--model", str(model),
        "--stories", str(stories), "--out", str(folder), "--endpoints", str(endpoints), "--no-plot",
    ]  # fmt: skip
    log = folder / "rasa-test-core.log"
    with log.open("wb") as handle:
        run = subprocess.run(command, cwd=root, env=rasa_env(), stdout=handle, stderr=subprocess.STDOUT)
    if run.returncode != 0 or not (folder / "story_report.json").exists():
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:])
        raise RuntimeError(f"rasa test core failed (exit {run.returncode}):\n{tail}")
    return failed_story_names(folder / "failed_test_stories.yml")


def failed_story_names(path: Path) -> list[str]:
    """Names of the stories in Rasa's failed_test_stories.yml."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(story.get("story")) for story in data.get("stories") or [] if isinstance(story, dict)]


def evaluate_nlu_holdout(
    root: Path, model: Path, stack: Callable[[], CandidateStack], config: GateConfig, use_cache: bool = True
) -> GateResult:
    """The candidate model parses the held-out messages (server started only on a cache miss)."""
    holdout = root / config.nlu.holdout.file
    if not holdout.exists():
        return GateResult("nlu (holdout)", FAIL, f"{config.nlu.holdout.file} not found")

    def compute(folder: Path) -> GateResult:
        running = stack()
        seconds = nlu_eval.timed(lambda: nlu_eval.run_holdout(running.parse, holdout, folder))
        return nlu_eval.nlu_gate("holdout", folder, config, seconds)

    return cached_gate(f"nlu-holdout-{file_sha(model)}-{file_sha(holdout)}", compute, use_cache)


def _rate(passed: int, total: int) -> float:
    return passed / total if total else 0.0


def _categories(count: int) -> str:
    return f"{count} category" if count == 1 else f"{count} categories"


def qa_set_scores(gate: QASetGate, outcomes: list[QAOutcome], category_min: float) -> dict:
    """One QA file's pass rate against its minimum and each category's against category_min."""
    scores = scores_by_category(outcomes)
    passed, total = scores.pop("all", (0, 0))
    rate = _rate(passed, total)
    categories = [
        {"category": name, "passed": p, "total": n, "rate": round(_rate(p, n), 4), "met": _rate(p, n) >= category_min}
        for name, (p, n) in scores.items()
    ]  # fmt: skip
    return {
        "name": gate.name, "title": gate.title, "file": gate.file, "passed": passed, "total": total,
        "pass_rate": round(rate, 4), "pass_rate_min": gate.pass_rate_min,
        "met": total > 0 and rate >= gate.pass_rate_min, "categories": categories,
    }  # fmt: skip


# A held-out sample stands for its whole file only when the file's pass rate, and each category's,
# is above its minimum with one-sided 99.9 % confidence (Wilson score interval).
CONCLUSIVE_Z = 3.09


def wilson_lower(passed: int, total: int, z: float = CONCLUSIVE_Z) -> float:
    """Lower bound of the Wilson score interval of passed/total (0 for no item)."""
    if total <= 0:
        return 0.0
    rate, z2 = passed / total, z * z
    centre = rate + z2 / (2 * total)
    margin = z * math.sqrt(rate * (1 - rate) / total + z2 / (4 * total * total))
    return (centre - margin) / (1 + z2 / total)


def sample_is_conclusive(runs: list[tuple[QASetGate, list[QAOutcome]]], category_min: float) -> bool:
    """Every sampled file, and each of its categories, passes its minimum even at the lower bound
    of its pass rate; a file replayed in full counts as it scored."""
    for gate, outcomes in runs:
        scores = scores_by_category(outcomes)
        bound = wilson_lower if gate.sample_every > 1 else _rate
        passed, total = scores.pop("all", (0, 0))
        if total == 0 or bound(passed, total) < gate.pass_rate_min:
            return False
        if any(bound(p, n) < category_min for p, n in scores.values()):
            return False
    return True


def replay_qa_sets(
    qa_sets: list[QASetGate], items: dict[str, list[QAItem]], send: Sender, category_min: float
) -> tuple[list[tuple[QASetGate, list[QAOutcome]]], bool]:
    """Outcomes of each QA file and whether they come from samples alone.

    Why: the held-out file is thousands of conversations (minutes of both cores). A file with
    `sample_every` > 1 is replayed first on its spread sample; when the sample is conclusive (it
    passes every minimum even at its 99.9 % lower bound) the verdict cannot be expected to differ
    on the whole file, and the replay stops there. Otherwise the rest of the file is replayed and
    the whole file is judged, failures and all.
    """
    first = [
        (gate, spread_sample(items[gate.name], gate.sample_every, lambda item: item.category))
        for gate in qa_sets
    ]
    runs = [(gate, run_items(chosen, send)) for gate, chosen in first]
    sampled = any(len(chosen) < len(items[gate.name]) for gate, chosen in first)
    if not sampled or sample_is_conclusive(runs, category_min):
        return runs, sampled
    whole = []
    for gate, outcomes in runs:
        done = {o.item.id: o for o in outcomes}
        rest = {o.item.id: o for o in run_items([i for i in items[gate.name] if i.id not in done], send)}
        whole.append((gate, [done.get(i.id) or rest[i.id] for i in items[gate.name]]))
    return whole, False


def qa_gate(
    runs: list[tuple[QASetGate, list[QAOutcome]]],
    category_min: float,
    seconds: float = 0.0,
    sampled: bool = False,
) -> GateResult:
    """The QA verdict: each file's pass rate against its own minimum, every category of every file
    against category_min. details["sets"] has the per-file, per-category scores for the report;
    `sampled`: the files with a sample_every were judged on their conclusive sample (replay_qa_sets).
    """
    sets = [qa_set_scores(gate, outcomes, category_min) for gate, outcomes in runs]
    for row, (gate, _) in zip(sets, runs, strict=True):
        if sampled and gate.sample_every > 1:
            row["sample_every"] = gate.sample_every
            row["title"] += f" (sample: 1 item in {gate.sample_every} of each category, conclusive)"
    failed = [o.to_dict() | {"set": gate.name} for gate, outcomes in runs for o in outcomes if not o.passed]
    low = [
        f"{row['title']} {cat['category']} {cat['passed']}/{cat['total']} ({cat['rate']:.1%})"
        for row in sets
        for cat in row["categories"]
        if not cat["met"]
    ]
    misses = [
        f"{row['title']} ({row['file']}): {row['passed']}/{row['total']} pass "
        f"({row['pass_rate']:.1%} < {row['pass_rate_min']:.1%})"
        for row in sets
        if not row["met"]
    ]
    if low:
        misses.append(f"{_categories(len(low))} below {category_min:.1%}: " + ", ".join(low))
    summary = ", ".join(
        f"{row['title']} {row['passed']}/{row['total']} "
        f"({row['pass_rate']:.1%} {'>=' if row['met'] else '<'} {row['pass_rate_min']:.1%})"
        for row in sets
    )
    if low:
        shown = ", ".join(low[:4]) + (", …" if len(low) > 4 else "")
        summary += f"; {_categories(len(low))} < {category_min:.1%}: {shown}"
    else:
        summary += f"; every category >= {category_min:.1%}"
    if failed:
        summary += "; failed: " + ", ".join(f["id"] for f in failed[:5])
        summary += f" (+{len(failed) - 5} more)" if len(failed) > 5 else ""
    passed = sum(row["passed"] for row in sets)
    total = sum(row["total"] for row in sets)
    problems = misses + [
        f"{f['id']} ({f['set']}, {f['category']}): {'; '.join(f['reasons'])}" for f in failed
    ]
    details = {
        "total": total, "passed": passed, "pass_rate": round(_rate(passed, total), 4),
        "category_pass_rate_min": category_min, "sets": sets, "failed": failed,
    }  # fmt: skip
    return GateResult(
        "qa", FAIL if misses else PASS, summary, seconds=seconds, problems=problems, details=details
    )


def evaluate_qa(
    root: Path,
    model: Path,
    knowledge: Path,
    stack: Callable[[], CandidateStack],
    config: GateConfig,
    use_cache: bool = True,
    sample: bool = False,
) -> GateResult:
    """Both conversation QA sets (tuned, held-out) over REST against the candidate model and knowledge;
    with `sample`, the held-out set's sample first, the rest only if the sample is not conclusive."""
    qa_sets = config.qa_sets(sample)
    missing = [gate.file for gate in qa_sets if not (root / gate.file).exists()]
    if len(missing) == len(qa_sets):
        return GateResult("qa", SKIP, f"{', '.join(missing)} not found: no conversation test run")
    if missing:
        return GateResult("qa", FAIL, f"{', '.join(missing)} not found (gates.yml, qa)")
    items = {gate.name: load_items(root / gate.file) for gate in qa_sets}
    thresholds = repr([*qa_sets, config.qa.category_pass_rate_min])  # a new threshold is a new verdict
    key = (
        "qa-"
        + hashlib.sha256(
            "|".join(
                [
                    file_sha(model),
                    *(file_sha(root / gate.file) for gate in qa_sets),
                    thresholds,
                    tree_hash([knowledge]),
                    tree_hash([root / n for n in QA_CODE]),
                ]
            ).encode()
        ).hexdigest()[:16]
    )

    def compute(folder: Path) -> GateResult:
        started = time.monotonic()
        running = stack()
        runs, sampled = replay_qa_sets(qa_sets, items, running.send, config.qa.category_pass_rate_min)
        (folder / "qa_results.json").write_text(
            json.dumps(
                [o.to_dict() | {"set": gate.name} for gate, outcomes in runs for o in outcomes],
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        return qa_gate(
            runs, config.qa.category_pass_rate_min, seconds=time.monotonic() - started, sampled=sampled
        )

    return cached_gate(key, compute, use_cache)


# ---------------------------------------------------------------- a candidate, end to end


@dataclass
class Candidate:
    """What is judged: the project (training data, tests), a model file and a knowledge folder."""

    root: Path
    model: Path
    knowledge: Path
    pages: Path  # folder with every page the knowledge was built from
    workdir: Path  # logs of the candidate servers


@dataclass
class LazyStack:
    """The candidate servers, started on first use only (every gate may be a cache hit).

    `launch()` may be called early so that the servers boot while other work goes on, even before
    the candidate's model exists (`model_ready=False`: the Rasa server boots with no model and
    loads it on first use).
    """

    candidate: Candidate
    stack: CandidateStack | None = None

    def launch(self, model_ready: bool = True) -> None:
        if self.stack is None:
            print("[oim] starting a private server on the candidate model (about a minute)", file=sys.stderr)
            candidate = self.candidate
            self.stack = CandidateStack(
                candidate.model if model_ready else None, candidate.knowledge, candidate.workdir, candidate.root
            )  # fmt: skip
            try:
                self.stack.launch()
            except BaseException:
                self.stop()
                raise

    def __call__(self) -> CandidateStack:
        self.launch()
        assert self.stack is not None
        try:
            self.stack.wait_until_ready()
            if self.stack.model != self.candidate.model:
                self.stack.load(self.candidate.model)
            return self.stack
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()
            self.stack = None


@dataclass
class GateRun:
    """Results of the gates run so far, in order; stops at the first failure when asked to."""

    results: list[GateResult] = field(default_factory=list)
    stop_on_failure: bool = True

    @property
    def failed(self) -> list[GateResult]:
        return [r for r in self.results if r.status == FAIL]

    @property
    def passed(self) -> bool:
        return not self.failed

    def add(self, result: GateResult) -> bool:
        """Record and print a result; False when the run must stop here."""
        self.results.append(result)
        print(f"[oim] {result.line()}", file=sys.stderr)
        return result.status != FAIL or not self.stop_on_failure


def run_error_gate(name: str, error: Exception) -> GateResult:
    """A gate that could not run is a failed gate, with the reason."""
    return GateResult(name, FAIL, f"could not run: {error}".splitlines()[0], problems=str(error).splitlines())


def model_gates(
    candidate: Candidate,
    config: GateConfig,
    mode: str,
    run: GateRun,
    only: Iterable[str] = GATE_NAMES,
    use_cache: bool = True,
    stack: LazyStack | None = None,
    qa_sample: bool = False,
) -> LazyStack:
    """NLU, stories and QA gates of a candidate model; returns the (maybe started) servers to stop.
    `qa_sample`: the QA gate may judge the held-out set on a conclusive sample (`bot update`)."""
    stack = stack if stack is not None and stack.candidate == candidate else LazyStack(candidate)
    root, model = candidate.root, candidate.model

    def nlu() -> GateResult:
        if mode == "cross_validation":
            return evaluate_nlu_cross_validation(root, config, use_cache)
        return evaluate_nlu_holdout(root, model, stack, config, use_cache)

    def stories() -> GateResult:
        return evaluate_stories(root, model, stack, config, use_cache)

    def qa() -> GateResult:
        return evaluate_qa(root, model, candidate.knowledge, stack, config, use_cache, sample=qa_sample)

    steps = {"nlu": (f"nlu ({mode})", nlu), "stories": ("stories", stories), "qa": ("qa", qa)}
    wanted = set(only)
    for key, (name, step) in steps.items():
        if key not in wanted:
            continue
        try:
            result = step()
        except (RuntimeError, StackError, OSError, ValueError) as error:
            result = run_error_gate(name, error)
        if not run.add(result):
            break
    return stack


# ---------------------------------------------------------------- `python -m bot evaluate`


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `evaluate` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="run the quality gates on the current data and model, write a report",
        description="Run the gates of gates.yml on the current training data, model and knowledge "
        "(NLU cross-validation by default, ~15 min; cached by model) and write reports/<time>/report.md.",
    )
    parser.add_argument(
        "--mode",
        choices=NLU_MODES,
        default=None,
        help="NLU evaluation: cross_validation (5 folds, default of gates.yml) or holdout (fast)",
    )
    parser.add_argument(
        "--only",
        default=",".join(GATE_NAMES),
        help=f"comma-separated gates to run (default: all of {','.join(GATE_NAMES)})",
    )
    parser.add_argument("--no-cache", action="store_true", help="re-run gates even if a result is cached")
    parser.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    from bot.maintenance.candidate_model import build_model
    from bot.maintenance.report import RunRecord, write_report

    root = repo_root()
    config = load_gate_config(root)
    mode = args.mode or config.nlu.default_mode
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(GATE_NAMES))
    if unknown:
        print(
            f"[oim] unknown gate(s): {', '.join(unknown)} (known: {', '.join(GATE_NAMES)})", file=sys.stderr
        )
        return 2
    record = RunRecord(kind="evaluate", root=root, nlu_mode=mode)
    run = GateRun(stop_on_failure=False)
    use_cache = not args.no_cache
    stack: LazyStack | None = None
    with tempfile.TemporaryDirectory(prefix="oim-evaluate-") as tmp:
        try:
            if "training_data" in only:
                run.add(check_training_data(root, config))
            knowledge, pages = knowledge_dir(), pages_dir()
            if "knowledge" in only:
                run.add(check_knowledge(knowledge, pages, config))
            if "rasa_validate" in only:
                run.add(check_rasa_data(root, config, use_cache))
            if run.passed and set(only) & {"nlu", "stories", "qa"}:
                needs_model = ("nlu" in only and mode == "holdout") or "stories" in only or "qa" in only
                if needs_model:
                    record.model = build_model(root, allow_finetune=False)
                    print(f"[oim] {record.model.describe()}", file=sys.stderr)
                    model_path = record.model.path
                else:
                    model_path = Path("/nonexistent")
                candidate = Candidate(root, model_path, knowledge, pages, Path(tmp) / "servers")
                stack = model_gates(candidate, config, mode, run, only, use_cache)
        finally:
            if stack is not None:
                stack.stop()
        record.gates = run.results
        record.outcome = "all gates pass" if run.passed else "some gates fail"
        report = write_report(record)
    kept = keep_results(root, run.results)
    print(summary_text(run.results, report), file=sys.stderr)
    if kept:
        print(f"Rasa's raw results: {', '.join(str(k) for k in kept)}", file=sys.stderr)
    return 0 if run.passed else 1


def keep_results(root: Path, results: list[GateResult]) -> list[Path]:
    """Copy each gate's Rasa output folder to <repo>/results/<gate>/ (git-ignored), replacing the last."""
    kept: list[Path] = []
    for result in results:
        source = Path(str(result.details.get("results_dir") or ""))
        if not result.details.get("results_dir") or not source.is_dir():
            continue
        name = result.name.replace(" ", "-").replace("(", "").replace(")", "")
        target = root / "results" / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target)
        kept.append(target)
    return kept


def summary_text(results: list[GateResult], report: Path) -> str:
    """The terminal summary: one line per gate, the NLU figures, QA by category, where the report is."""
    lines = ["", "Gates:"]
    lines += [f"  {r.line()}" for r in results]
    for result in results:
        if result.name.startswith("nlu") and "intents" in result.details:
            details = result.details
            lines.append(
                f"NLU ({details.get('mode')}): macro-F1 {details['macro_f1']:.3f}, "
                f"accuracy {details['accuracy']:.3f}, {details['examples']} messages"
            )
            for row in details["intents"][:5]:
                confused = ", ".join(f"{k} x{v}" for k, v in list(row["confused_with"].items())[:2])
                lines.append(
                    f"  {row['intent']:32} F1 {row['f1']:.2f}  P {row['precision']:.2f}  R {row['recall']:.2f}"
                    + (f"  (confused with {confused})" if confused else "")
                )
        qa_sets = (result.details.get("sets") or []) if result.name == "qa" else []
        for row in qa_sets:
            categories = ", ".join(
                f"{c['category']} {c['passed']}/{c['total']}" + ("" if c["met"] else " (LOW)")
                for c in row["categories"]
            )
            lines.append(
                f"QA {row['title']} ({row['file']}): {row['passed']}/{row['total']} ({row['pass_rate']:.1%}); "
                f"by category: {categories}"
            )
    lines.append(f"Report: {report}")
    return "\n".join(lines)
