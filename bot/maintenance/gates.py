"""Quality gates: the thresholds from gates.yml and the result of one gate.

Why: maintainers change a threshold in one YAML file (gates.yml at the repo root), never in code;
every check (update, evaluate, tests) reads it from here and reports its outcome the same way, so
that a failure always names the gate and the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.paths import repo_root

GATES_FILE = "gates.yml"
NLU_MODES = ("cross_validation", "holdout")

PASS, FAIL, SKIP = "pass", "fail", "skip"


class GateConfigError(Exception):
    """gates.yml is missing, unreadable or lacks a threshold."""


@dataclass(frozen=True)
class QASetGate:
    """One QA file of the QA gate: 'tuned' (tuned on) or 'holdout' (never tuned on)."""

    name: str
    file: str
    pass_rate_min: float

    @property
    def title(self) -> str:
        return "tuned set" if self.name == "tuned" else "held-out set"


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of every gate (see gates.yml for what each one means)."""

    min_examples_per_intent: int
    intents_without_examples: list[str]
    knowledge_max_problems: int
    rasa_validate_fail_on_warnings: bool
    nlu_default_mode: str
    nlu_folds: int
    nlu_cv_macro_f1_min: float
    nlu_holdout_file: str
    nlu_holdout_macro_f1_min: float
    nlu_intent_f1_warn_below: float
    stories_file: str
    stories_max_failed: int
    qa_file: str
    qa_pass_rate_min: float
    qa_holdout_file: str
    qa_holdout_pass_rate_min: float
    qa_category_pass_rate_min: float

    def nlu_macro_f1_min(self, mode: str) -> float:
        return self.nlu_cv_macro_f1_min if mode == "cross_validation" else self.nlu_holdout_macro_f1_min

    def qa_sets(self) -> list[QASetGate]:
        """The QA files the QA gate replays, each with its overall minimum (tuned set first)."""
        return [
            QASetGate("tuned", self.qa_file, self.qa_pass_rate_min),
            QASetGate("holdout", self.qa_holdout_file, self.qa_holdout_pass_rate_min),
        ]


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            raise GateConfigError(f"{GATES_FILE}: missing setting '{dotted}'")
        node = node[key]
    return node


def load_gate_config(root: Path | None = None) -> GateConfig:
    """Read gates.yml of the project at `root` (default: this repository)."""
    path = (root or repo_root()) / GATES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as error:
        raise GateConfigError(f"{path} is missing: it holds the quality thresholds") from error
    except yaml.YAMLError as error:
        raise GateConfigError(f"{path} is not valid YAML: {error}") from error
    mode = str(_get(data, "nlu.default_mode"))
    if mode not in NLU_MODES:
        raise GateConfigError(f"{GATES_FILE}: nlu.default_mode must be one of {NLU_MODES}, not {mode!r}")
    return GateConfig(
        min_examples_per_intent=int(_get(data, "training_data.min_examples_per_intent")),
        intents_without_examples=list(_get(data, "training_data.intents_without_examples") or []),
        knowledge_max_problems=int(_get(data, "knowledge.max_problems")),
        rasa_validate_fail_on_warnings=bool(_get(data, "rasa_data_validate.fail_on_warnings")),
        nlu_default_mode=mode,
        nlu_folds=int(_get(data, "nlu.folds")),
        nlu_cv_macro_f1_min=float(_get(data, "nlu.cross_validation.macro_f1_min")),
        nlu_holdout_file=str(_get(data, "nlu.holdout.file")),
        nlu_holdout_macro_f1_min=float(_get(data, "nlu.holdout.macro_f1_min")),
        nlu_intent_f1_warn_below=float(_get(data, "nlu.intent_f1_warn_below")),
        stories_file=str(_get(data, "stories.file")),
        stories_max_failed=int(_get(data, "stories.max_failed")),
        qa_file=str(_get(data, "qa.file")),
        qa_pass_rate_min=float(_get(data, "qa.pass_rate_min")),
        qa_holdout_file=str(_get(data, "qa.holdout_file")),
        qa_holdout_pass_rate_min=float(_get(data, "qa.holdout_pass_rate_min")),
        qa_category_pass_rate_min=float(_get(data, "qa.category_pass_rate_min")),
    )


@dataclass
class GateResult:
    """Outcome of one gate: status, a one-line summary with the numbers, and details for the report."""

    name: str
    status: str
    summary: str
    seconds: float = 0.0
    cached: bool = False
    problems: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    def line(self) -> str:
        """One line for the terminal: 'PASS  nlu (holdout): intent macro-F1 0.93 >= 0.90 ...'."""
        extra = " (cached)" if self.cached else ""
        return f"{self.status.upper():4}  {self.name}: {self.summary}{extra}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "seconds": round(self.seconds, 1),
            "cached": self.cached,
            "problems": self.problems,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        return cls(
            name=data["name"],
            status=data["status"],
            summary=data["summary"],
            seconds=float(data.get("seconds", 0.0)),
            cached=bool(data.get("cached", False)),
            problems=list(data.get("problems") or []),
            details=dict(data.get("details") or {}),
        )
