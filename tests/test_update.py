"""Maintainers' loop end to end: `python -m bot update` / `rollback` on a copy of the project.

A copy of the project (tracked and untracked files, without .venv, models, results, reports) is
served by a real action server + Rasa server started from the copy. Broken updates are rejected
early with a clear message while the old model keeps serving; a new (fictional) page goes live
through the real pipeline (ingest, validation, cached model, held-out NLU, test stories, QA set on
a private server, deployment) and the running assistant answers from it at once; a rollback
removes it again. The model is a cache hit (only knowledge changes), which keeps this to minutes;
one test trains: a question filed from the staff console's inbox as an NLU example goes live
through `bot update --mode holdout` and is then understood (the end of tests/test_browser.py's
inbox test, which writes the example in Chromium).

The copy's QA set is a spread sample of the real one (every QA_SAMPLE_EVERY-th item of each
category): the loop is the point here, not the QA score; the whole QA set is replayed over REST once
in the suite, by tests/test_qa.py. Each test brings the copy to the state it needs (deployed or not,
the cached model live), so the tests pass in any order and on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.knowledge.paths import KNOWLEDGE_DIR_ENV, PAGES_DIR_ENV, pages_dir
from bot.knowledge.yamlio import load_yaml
from bot.maintenance.model_cache import cache_root, model_hash
from bot.maintenance.qa_set import QAOutcome, load_items, run_items, scores_by_category, spread_sample
from tests.project_copy import copy_project
from tests.stack import (
    ActionServer,
    RasaServer,
    base_env,
    free_port,
    start_all,
    stop_all,
    write_sqlite_endpoints,
)

PAGE_NAME = "900_test_passerelles_competences.txt"
PAGE_STEM = PAGE_NAME.removesuffix(".txt")
TEST_EMAIL = "passerelles-test@example.org"
# Fictional test content (the page says so itself); the e-mail is at example.org, no phone.
PAGE_BODY = """Passerelles Compétences : programme pilote (page de test fictive)
Cette page est un contenu de test fictif écrit pour les essais automatiques de l'assistant ; elle ne décrit aucun programme réel de l'OIM.
Le programme pilote Passerelles Compétences accompagne les jeunes diplômés migrants vers un premier emploi grâce à des ateliers de mentorat organisés dans trois villes d'accueil.
Les ateliers de mentorat Passerelles Compétences durent six semaines et sont ouverts aux participants inscrits par les services locaux partenaires.
Pour toute question sur le programme Passerelles Compétences, veuillez écrire à l'équipe du programme à l'adresse : {email}.
"""
NEW_QUESTION = "Passerelles Compétences ateliers de mentorat ?"
CONTACT_QUESTION = "comment contacter l'équipe du programme Passerelles Compétences ?"
QA_SAMPLE_EVERY = 10
# Loading a model blocks the Rasa server's event loop: messages sent meanwhile wait for it.
SWAP_WAIT_S = 300


def page_text() -> str:
    """The site navigation of a real page (as the real pages have it) + the fictional body."""
    lines = (pages_dir() / "004_14400cae3f378927.txt").read_text(encoding="utf-8").splitlines()
    header = lines[: lines.index("- 2030 AGENDA") + 1]
    return "\n".join(header) + "\n" + PAGE_BODY.format(email=TEST_EMAIL)


@dataclass
class Live:
    """The copied project, its isolated cache, and the assistant serving it."""

    project: Path
    cache: Path
    incoming: Path
    rasa: RasaServer
    actions: ActionServer

    def env(self) -> dict[str, str]:
        env = base_env()
        env.update(
            PYTHONPATH=str(self.project),
            OIM_CACHE_DIR=str(self.cache),
            OIM_RASA_URL=self.rasa.url,
            OIM_RASA_TOKEN=self.rasa.token,
        )
        env.pop(KNOWLEDGE_DIR_ENV, None)  # the copy's own data/knowledge and data/pages
        env.pop(PAGES_DIR_ENV, None)
        return env

    def bot(self, *args: str, timeout_s: float = 900) -> subprocess.CompletedProcess:
        """`python -m bot <args>` run from the copy, as a maintainer would."""
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=self.project,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        print(
            f"\n$ python -m bot {' '.join(args)}  -> exit {result.returncode} in {time.monotonic() - started:.0f} s"
        )
        print(result.stderr[-3000:])
        return result

    def model_file(self) -> str:
        with urlopen_json(f"{self.rasa.url}/status?token={self.rasa.token}") as status:
            return str(status["model_file"])

    def reply(self, message: str) -> str:
        sender = f"update-test-{time.monotonic_ns()}"
        return "\n".join(self.rasa.texts(sender, message))

    def history(self) -> list[dict]:
        path = self.cache / "deployments.json"
        return json.loads(path.read_text(encoding="utf-8"))["deployments"] if path.exists() else []


@contextlib.contextmanager
def urlopen_json(url: str) -> Iterator[dict]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        yield json.loads(response.read())


@pytest.fixture(scope="module")
def live(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("update")
    project = copy_project(base / "project")
    assert model_path.name == f"{model_hash(project)}.tar.gz", "the copy must need the same model"
    cache = base / "cache"
    cache.mkdir()
    # Models are shared with the real cache (a cache hit, no training); history, snapshots,
    # staging and evaluation results are private to this test.
    (cache_root() / "models").mkdir(parents=True, exist_ok=True)
    (cache / "models").symlink_to(cache_root() / "models")
    # So is `rasa data validate` on the same model inputs (tests/test_foundation.py stores it in the
    # real cache): keyed by their hash, it is the same result; absent, `bot update` computes it.
    validated = cache_root() / "evaluations" / f"rasa-validate-{model_hash(project)}"
    if validated.is_dir():
        (cache / "evaluations").mkdir()
        shutil.copytree(validated, cache / "evaluations" / validated.name)
    incoming = base / "incoming"
    incoming.mkdir()
    sample_qa_sets(project)

    env = base_env()
    env.update(PYTHONPATH=str(project), **{KNOWLEDGE_DIR_ENV: str(project / "data" / "knowledge")})
    actions = ActionServer(port=free_port(), log_path=base / "actions.log", env=env)
    endpoints = write_sqlite_endpoints(base / "endpoints.yml", actions.url, base / "trackers.db")
    rasa = RasaServer(
        port=free_port(), model=model_path, endpoints=endpoints, log_path=base / "rasa.log", env=env
    )
    try:
        start_all(actions, rasa)
        yield Live(project, cache, incoming, rasa, actions)
    finally:
        stop_all(rasa, actions)


def sample_qa_sets(project: Path, every: int = QA_SAMPLE_EVERY) -> None:
    """Keep every `every`-th item of each category (at least one) in the copy's QA files."""
    for path in sorted((project / "tests" / "qa").glob("*.yml")):
        data = load_yaml(path)
        if not isinstance(data, dict) or not data.get("items"):
            continue
        data["items"] = spread_sample(data["items"], every, lambda item: str(item.get("category")))
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def deployed(live: Live) -> bool:
    """The test page is live: the last deployment recorded is an update."""
    history = live.history()
    return bool(history) and history[-1]["action"] == "update"


