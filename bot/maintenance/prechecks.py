"""Checks that take seconds and run before anything is trained or ingested.

Why: a broken update (a YAML typo, an intent with one example, an intent missing from the domain)
must be rejected in seconds with a message naming the file and line or the intent, not after a
3-minute training that fails obscurely or a cross-validation that silently drops the intent.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import yaml

from bot.maintenance.gates import FAIL, PASS, GateConfig, GateResult

# Project YAML files a maintainer may edit; folders are searched recursively.
YAML_LOCATIONS = (
    "domain.yml",
    "config.yml",
    "credentials.yml",
    "endpoints.yml",
    "endpoints.redis.yml",
    "gates.yml",
    "data",
    "tests",
)
NLU_DIR = "data/nlu"
_EXAMPLE_LINE = re.compile(r"^\s*-\s+\S")


def yaml_files(root: Path, locations: Iterable[str] = YAML_LOCATIONS) -> list[Path]:
    """Every .yml/.yaml file under the given locations of the project, sorted."""
    found: list[Path] = []
    for name in locations:
        path = root / name
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
        elif path.is_file():
            found.append(path)
    return sorted(found)


def yaml_problem(path: Path, root: Path) -> str | None:
    """A readable message if the file is not valid UTF-8 YAML, else None."""
    relative = path.relative_to(root)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return f"{relative}: not UTF-8 (byte offset {error.start}); save it as UTF-8"
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        return f"{relative}:{where}: invalid YAML ({problem})"
    return None


def domain_intents(root: Path) -> list[str]:
    """Intent names declared in domain.yml (plain names or {name: {...}} items)."""
    data = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8")) or {}
    names: list[str] = []
    for item in data.get("intents") or []:
        names.append(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


def count_examples(text: str) -> int:
    """Examples in a Rasa `examples: |` block (one '- ' line each)."""
    return sum(1 for line in text.splitlines() if _EXAMPLE_LINE.match(line))


def nlu_example_counts(root: Path) -> dict[str, int]:
    """Number of NLU training examples per intent over data/nlu/*.yml."""
    counts: Counter = Counter()
    for path in yaml_files(root, (NLU_DIR,)):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if not isinstance(block, dict) or "intent" not in block:
                continue
            examples = block.get("examples") or ""
            if isinstance(examples, list):  # the long form: a list of {text: ...}
                counts[str(block["intent"])] += len(examples)
            else:
                counts[str(block["intent"])] += count_examples(str(examples))
    return dict(counts)


def check_training_data(root: Path, config: GateConfig) -> GateResult:
    """YAML syntax everywhere, then intents against the domain and the minimum example count."""
    started = time.monotonic()
    files = yaml_files(root)
    problems = [p for p in (yaml_problem(path, root) for path in files) if p]
    if problems:
        return GateResult(
            "training data",
            FAIL,
            f"{len(problems)} file(s) with invalid YAML: {problems[0]}",
            seconds=time.monotonic() - started,
            problems=problems,
        )
    declared = domain_intents(root)
    counts = nlu_example_counts(root)
    minimum = config.training_data.min_examples_per_intent
    for intent in declared:
        if intent in config.training_data.intents_without_examples:
            continue
        have = counts.get(intent, 0)
        if have < minimum:
            problems.append(
                f"intent '{intent}' has {have} NLU example(s) in {NLU_DIR}/, at least {minimum} are "
                f"needed (gates.yml training_data.min_examples_per_intent)"
            )
    for intent in sorted(set(counts) - set(declared)):
        problems.append(f"intent '{intent}' has NLU examples but is not listed under intents: in domain.yml")
    details = {"yaml_files": len(files), "intents": len(declared), "examples": counts}
    seconds = time.monotonic() - started
    if problems:
        return GateResult(
            "training data",
            FAIL,
            f"{len(problems)} problem(s): {problems[0]}",
            seconds=seconds,
            problems=problems,
            details=details,
        )
    fewest = min((counts.get(i, 0), i) for i in declared if i not in config.training_data.intents_without_examples)
    return GateResult(
        "training data",
        PASS,
        f"{len(files)} YAML files parse; {len(declared)} intents, each with >= {minimum} examples "
        f"(fewest: {fewest[1]} with {fewest[0]})",
        seconds=seconds,
        details=details,
    )
