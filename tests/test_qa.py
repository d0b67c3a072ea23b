"""The conversation QA sets, played over the REST channel against the real servers.

Both files of the QA gate (gates.yml, `qa`): tests/qa/questions.yml (tuned on, `qa.pass_rate_min`)
and tests/qa/holdout.yml (written blind, never tuned on, `qa.holdout_pass_rate_min`). The pass rate
of each file is asserted against the same thresholds as `bot update`; each file's table of pass rates
by category is printed (run with -s or see the CI log). Every failure is listed (question, expected,
got) in the assertion message and in results/qa_failures.yml, so a red run says exactly what to fix.

Replayed as `bot update` replays them (gates.yml, `holdout_sample_every`): the tuned file in full,
the held-out file (over 7,000 conversations; 6,000 replayed whole took 7 of the suite's 16 minutes)
on its spread sample first (1 item in 6: ~1,270; 1 in 8 was too few to be conclusive against the
94 % floor), the rest only when the sample is not conclusive (evaluate.replay_qa_sets). `OIM_QA_FULL=1 make test` replays both files whole, like `make evaluate`.
"""

from __future__ import annotations

import os

import yaml

from bot.knowledge.paths import repo_root
from bot.maintenance.evaluate import qa_gate, replay_qa_sets
from bot.maintenance.gates import load_gate_config
from bot.maintenance.qa_set import category_table, load_items
from tests.stack import RasaServer

CONFIG = load_gate_config(repo_root())  # the same thresholds as `bot update`
REPLAYED = CONFIG.qa_sets(sample=os.environ.get("OIM_QA_FULL") != "1")


def test_qa_sets_are_large_sourced_and_categorised() -> None:
    tuned = load_items(repo_root() / CONFIG.qa.file)
    assert len(tuned) >= 100
    assert len([i for i in tuned if i.source]) >= 60
    holdout = load_items(repo_root() / CONFIG.qa.holdout_file)
    assert len(holdout) >= 100
    for item in tuned + holdout:
        assert item.expect_all or item.expect_any or item.forbid, item.id
        assert item.category != "other", f"{item.id} has no category"
    shared = {i.id for i in tuned} & {i.id for i in holdout}
    assert not shared, f"item ids in both QA files: {sorted(shared)}"


def test_conversation_qa_over_rest(stack: RasaServer) -> None:
    items = {gate.name: load_items(repo_root() / gate.file) for gate in REPLAYED}
    runs, sampled = replay_qa_sets(REPLAYED, items, stack.send, CONFIG.qa.category_pass_rate_min)
    failures = [(gate, o) for gate, outcomes in runs for o in outcomes if not o.passed]
    results = repo_root() / "results"
    results.mkdir(exist_ok=True)
    (results / "qa_failures.yml").write_text(
        yaml.safe_dump(
            [o.to_dict() | {"set": gate.name} for gate, o in failures], allow_unicode=True, sort_keys=False
        ),
        encoding="utf-8",
    )
    for gate, outcomes in runs:
        passed = sum(o.passed for o in outcomes)
        print(f"\nQA {gate.title} ({gate.file}): {passed}/{len(outcomes)} passed\n{category_table(outcomes)}")
    verdict = qa_gate(runs, CONFIG.qa.category_pass_rate_min, sampled=sampled)
    print(f"\nQA gate: {verdict.line()}")
    below = [
        f"{row['title']} {row['pass_rate']:.1%} < {row['pass_rate_min']:.1%}"
        for row in verdict.details["sets"]
        if not row["met"]
    ]
    details = "\n".join(
        f"- [{gate.name}/{o.item.category}] {o.item.id}: {' / '.join(o.item.turns)} -> {'; '.join(o.reasons)}"
        f"\n    got: {o.reply[:300]!r}"
        for gate, o in failures
    )
    assert not below, f"QA pass rate below gates.yml: {', '.join(below)}\n{details}"