def run_update(live: Live) -> subprocess.CompletedProcess:
    page = live.incoming / PAGE_NAME
    page.write_text(page_text(), encoding="utf-8")
    return live.bot("update", str(page), "--mode", "holdout")


def ensure_cached_model_live(live: Live) -> None:
    """The cached model is the one served (test_model_swap_keeps_answering_during_the_load swaps in a copy)."""
    from bot.maintenance.deploy import go_live

    if live.model_file() != live.rasa.model.name:
        knowledge, pages = live.project / "data" / "knowledge", live.project / "data" / "pages"
        go_live(live.rasa.model, knowledge, pages, [live.rasa.url], live.rasa.token, knowledge, pages)
        assert live.model_file() == live.rasa.model.name


def ensure_not_deployed(live: Live) -> None:
    """The copy as it was copied: the test page not live (rolled back if a test put it live)."""
    ensure_cached_model_live(live)
    if deployed(live):
        result = live.bot("rollback")
        assert result.returncode == 0, result.stderr
        time.sleep(1.5)  # the action server checks the knowledge files at most once a second
    assert not (live.project / "data" / "pages" / PAGE_NAME).exists()


def ensure_deployed(live: Live) -> None:
    """The test page live through `bot update` (run here unless a test already did)."""
    ensure_cached_model_live(live)
    if not deployed(live):
        result = run_update(live)
        assert result.returncode == 0, result.stderr
        time.sleep(1.5)
    assert (live.project / "data" / "pages" / PAGE_NAME).exists()


