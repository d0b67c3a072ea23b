"""Quality gates: the thresholds from gates.yml and the result of one gate.

Why: maintainers change a threshold in one YAML file (gates.yml at the repo root), never in code;
every check (update, evaluate, tests) reads it from here and reports its outcome the same way, so
that a failure always names the gate and the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError, confloat, conint, validator

from bot.knowledge.paths import repo_root

GATES_FILE = "gates.yml"
NLU_MODES = ("cross_validation", "holdout")

PASS, FAIL, SKIP = "pass", "fail", "skip"


class GateConfigError(Exception):
    """gates.yml is missing, unreadable, or a threshold is missing, unknown or out of range."""


@dataclass(frozen=True)
class QASetGate:
    """One QA file of the QA gate: 'tuned' (tuned on) or 'holdout' (never tuned on)."""

    name: str
    file: str
    pass_rate_min: float
    sample_every: int = 1  # replayed first on every n-th item of each category (evaluate.replay_qa_sets)

    @property
    def title(self) -> str:
        return "tuned set" if self.name == "tuned" else "held-out set"


class _Section(BaseModel):
    class Config:
        extra = "forbid"  # a misspelt threshold is an error, not a silently ignored line
        frozen = True


Rate = confloat(ge=0, le=1)


class TrainingDataGates(_Section):
    min_examples_per_intent: conint(ge=1)  # type: ignore[valid-type]
    intents_without_examples: list[str]

    @validator("intents_without_examples", pre=True)
    def _none_is_empty(cls, value: Any) -> Any:  # noqa: N805 - pydantic validators are class methods
        return [] if value is None else value


class KnowledgeGates(_Section):
    max_problems: conint(ge=0)  # type: ignore[valid-type]


class RasaDataValidateGates(_Section):
    fail_on_warnings: bool


class CrossValidationGates(_Section):
    macro_f1_min: Rate  # type: ignore[valid-type]


class HoldoutGates(_Section):
    file: str
    macro_f1_min: Rate  # type: ignore[valid-type]


class NluGates(_Section):
    default_mode: Literal["cross_validation", "holdout"]
    folds: conint(ge=2)  # type: ignore[valid-type]
    cross_validation: CrossValidationGates
    holdout: HoldoutGates
    intent_f1_warn_below: Rate  # type: ignore[valid-type]


class StoriesGates(_Section):
    file: str
    max_failed: conint(ge=0)  # type: ignore[valid-type]


class QAGates(_Section):
    file: str
    pass_rate_min: Rate  # type: ignore[valid-type]
    holdout_file: str
    holdout_pass_rate_min: Rate  # type: ignore[valid-type]
    category_pass_rate_min: Rate  # type: ignore[valid-type]
    holdout_sample_every: conint(ge=1) = 1  # type: ignore[valid-type]


class GateConfig(_Section):
    """The schema of gates.yml: thresholds of every gate (gates.yml says what each one means)."""

    version: Literal[1] = 1
    training_data: TrainingDataGates
    knowledge: KnowledgeGates
    rasa_data_validate: RasaDataValidateGates
    nlu: NluGates
    stories: StoriesGates
    qa: QAGates

    def nlu_macro_f1_min(self, mode: str) -> float:
        nlu = self.nlu
        return float(nlu.cross_validation.macro_f1_min if mode == "cross_validation" else nlu.holdout.macro_f1_min)

    def qa_sets(self, sample: bool = False) -> list[QASetGate]:
        """The QA files the QA gate replays, each with its overall minimum (tuned set first); with
        `sample`, the held-out file is replayed on its spread sample first (`holdout_sample_every`)."""
        every = self.qa.holdout_sample_every if sample else 1
        return [
            QASetGate("tuned", self.qa.file, self.qa.pass_rate_min),
            QASetGate("holdout", self.qa.holdout_file, self.qa.holdout_pass_rate_min, every),
        ]


def _problem(error: Any) -> str:
    dotted = ".".join(str(part) for part in error["loc"])
    if error["type"] == "value_error.missing":
        return f"missing setting '{dotted}'"
    if error["type"] == "value_error.extra":
        return f"unknown setting '{dotted}'"
    return f"'{dotted}': {error['msg']}"


def load_gate_config(root: Path | None = None) -> GateConfig:
    """Read gates.yml of the project at `root` (default: this repository)."""
    path = (root or repo_root()) / GATES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as error:
        raise GateConfigError(f"{path} is missing: it holds the quality thresholds") from error
    except yaml.YAMLError as error:
        raise GateConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise GateConfigError(f"{path}: must be a mapping of settings")
    try:
        return GateConfig.parse_obj(data)
    except ValidationError as error:
        raise GateConfigError(f"{GATES_FILE}: " + "; ".join(_problem(e) for e in error.errors())) from None


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
