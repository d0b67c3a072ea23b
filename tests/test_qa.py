"""The conversation QA set, played over the REST channel against the real servers.

Gate: the pass rate of gates.yml (`qa.pass_rate_min`, 95 %). Every failure is listed (question, expected, got) in the
assertion message and in results/qa_failures.yml, so a red run says exactly what to fix.
"""

from __future__ import annotations

import yaml

from bot.paths import repo_root
from bot.qa_set import load_items, run_items
from tests.stack import RasaServer

GATES = yaml.safe_load((repo_root() / "gates.yml").read_text(encoding="utf-8"))
QA_FILE = repo_root() / GATES["qa"]["file"]
MIN_PASS_RATE = float(GATES["qa"]["pass_rate_min"])  # the same bar as `bot update`


def test_qa_set_is_large_and_sourced() -> None:
    items = load_items(QA_FILE)
    assert len(items) >= 100
    factual = [i for i in items if i.source]
    assert len(factual) >= 60
    assert all(i.expect_all or i.expect_any or i.forbid for i in items)


def test_conversation_qa_over_rest(stack: RasaServer) -> None:
    items = load_items(QA_FILE)
    outcomes = run_items(items, stack.send)
    failures = [o for o in outcomes if not o.passed]
    rate = 1 - len(failures) / len(outcomes)
    results = repo_root() / "results"
    results.mkdir(exist_ok=True)
    (results / "qa_failures.yml").write_text(
        yaml.safe_dump([f.to_dict() for f in failures], allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    print(f"\nQA set: {len(outcomes) - len(failures)}/{len(outcomes)} passed ({rate:.1%})")
    details = "\n".join(
        f"- {f.item.id}: {' / '.join(f.item.turns)} -> {'; '.join(f.reasons)}\n    got: {f.reply[:300]!r}"
        for f in failures
    )
    assert rate >= MIN_PASS_RATE, f"QA pass rate {rate:.1%} < {MIN_PASS_RATE:.0%}\n{details}"