@contextlib.contextmanager
def edited(path: Path, text: str) -> Iterator[None]:
    """Replace (or create) a file for the duration of a test."""
    original = path.read_bytes() if path.exists() else None
    path.write_text(text, encoding="utf-8")
    try:
        yield
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)


def _bad_yaml(project: Path) -> tuple[Path, str]:
    path = project / "data" / "nlu" / "chitchat.yml"
    return path, path.read_text(encoding="utf-8") + "\n- intent: greet\n  examples: [pas fermé\n"


def _bad_quote(project: Path) -> tuple[Path, str]:
    path = sorted((project / "data" / "knowledge" / "entries").glob("*.yml"))[0]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["entries"][0]["facts"][0]["quote"] = "Cette citation n'apparaît dans aucune page de l'OIM"
    from bot.knowledge.yamlio import dump_yaml

    return path, dump_yaml(data)


def _one_example(project: Path) -> tuple[Path, str]:
    domain = project / "domain.yml"
    text = domain.read_text(encoding="utf-8").replace(
        "  - ask_contact\n", "  - ask_contact\n  - ask_test_single\n", 1
    )
    domain.write_text(text, encoding="utf-8")  # restored by the test
    path = project / "data" / "nlu" / "test_single.yml"
    return (
        path,
        'version: "3.1"\nnlu:\n- intent: ask_test_single\n  examples: |\n    - une seule question de test\n',
    )


