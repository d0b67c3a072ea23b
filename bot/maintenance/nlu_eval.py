"""NLU evaluation in two modes, both producing Rasa's own report files.

Why two modes: 5-fold cross-validation (`rasa test nlu --cross-validation`) is the honest measure
of the training data but trains five models (~15 min on 2 cores): maintainers run it with
`make evaluate`. The held-out mode has the candidate model parse tests/nlu_holdout.yml, messages
written apart from the training data, through a running server (seconds): the automated tests and
quick updates use it. Both write intent_report.json, intent_errors.json, intent_confusion_matrix.png
and intent_histogram.png with Rasa's code, so the report reads them the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.maintenance.candidate_stack import rasa_env
from bot.maintenance.gates import FAIL, PASS, GateConfig, GateResult

INTENT_REPORT = "intent_report.json"
INTENT_ERRORS = "intent_errors.json"
CONFUSION_MATRIX = "intent_confusion_matrix.png"
HISTOGRAM = "intent_histogram.png"
AVERAGES = ("macro avg", "weighted avg", "micro avg")
MAX_ERRORS_SHOWN = 40

# parse(text) -> Rasa's /model/parse result for one message.
Parser = Callable[[str], dict[str, Any]]


def run_cross_validation(root: Path, out_dir: Path, folds: int) -> None:
    """Rasa's own `rasa test nlu --cross-validation` on data/nlu with config.yml; report files in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "rasa",
        "test",
        "nlu",
        "--cross-validation",
        "--folds",
        str(folds),
        "--config",
        "config.yml",
        "--nlu",
        "data/nlu",
        "--out",
        str(out_dir),
    ]
    log = out_dir / "rasa-test-nlu.log"
    with log.open("wb") as handle:
        result = subprocess.run(command, cwd=root, env=rasa_env(), stdout=handle, stderr=subprocess.STDOUT)
    if result.returncode != 0 or not (out_dir / INTENT_REPORT).exists():
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise RuntimeError(
            f"rasa test nlu --cross-validation failed (exit {result.returncode}):\n" + "\n".join(tail)
        )


def holdout_messages(path: Path) -> list[tuple[str, str]]:
    """(text, intent) of every example of a Rasa NLU file (entity annotations removed)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(str(m.get("text")), str(m.get("intent"))) for m in data.intent_examples]


def run_holdout(parse: Parser, holdout: Path, out_dir: Path) -> None:
    """Parse every held-out message with the candidate; Rasa's evaluate_intents writes the report."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    from rasa.nlu.test import IntentEvaluationResult, evaluate_intents

    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for text, intent in holdout_messages(holdout):
        predicted = parse(text).get("intent") or {}
        results.append(
            IntentEvaluationResult(
                intent, predicted.get("name"), text, float(predicted.get("confidence") or 0.0)
            )
        )
    evaluate_intents(
        results, str(out_dir), successes=False, errors=True, disable_plotting=False, report_as_dict=True
    )


def read_intent_report(out_dir: Path, max_errors: int = MAX_ERRORS_SHOWN) -> dict[str, Any]:
    """Macro-F1, accuracy, per-intent rows (worst first) and misclassified messages."""
    report = json.loads((out_dir / INTENT_REPORT).read_text(encoding="utf-8"))
    rows = []
    for intent, values in report.items():
        if intent in AVERAGES or not isinstance(values, dict) or "f1-score" not in values:
            continue
        confused = values.get("confused_with") or {}
        rows.append(
            {
                "intent": intent,
                "precision": round(float(values["precision"]), 3),
                "recall": round(float(values["recall"]), 3),
                "f1": round(float(values["f1-score"]), 3),
                "support": int(values["support"]),
                "confused_with": dict(sorted(confused.items(), key=lambda kv: -kv[1])),
            }
        )
    rows.sort(key=lambda r: (r["f1"], r["intent"]))
    accuracy = report.get("accuracy")
    if not isinstance(accuracy, (int, float)):
        accuracy = (report.get("micro avg") or {}).get("f1-score")
    errors: list[dict[str, Any]] = []
    errors_file = out_dir / INTENT_ERRORS
    if errors_file.exists():
        for error in json.loads(errors_file.read_text(encoding="utf-8")):
            prediction = error.get("intent_prediction") or {}
            errors.append(
                {
                    "text": error.get("text"),
                    "expected": error.get("intent"),
                    "predicted": prediction.get("name"),
                    "confidence": round(float(prediction.get("confidence") or 0.0), 3),
                }
            )
        errors.sort(key=lambda e: -e["confidence"])
    return {
        "macro_f1": round(float(report["macro avg"]["f1-score"]), 4),
        "weighted_f1": round(float((report.get("weighted avg") or {}).get("f1-score", 0.0)), 4),
        "accuracy": round(float(accuracy or 0.0), 4),
        "examples": sum(r["support"] for r in rows),
        "intents": rows,
        "errors": errors[:max_errors],
        "errors_total": len(errors),
        "artifacts": {
            name: str(out_dir / name)
            for name in (INTENT_REPORT, INTENT_ERRORS, CONFUSION_MATRIX, HISTOGRAM)
            if (out_dir / name).exists()
        },
    }


def nlu_gate(mode: str, out_dir: Path, config: GateConfig, seconds: float) -> GateResult:
    """Pass when the intent macro-F1 reaches the threshold of gates.yml for this mode."""
    details = read_intent_report(out_dir)
    details["mode"] = mode
    details["results_dir"] = str(out_dir)
    minimum = config.nlu_macro_f1_min(mode)
    weak = [r for r in details["intents"] if r["f1"] < config.nlu.intent_f1_warn_below]
    details["weak_intents"] = [r["intent"] for r in weak]
    macro = details["macro_f1"]
    status = PASS if macro >= minimum else FAIL
    relation = ">=" if status == PASS else "<"
    summary = (
        f"intent macro-F1 {macro:.3f} {relation} {minimum:.2f} ({mode}, {details['examples']} messages, "
        f"accuracy {details['accuracy']:.3f})"
    )
    if weak:
        summary += "; weakest: " + ", ".join(f"{r['intent']} {r['f1']:.2f}" for r in weak[:3])
    return GateResult(f"nlu ({mode})", status, summary, seconds=seconds, details=details)


def timed(function: Callable[[], None]) -> float:
    started = time.monotonic()
    function()
    return time.monotonic() - started
