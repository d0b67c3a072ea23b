"""`python -m bot update <pages>`: new content in, tested model out, swapped in with no downtime.

Why: maintainers are not Rasa experts; one command must do every step in the right order and stop
at the first problem with a message naming the gate and the numbers, while the assistant keeps
serving what it served before. The new pages and the knowledge they produce are prepared in a
staging folder; nothing live changes until every gate has passed:

  pages readable -> training data (YAML, intents, examples) -> ingest -> knowledge validation ->
  rasa data validate -> model (cache / fine-tune / train) -> NLU, test stories, QA set on a private
  server -> PUT /model on the running server + knowledge and pages put in place -> report.

The model step starts right after the training data check and runs in the background during
ingest, validation and the private server's start, which need no model (`BackgroundBuild`).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.paths import knowledge_dir, pages_dir, repo_root
from bot.maintenance.candidate_model import BackgroundBuild
from bot.maintenance.deploy import (
    DeployError,
    Deployment,
    go_live,
    live_deployment,
    model_server_enabled,
    publish,
    record_baseline,
    record_deployment,
    replica_model,
    server_status,
    server_token,
    server_urls,
)
from bot.maintenance.evaluate import (
    Candidate,
    GateRun,
    LazyStack,
    check_knowledge,
    check_rasa_data,
    model_gates,
    summary_text,
)
from bot.maintenance.gates import FAIL, NLU_MODES, PASS, GateConfigError, GateResult, load_gate_config
from bot.maintenance.knowledge_diff import diff_knowledge
from bot.maintenance.locks import exclusive
from bot.maintenance.model_cache import cache_root, cached_model_path
from bot.maintenance.prechecks import check_training_data
from bot.maintenance.report import RunRecord, write_report

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_NOT_DEPLOYED = 0, 1, 2, 3
KEEP_STAGING = 3  # failed staging folders kept for inspection


def update_lock() -> contextlib.AbstractContextManager[None]:
    """One update at a time per cache (two would race on data/knowledge and the server)."""
    return exclusive(cache_root() / "update.lock", "another update is running")


def check_pages(pages: list[Path]) -> GateResult:
    """The pages folder has its pages; each new page is a readable UTF-8 text page.

    A new page named like a page of the folder replaces it (a corrected page).
    """
    from bot.knowledge.ingest import PageError, read_page

    started = time.monotonic()
    problems: list[str] = []
    if not any(pages_dir().glob("*.txt")):
        problems.append(f"no page in {pages_dir()}: the source pages must be there (data/pages/ in the repo)")
    for page in pages:
        if not page.is_file():
            problems.append(f"{page}: no such file")
        elif page.suffix != ".txt":
            problems.append(f"{page}: pages must be .txt text files")
        else:
            try:
                read_page(page)
            except PageError as error:
                problems.append(f"{page.name}: {error}")
    seconds = time.monotonic() - started
    if problems:
        return GateResult(
            "pages",
            FAIL,
            f"{len(problems)} problem(s): {problems[0]}",
            seconds=seconds,
            problems=problems,
        )
    names = ", ".join(p.name for p in pages) or "none"
    return GateResult("pages", PASS, f"{len(pages)} new page(s) readable: {names}", seconds=seconds)


@dataclass
class Staging:
    """The staged knowledge and pages (every page, the new ones included)."""

    folder: Path
    knowledge: Path
    pages: Path


def stage(run_id: str, new_pages: list[Path]) -> Staging:
    """Staging copies of the knowledge and pages (+ the new ones) under <cache>/staging/<run id>/."""
    folder = cache_root() / "staging" / run_id
    knowledge = folder / "knowledge"
    pages = folder / "pages"
    live_knowledge = knowledge_dir()
    if live_knowledge.is_dir():
        shutil.copytree(live_knowledge, knowledge, ignore=shutil.ignore_patterns(".*"))
    else:
        knowledge.mkdir(parents=True)
    if pages_dir().is_dir():
        shutil.copytree(pages_dir(), pages, ignore=shutil.ignore_patterns(".*"))
    else:
        pages.mkdir(parents=True)
    for page in new_pages:
        shutil.copy2(page, pages / page.name)
    return Staging(folder, knowledge, pages)


def run_ingest(knowledge: Path, pages: Path, new_pages: list[Path]) -> GateResult:
    """Ingest the staged pages into the staged knowledge; a skipped new page fails."""
    from bot.knowledge.ingest import ingest

    started = time.monotonic()
    report = ingest([pages], knowledge, check=False)
    new_names = {p.name for p in new_pages}
    problems = list(report.errors)
    problems += [w for w in report.warnings if "skipped" in w and any(name in w for name in new_names)]
    problems += [f"{name}: not ingested" for name in sorted(new_names - set(report.pages)) if not problems]
    seconds = time.monotonic() - started
    details = {
        "pages": report.pages,
        "written": [str(p.relative_to(knowledge)) for p in report.written],
        "warnings": report.warnings,
    }
    if problems:
        return GateResult(
            "ingest", FAIL, f"{problems[0]}", seconds=seconds, problems=problems, details=details
        )
    return GateResult(
        "ingest",
        PASS,
        f"{len(report.pages)} page(s) ingested, {len(report.written)} knowledge file(s) changed",
        seconds=seconds,
        problems=report.warnings,
        details=details,
    )


def _cleanup_staging(keep_failed: Path | None) -> None:
    root = cache_root() / "staging"
    if not root.is_dir():
        return
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    for folder in folders[:-KEEP_STAGING]:
        if folder != keep_failed:
            shutil.rmtree(folder, ignore_errors=True)


class Update:
    """One update run, phase by phase; every phase records its gates and durations in `record`."""

    def __init__(
        self, new_pages: list[Path], mode: str | None, allow_finetune: bool, use_cache: bool
    ) -> None:
        self.root = repo_root()
        self.config = load_gate_config(self.root)
        self.new_pages = new_pages
        self.allow_finetune = allow_finetune
        self.use_cache = use_cache
        mode = mode or self.config.nlu.default_mode
        self.record = RunRecord(
            kind="update", root=self.root, nlu_mode=mode, pages=[p.name for p in new_pages]
        )
        self.run = GateRun(stop_on_failure=True)
        self.staging: Staging | None = None
        self.stack: LazyStack | None = None
        self.live: Deployment | None = None
        self.build: BackgroundBuild | None = None

    def candidate(self, model: Path) -> Candidate:
        assert self.staging is not None
        staging = self.staging
        return Candidate(self.root, model, staging.knowledge, staging.pages, staging.folder / "servers")

    def step(self, name: str, action: Callable[[], GateResult]) -> bool:
        """Run one gate, time it, print it; False when the update must stop."""
        began = time.monotonic()
        result = action()
        self.record.durations[name] = self.record.durations.get(name, 0.0) + time.monotonic() - began
        return self.run.add(result)

    def check_inputs(self) -> bool:
        """Seconds-long checks first: the pages, then the training data."""
        return self.step("pages", lambda: check_pages(self.new_pages)) and self.step(
            "training data", lambda: check_training_data(self.root, self.config)
        )

    def build_knowledge(self) -> bool:
        """Start the model build, then ingest into a staging copy and validate it and the Rasa data.

        The model (cached, fine-tuned or trained: `build_model`) does not depend on the knowledge,
        so a training runs in the background meanwhile (BackgroundBuild) and is cancelled if a
        gate rejects the update. The candidate servers (a minute of CPU on two cores) are not
        started before the knowledge is known to be valid: booting them during ingest made ingest
        four times slower, and a broken knowledge file was rejected only after that wasted start
        and its shutdown. They boot during `rasa data validate`, the Rasa server with no model if
        the model is still training.
        """
        staging = self.staging = stage(self.record.id, self.new_pages)
        live = self.live = live_deployment(self.root)
        model = cached_model_path(self.root)
        if not model.exists():
            print(
                f"[oim] the training data changed: the model trains in the background while the "
                f"knowledge is checked (log: {staging.folder / 'training.log'})",
                file=sys.stderr,
            )
        self.build = BackgroundBuild(
            self.root, live.to_dict() if live else None, self.allow_finetune, staging.folder / "training.log"
        )
        if not (
            self.step("ingest", lambda: run_ingest(staging.knowledge, staging.pages, self.new_pages))
            and self.step("knowledge", lambda: check_knowledge(staging.knowledge, staging.pages, self.config))
        ):
            return False
        self.stack = LazyStack(self.candidate(model))
        self.stack.launch(model_ready=model.exists())
        return self.step(
            "rasa data validate", lambda: check_rasa_data(self.root, self.config, self.use_cache)
        )

    def build_and_judge_model(self) -> bool:
        """Diff the knowledge against the live deployment, wait for the model, run the model gates."""
        assert self.staging is not None and self.build is not None
        live = self.live
        if live is not None:
            baseline, label = Path(live.snapshot) / "knowledge", f"deployment {live.id}"
        else:
            baseline = knowledge_dir()
            label = f"the live knowledge folder {baseline} (no deployment recorded yet)"
        self.record.diff = diff_knowledge(baseline, self.staging.knowledge, baseline=label)
        print(f"[oim] knowledge changes: {self.record.diff.summary()}", file=sys.stderr)
        began = time.monotonic()
        try:
            model = self.record.model = self.build.result()
        except subprocess.CalledProcessError as error:
            log = self.staging.folder / "training.log"
            tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]) if log.exists() else ""
            raise RuntimeError(f"rasa train failed (exit {error.returncode}); {log}:\n{tail}") from error
        self.record.durations["model"] = self.build.seconds
        self.record.durations["waiting for the model"] = time.monotonic() - began
        print(f"[oim] {model.describe()}", file=sys.stderr)
        began = time.monotonic()
        candidate = self.candidate(model.path)
        if self.stack is not None:
            self.stack.candidate = candidate  # the servers booted early load this model if they lack it
        stack = model_gates(
            candidate, self.config, self.record.nlu_mode, self.run, use_cache=self.use_cache, stack=self.stack,
            qa_sample=True,
        )  # fmt: skip
        stack.stop()
        self.record.durations["evaluation"] = time.monotonic() - began
        return self.run.passed

    def deploy(self) -> int:
        """Swap the model into the running server and put knowledge and pages in place."""
        assert self.record.model is not None and self.staging is not None
        began = time.monotonic()
        urls, token = server_urls(), server_token()
        report = self.root / "reports" / self.record.id / "report.md"
        try:
            if model_server_enabled():  # the replicas pull the live model: publishing is recording it
                if live_deployment(self.root) is None:
                    loaded, _ = replica_model(urls[0], token)
                    record_baseline(self.root, {"model_file": loaded} if loaded else None)
                model, staging = self.record.model, self.staging
                self.record.live = publish(
                    model.path, staging.knowledge, staging.pages, urls, token,
                    lambda: record_deployment(
                        "update", model.path, model.model_hash, staging.knowledge, staging.pages, report,
                        self.root, server="published on the model server",
                    ),
                )  # fmt: skip
                self.record.outcome = (
                    "DEPLOYED" if self.record.live.model_loaded else "DEPLOYED (replicas late)"
                )
                self.record.message = self.record.live.message
                return EXIT_OK
            if live_deployment(self.root) is None:
                record_baseline(self.root, server_status(urls[0], token))
            live = go_live(self.record.model.path, self.staging.knowledge, self.staging.pages, urls, token)
        except DeployError as error:
            self.record.outcome = "NOT DEPLOYED"
            self.record.message = (
                f"every gate passed but the server did not take the new model: {error}. "
                "It keeps serving its current model."
            )
            return EXIT_NOT_DEPLOYED
        finally:
            self.record.durations["deploy"] = time.monotonic() - began
        live.deployment = record_deployment(
            "update", self.record.model.path, self.record.model.model_hash, knowledge_dir(), pages_dir(),
            report, self.root, server=live.message,
        )  # fmt: skip
        self.record.live = live
        self.record.outcome = "DEPLOYED"
        self.record.message = live.message
        return EXIT_OK

    def reject(self) -> int:
        failed = self.run.failed[0]
        self.record.outcome = "REJECTED"
        self.record.message = (
            f"gate '{failed.name}' failed: {failed.summary}. Nothing was changed: the assistant keeps "
            "serving its current model and knowledge."
        )
        return EXIT_REJECTED

    def execute(self, deploy: bool = True) -> tuple[int, Path]:
        """Every phase in order; returns (exit code, report path)."""
        with update_lock():
            try:
                passed = self.check_inputs() and self.build_knowledge() and self.build_and_judge_model()
            finally:
                if self.build is not None and not self.build.done():  # rejected while training
                    self.build.cancel()
                if self.stack is not None:
                    self.stack.stop()
            self.record.gates = self.run.results
            if not passed:
                code = self.reject()
            elif not deploy:
                code = EXIT_OK
                self.record.outcome = "PASSED (not deployed: --no-deploy)"
                self.record.message = (
                    f"every gate passed; model {self.record.model.path if self.record.model else '?'}"
                )
            else:
                code = self.deploy()
            report = write_report(self.record)
            staging = self.staging.folder if self.staging else None
            _cleanup_staging(staging if code != EXIT_OK else None)
            if code == EXIT_OK and staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        return code, report


def run_update(
    new_pages: list[Path],
    mode: str | None = None,
    allow_finetune: bool = True,
    use_cache: bool = True,
    deploy: bool = True,
) -> tuple[int, RunRecord, Path]:
    """The whole update; returns (exit code, what happened, report path)."""
    update = Update(new_pages, mode, allow_finetune, use_cache)
    code, report = update.execute(deploy)
    return code, update.record, report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `update` subcommand."""
    parser = subparsers.add_parser(
        "update",
        help="add pages, rebuild knowledge and model, run the gates, swap the new model in",
        description="Copy new pages into data/pages, ingest and validate the knowledge, train if the "
        "training data changed, run the gates of gates.yml and, if they all pass, load the model into "
        "the running server without restart. On any failure nothing live changes.",
    )
    parser.add_argument(
        "pages",
        nargs="*",
        type=Path,
        help="new or corrected .txt pages (none: rebuild from the current data)",
    )
    parser.add_argument(
        "--mode",
        choices=NLU_MODES,
        default=None,
        help="NLU gate: cross_validation (default of gates.yml, ~15 min unless cached) or holdout (fast)",
    )
    parser.add_argument(
        "--full-train",
        action="store_true",
        help="never fine-tune: train from scratch when training is needed",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="re-run every gate even if its result is cached"
    )
    parser.add_argument(
        "--no-deploy", action="store_true", help="run everything but do not put the result live"
    )
    parser.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    try:
        code, record, report = run_update(
            [p.expanduser().resolve() for p in args.pages],
            args.mode,
            not args.full_train,
            not args.no_cache,
            not args.no_deploy,
        )
    except GateConfigError as error:
        print(f"[oim] UPDATE NOT STARTED: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(summary_text(record.gates, report), file=sys.stderr)
    print(f"[oim] {record.outcome}: {record.message}", file=sys.stderr)
    return code