BROKEN = {
    "bad_yaml": (_bad_yaml, "training data", ["data/nlu/chitchat.yml", "line", "invalid YAML"]),
    "quote_not_in_source": (_bad_quote, "knowledge", ["quote not found in passage"]),
    "intent_with_one_example": (
        _one_example,
        "training data",
        ["'ask_test_single' has 1 NLU example(s)", "at least 5"],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_update_is_rejected_and_old_model_keeps_serving(live: Live, case: str) -> None:
    make, gate, words = BROKEN[case]
    ensure_not_deployed(live)
    history_before = live.history()
    model_before = live.model_file()
    domain_before = (live.project / "domain.yml").read_bytes()
    knowledge_before = sorted(p.name for p in (live.project / "data" / "knowledge" / "passages").iterdir())
    path, text = make(live.project)
    page = live.incoming / PAGE_NAME
    page.write_text(page_text(), encoding="utf-8")
    try:
        with edited(path, text):
            result = live.bot("update", str(page), "--mode", "holdout")
    finally:
        (live.project / "domain.yml").write_bytes(domain_before)
    assert result.returncode == 1
    assert f"REJECTED: gate '{gate}' failed" in result.stderr
    for word in words:
        assert word in result.stderr
    assert "keeps serving its current model" in result.stderr
    # Nothing changed: same model, no new page or passages, nothing recorded, still answering.
    assert live.model_file() == model_before
    assert not (live.project / "data" / "pages" / PAGE_NAME).exists()
    assert (
        sorted(p.name for p in (live.project / "data" / "knowledge" / "passages").iterdir())
        == knowledge_before
    )
    assert live.history() == history_before
    assert "Bonjour" in live.reply("bonjour")
    report = (live.project / "reports" / "latest" / "report.md").read_text(encoding="utf-8")
    assert "**REJECTED**" in report and f"| {gate} | **FAIL** |" in report


# Old held-out answers a new page may cost in the copy's QA gate: the page's sentences join the
# ranking's word statistics, and one borderline item of the ~1,000 sampled can flip (2026-12-07:
# ho94-003, "qui aide les équipes de l'OIM à organiser les transports ?", lost to the summary once
# the test page was in). The tuned set stays strict (its regressions are asserted one by one below).
HOLDOUT_ITEMS_A_PAGE_MAY_COST = 1


def set_qa_threshold(project: Path, outcomes: dict[str, list[QAOutcome]]) -> dict[str, float]:
    """The copy's QA gate asks for at least the pass rates the live assistant has now (no regression):
    each file's (outcomes by file: tuned, holdout; the held-out file less HOLDOUT_ITEMS_A_PAGE_MAY_COST
    items) and the lowest category's."""

    def floor(rate: float) -> float:
        return int(rate * 1000) / 1000

    def rate(passed_total: tuple[int, int]) -> float:
        return passed_total[0] / passed_total[1]

    passed, total = scores_by_category(outcomes["holdout"])["all"]

    scores = {name: scores_by_category(found) for name, found in outcomes.items()}
    minimum = {
        "pass_rate_min": floor(rate(scores["tuned"]["all"])),
        "holdout_pass_rate_min": floor(rate((passed - HOLDOUT_ITEMS_A_PAGE_MAY_COST, total))),
        "category_pass_rate_min": floor(
            min(rate(row) for table in scores.values() for row in table.values())
        ),
    }
    path = project / "gates.yml"
    gates = yaml.safe_load(path.read_text(encoding="utf-8"))
    gates["qa"].update(minimum)
    path.write_text(yaml.safe_dump(gates, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return minimum


def test_update_with_a_new_page_goes_live_without_downtime(live: Live) -> None:
    ensure_not_deployed(live)
    history_before = live.history()
    model_before = live.model_file()
    assert TEST_EMAIL not in live.reply(CONTACT_QUESTION)
    items = load_items(live.project / "tests" / "qa" / "questions.yml")
    outcomes = {"tuned": run_items(items, live.rasa.send)}
    outcomes["holdout"] = run_items(load_items(live.project / "tests" / "qa" / "holdout.yml"), live.rasa.send)
    before = {o.item.id: o.passed for o in outcomes["tuned"]}
    # This test is about the loop, not about today's QA score (the real bar is gates.yml's): the
    # copy's QA gate requires the live pass rates, so the new page may not break any old answer.
    minimum = set_qa_threshold(live.project, outcomes)
    print(f"\nlive QA pass rates before the update (the copy's QA gate thresholds): {minimum}")

    result = run_update(live)
    assert result.returncode == 0, result.stderr
    assert "DEPLOYED" in result.stderr
    assert "reused from the cache" in result.stderr

    # The page and its knowledge are in place; the running assistant uses them at once.
    assert (live.project / "data" / "pages" / PAGE_NAME).read_text(encoding="utf-8") == page_text()
    assert (live.project / "data" / "knowledge" / "passages" / f"{PAGE_STEM}.yml").exists()
    time.sleep(1.5)  # the action server checks the knowledge files at most once a second
    assert TEST_EMAIL in live.reply(CONTACT_QUESTION)
    assert "Passerelles Compétences" in live.reply(NEW_QUESTION)

    # Old answers still pass on the live server (the copy's QA sample, which the QA gate also
    # replayed on the candidate); the model did not change (knowledge-only update).
    after = {o.item.id: o.passed for o in run_items(items, live.rasa.send)}
    regressions = [item for item, passed in after.items() if before[item] and not passed]
    assert regressions == []
    assert live.model_file() == model_before

    # Recorded for rollback: the state before (a baseline, on the first deployment) and this update.
    history = live.history()
    added = [d["action"] for d in history[len(history_before):]]
    assert added == (["update"] if history_before else ["baseline", "update"])
    assert history[-1]["previous"] == history[-2]["id"]

    # The report shows the gates, the knowledge change and Rasa's NLU plots.
    latest = live.project / "reports" / "latest"
    report = (latest / "report.md").read_text(encoding="utf-8")
    assert "**DEPLOYED**" in report
    for gate in (
        "pages",
        "training data",
        "ingest",
        "knowledge",
        "rasa data validate",
        "nlu (holdout)",
        "stories",
        "qa",
    ):
        assert f"| {gate} | **PASS** |" in report or f"| {gate} | **SKIP** |" in report, gate
    assert "passerelles_test_example_org" in report
    assert f"added | passages | {PAGE_STEM}.p" in report
    assert (latest / "nlu" / "intent_confusion_matrix.png").stat().st_size > 0
    assert (latest / "nlu" / "intent_histogram.png").stat().st_size > 0
    assert (latest / "report.html").exists()
    record = json.loads((latest / "record.json").read_text(encoding="utf-8"))
    print(f"update durations (s): {record['durations']}")


# A question the model sends to the fallback (0.5 "nlu_fallback" on 2026-12-04); staff file it
# under the intent that answers it.
INBOX_QUESTION = "vous donnez des tickets de train"
INBOX_INTENT = "ask_movement_assistance"


def intent_of(live: Live, text: str) -> str:
    """What the live assistant understood of `text`, asked in a conversation of its own."""
    sender = f"update-inbox-{time.monotonic_ns()}"
    assert live.rasa.texts(sender, text)  # answered, and stored in the live tracker store
    return str(live.rasa.tracker(sender)["latest_message"]["intent"]["name"])


async def file_inbox_line(live: Live, text: str, intent: str) -> dict:
    """Through the staff console's JSON API, as /staff/inbox does: find the line, write the example."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.serving.web.app import create_app
    from bot.serving.web.config import WebConfig
    from bot.serving.web.inbox_views import INBOX_PROJECT

    token = "update-inbox-staff-token-0123456789"
    config = WebConfig(endpoints=live.rasa.endpoints, staff_token=token, rasa_urls=(live.rasa.url,),
                       actions_url=live.actions.url, retention_days=0)
    app = create_app(config)
    app[INBOX_PROJECT] = live.project
    bearer = {"Authorization": f"Bearer {token}"}
    async with TestClient(TestServer(app)) as client:
        inbox = await (await client.get("/api/staff/inbox", headers=bearer)).json()
        line = next(line for line in inbox["lines"] if text in [v["text"] for v in line["variants"]])
        assert line["reasons"].get("fallback") or line["reasons"].get("low_confidence"), line
        variant = 1 + [v["text"] for v in line["variants"]].index(text)
        written = await client.post("/api/staff/inbox/nlu", headers=bearer,
                                    json={"key": line["key"], "variant": variant, "intent": intent})
        assert written.status == 200, await written.text()
        return await written.json()


def test_an_inbox_line_becomes_an_example_the_next_update_trains_and_puts_live(live: Live) -> None:
    """The maintainers' loop of the inbox: a question the assistant did not understand, filed by
    staff as an example of an intent (data/nlu/inbox.yml), is understood once `bot update --mode
    holdout` has trained on it, gated it and put the model live: no restart, no manual step."""
    from bot.serving.inbox_files import NLU_FILE

    ensure_not_deployed(live)
    model_before = live.model_file()
    assert intent_of(live, INBOX_QUESTION) != INBOX_INTENT
    nlu_file, gates = live.project / NLU_FILE, live.project / "gates.yml"
    assert not nlu_file.exists()
    gates_before = gates.read_bytes()
    try:
        written = asyncio.run(file_inbox_line(live, INBOX_QUESTION, INBOX_INTENT))
        assert written["file"] == str(NLU_FILE) and written["text"] == INBOX_QUESTION
        # The loop is the point here, not the sampled QA score of a retrained model (the QA set's
        # own bar is gates.yml's, replayed in full by tests/test_qa.py).
        config = yaml.safe_load(gates_before)
        config["qa"].update(pass_rate_min=0.5, holdout_pass_rate_min=0.5, category_pass_rate_min=0.0)
        gates.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")

        result = live.bot("update", "--mode", "holdout")
        assert result.returncode == 0, result.stderr
        assert "DEPLOYED" in result.stderr and "reused from the cache (training data unchanged)" not in result.stderr
        assert live.model_file() != model_before
        assert intent_of(live, INBOX_QUESTION) == INBOX_INTENT
        assert "Bonjour" in live.reply("bonjour")
    finally:
        nlu_file.unlink(missing_ok=True)  # the copy needs the cached model again for the other tests
        gates.write_bytes(gates_before)
    ensure_not_deployed(live)  # rolled back: the cached model and the knowledge before
    assert live.model_file() == model_before


def test_rollback_restores_the_previous_knowledge(live: Live) -> None:
    ensure_deployed(live)
    assert TEST_EMAIL in live.reply(CONTACT_QUESTION)
    history = live.history()
    previous = history[-1]["previous"]
    result = live.bot("rollback")
    assert result.returncode == 0, result.stderr
    assert f"rolled back to deployment {previous}" in result.stderr
    assert not (live.project / "data" / "pages" / PAGE_NAME).exists()
    assert not (live.project / "data" / "knowledge" / "passages" / f"{PAGE_STEM}.yml").exists()
    time.sleep(1.5)
    assert TEST_EMAIL not in live.reply(CONTACT_QUESTION)
    assert "Bonjour" in live.reply("bonjour")
    last = live.history()[-1]
    assert last["action"] == "rollback" and last["restores"] == previous
    assert os.path.basename(last["model"]) == live.model_file()


def test_model_swap_keeps_answering_during_the_load(live: Live, tmp_path: Path) -> None:
    """PUT /model through bot.maintenance.deploy while users keep talking: no message is lost or refused.

    Rasa loads the new model inside its event loop: messages that arrive meanwhile wait for the
    load to finish (the slowest wait is printed), then are answered; none gets an error.
    """
    from concurrent.futures import ThreadPoolExecutor

    from bot.maintenance.deploy import go_live

    current = live.model_file()
    other = tmp_path / f"swap-{current}"  # the same model under another name: a real load and swap
    shutil.copy2(live.rasa.model, other)
    knowledge = live.project / "data" / "knowledge"
    pages = live.project / "data" / "pages"
    latencies: list[float] = []
    stop = time.monotonic() + 600

    def talk() -> None:
        while time.monotonic() < stop:
            began = time.monotonic()
            messages = live.rasa.send(f"swap-{time.monotonic_ns()}", "bonjour", timeout_s=SWAP_WAIT_S)
            assert any("Bonjour" in str(m.get("text")) for m in messages)
            latencies.append(time.monotonic() - began)
            time.sleep(0.2)

    with ThreadPoolExecutor(max_workers=1) as pool:
        talking = pool.submit(talk)
        time.sleep(1)
        outcome = go_live(other, knowledge, pages, [live.rasa.url], live.rasa.token, knowledge, pages)
        stop = time.monotonic() + 2  # a few more messages on the new model
        talking.result(timeout=SWAP_WAIT_S)
    assert outcome.model_loaded and outcome.server_running
    assert live.model_file() == other.name
    assert len(latencies) >= 3
    print(
        f"\nswap took {outcome.seconds:.1f} s; {len(latencies)} messages during it, all answered, slowest {max(latencies):.1f} s"
    )


def test_deploy_without_a_running_server_records_and_says_so(live: Live) -> None:
    """No Rasa server at the URL: files are still put in place and the message says so."""
    from bot.maintenance.deploy import go_live

    model = Path(live.rasa.model)
    knowledge = live.project / "data" / "knowledge"
    pages = live.project / "data" / "pages"
    # The copy's own folders are the live ones here (never this repository's data/).
    staged = live.incoming / "staged-knowledge"
    shutil.copytree(knowledge, staged)
    (staged / "README.txt").write_text("fichier de test\n", encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    outcome = go_live(model, staged, pages, [url], "any-token", knowledge, pages)
    assert not outcome.server_running and not outcome.model_loaded
    assert outcome.knowledge_changed == ["README.txt"]
    assert (knowledge / "README.txt").exists()
    (knowledge / "README.txt").unlink()
    assert "no Rasa server answers" in outcome.message and "next `make run`" in outcome.message
