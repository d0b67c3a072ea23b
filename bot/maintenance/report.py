"""The report a maintainer reads after `bot update` or `bot evaluate`: reports/<time>/report.md (+ .html).

Why: maintainers are not Rasa experts. One page says whether the new content went live and, if
not, which gate stopped it with the numbers; what changed in the knowledge; how well intents are
recognised (per intent, with Rasa's confusion matrix and confidence histogram); which
conversations failed with what was expected and what the assistant said. reports/latest points at
the newest report and reports/index.md lists them all.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.maintenance.candidate_model import ModelBuild
from bot.maintenance.deploy import GoLive, now_id
from bot.maintenance.gates import GateResult
from bot.maintenance.knowledge_diff import KnowledgeDiff

TEMPLATES = Path(__file__).with_name("templates")

REPORTS_DIR = "reports"
MAX_DIFF_ROWS = 200
MAX_REPLY_CHARS = 400


@dataclass
class RunRecord:
    """Everything one update / evaluate run did, for the report."""

    kind: str  # update | evaluate
    root: Path
    id: str = field(default_factory=now_id)
    started: dt.datetime = field(default_factory=dt.datetime.now)
    outcome: str = ""
    message: str = ""
    nlu_mode: str = ""
    pages: list[str] = field(default_factory=list)
    model: ModelBuild | None = None
    gates: list[GateResult] = field(default_factory=list)
    diff: KnowledgeDiff | None = None
    live: GoLive | None = None
    durations: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "started": self.started.isoformat(timespec="seconds"),
            "outcome": self.outcome,
            "message": self.message,
            "nlu_mode": self.nlu_mode,
            "pages": self.pages,
            "model": self.model.to_dict() if self.model else None,
            "gates": [g.to_dict() for g in self.gates],
            "knowledge_diff": self.diff.to_dict() if self.diff else None,
            "deployment": {
                "message": self.live.message,
                "model_loaded": self.live.model_loaded,
                "server_running": self.live.server_running,
                "swap_seconds": round(self.live.seconds, 1),
                "knowledge_files_changed": self.live.knowledge_changed,
                "id": self.live.deployment.id if self.live.deployment else None,
                "previous": self.live.deployment.previous if self.live.deployment else None,
                "replicas": [replica.to_dict() for replica in self.live.replicas],
            }
            if self.live
            else None,
            "durations": {k: round(v, 1) for k, v in self.durations.items()},
        }


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


def _short(text: str, limit: int = MAX_REPLY_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _copy_artifacts(result: GateResult, folder: Path) -> dict[str, str]:
    """Copy a gate's files (PNG, JSON) next to the report; returns {name: relative path}."""
    copied: dict[str, str] = {}
    artifacts = result.details.get("artifacts") or {}
    if not artifacts:
        return copied
    target = folder / "nlu"
    target.mkdir(exist_ok=True)
    for name, source in artifacts.items():
        if Path(source).exists():
            shutil.copy2(source, target / name)
            copied[name] = f"nlu/{name}"
    return copied


def _gates_section(record: RunRecord) -> list[str]:
    lines = ["## Gates", "", "| gate | result | numbers | time |", "| --- | --- | --- | --- |"]
    for gate in record.gates:
        seconds = "cached" if gate.cached else f"{gate.seconds:.0f} s"
        lines.append(
            f"| {_cell(gate.name)} | **{gate.status.upper()}** | {_cell(gate.summary)} | {seconds} |"
        )
    if not record.gates:
        lines.append("| (none run) | | | |")
    for gate in record.gates:
        warnings = gate.details.get("warnings") if gate.status != "fail" else None
        if warnings and isinstance(warnings, list):
            lines += ["", f"Warnings of **{gate.name}** (accepted, see gates.yml):", ""]
            lines += [f"- {_cell(_short(str(w), 300))}" for w in warnings[:30]]
            if len(warnings) > 30:
                lines.append(f"- … and {len(warnings) - 30} more")
        if gate.status == "fail" and gate.problems:
            lines += ["", f"Problems found by **{gate.name}**:", ""]
            lines += [f"- {_cell(problem)}" for problem in gate.problems[:50]]
            if len(gate.problems) > 50:
                lines.append(f"- … and {len(gate.problems) - 50} more")
    return lines + [""]


def _diff_section(diff: KnowledgeDiff | None) -> list[str]:
    lines = ["## What changed in the knowledge", ""]
    if diff is None:
        return lines + ["Not computed in this run.", ""]
    lines.append(f"Compared with: {diff.baseline or 'nothing (first deployment)'}.")
    lines.append("")
    lines.append(f"Summary: {diff.summary()}.")
    if diff.empty:
        return lines + [""]
    lines += ["", "| change | what | id | file | detail |", "| --- | --- | --- | --- | --- |"]
    for change in diff.changes[:MAX_DIFF_ROWS]:
        lines.append(
            f"| {change.kind} | {change.collection} | {_cell(change.item)} | {_cell(change.file)} | {_cell(change.detail)} |"
        )
    if len(diff.changes) > MAX_DIFF_ROWS:
        lines.append(f"| … | {len(diff.changes) - MAX_DIFF_ROWS} more | | | |")
    return lines + [""]


def _model_section(record: RunRecord) -> list[str]:
    lines = ["## Model", ""]
    if record.model is None:
        return lines + ["No model was built or used (the run stopped before).", ""]
    model = record.model
    training = "none (cache hit)" if model.how == "cache" else f"{model.seconds:.0f} s ({model.how})"
    lines += [
        f"- {model.describe()}",
        f"- training time: {training}",
        f"- file: `{model.path}`",
    ]
    if model.note and model.how == "full":
        lines.append(f"- why not fine-tuned: {model.note}")
    return lines + [""]


def _nlu_section(result: GateResult, images: dict[str, str]) -> list[str]:
    details = result.details
    lines = [f"## Intent recognition ({details.get('mode')})", ""]
    lines.append(
        f"Macro-F1 **{details['macro_f1']:.3f}**, accuracy {details['accuracy']:.3f}, weighted F1 "
        f"{details['weighted_f1']:.3f}, on {details['examples']} messages. Threshold: see the gate above."
    )
    lines += [
        "",
        "How to read it: *precision* = when the assistant recognised this intent, how often it was right; "
        "*recall* = of the messages that meant this intent, how many it recognised; *F1* combines both "
        "(1.00 is perfect). Worst intents first.",
        "",
        "| intent | F1 | precision | recall | messages | most often confused with |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in details["intents"]:
        confused = ", ".join(f"{k} ({v})" for k, v in list(row["confused_with"].items())[:3])
        lines.append(
            f"| {row['intent']} | {row['f1']:.2f} | {row['precision']:.2f} | {row['recall']:.2f} | "
            f"{row['support']} | {_cell(confused)} |"
        )
    lines.append("")
    if "intent_confusion_matrix.png" in images:
        lines += [
            "Confusion matrix (rows: the intent meant, columns: the intent recognised; off-diagonal cells are mistakes):",
            "",
            f"![confusion matrix]({images['intent_confusion_matrix.png']})",
            "",
        ]
    if "intent_histogram.png" in images:
        lines += [
            "Confidence histogram (right: correct predictions, left: wrong ones; wrong ones with high "
            "confidence are the worrying ones):",
            "",
            f"![confidence histogram]({images['intent_histogram.png']})",
            "",
        ]
    errors = details.get("errors") or []
    if errors:
        lines += [
            f"Misrecognised messages ({details.get('errors_total', len(errors))} in all, most confident first):",
            "",
            "| message | meant | recognised as | confidence |",
            "| --- | --- | --- | --- |",
        ]
        for error in errors:
            lines.append(
                f"| {_cell(error['text'])} | {error['expected']} | {error['predicted']} | {error['confidence']:.2f} |"
            )
        lines.append("")
    return lines


def _stories_section(result: GateResult) -> list[str]:
    details = result.details
    lines = ["## Test stories", "", f"{result.summary}."]
    failed = details.get("failed") or []
    if failed:
        lines += [
            "",
            "Failed stories (Rasa's `failed_test_stories.yml` in the results folder shows the wrong step):",
            "",
        ]
        lines += [f"- {_cell(name)}" for name in failed]
    wrong = details.get("wrong_actions") or []
    if wrong:
        lines += ["", "| expected action | predicted | by | confidence |", "| --- | --- | --- | --- |"]
        for action in wrong:
            confidence = float(action.get("confidence") or 0.0)
            lines.append(
                f"| {action.get('action')} | {action.get('predicted')} | {action.get('policy')} | {confidence:.2f} |"
            )
    return lines + [""]


def _qa_set_table(row: dict[str, Any], category_min: float | None) -> list[str]:
    """One QA file's pass rate per category (the file's own minimum applies to the total)."""
    lines = [
        "",
        f"### {row['title'].capitalize()} (`{row['file']}`): {row['passed']}/{row['total']} pass, "
        f"{row['pass_rate']:.1%} (minimum {row['pass_rate_min']:.1%})",
        "",
    ]
    minimum = f" (min {category_min:.0%})" if category_min is not None else ""
    lines += [f"| category | passed | total | rate | met{minimum} |", "| --- | ---: | ---: | ---: | :---: |"]
    for cat in row.get("categories") or []:
        met = "yes" if cat["met"] else "**no**"
        lines.append(
            f"| {_cell(cat['category'])} | {cat['passed']} | {cat['total']} | {cat['rate']:.1%} | {met} |"
        )
    met = "yes" if row["met"] else "**no**"
    lines.append(f"| **all** | {row['passed']} | {row['total']} | {row['pass_rate']:.1%} | {met} |")
    return lines


def _qa_section(result: GateResult) -> list[str]:
    details = result.details
    lines = ["## Conversation QA set", "", f"{result.summary}."]
    for row in details.get("sets") or []:
        lines += _qa_set_table(row, details.get("category_pass_rate_min"))
    failed = details.get("failed") or []
    if failed:
        titles = {row["name"]: row["title"] for row in details.get("sets") or []}
        lines += [
            "",
            "Failed conversations:",
            "",
            "| id | question | expected | got | why | set, category |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for item in failed:
            expected = []
            if item["expected_all"]:
                expected.append("all of: " + ", ".join(item["expected_all"]))
            if item["expected_any"]:
                expected.append("one of: " + ", ".join(item["expected_any"]))
            if item["forbid"]:
                expected.append("never: " + ", ".join(item["forbid"]))
            where = ", ".join(
                str(x) for x in (titles.get(item.get("set"), item.get("set")), item.get("category")) if x
            )
            lines.append(
                f"| {item['id']} | {_cell(item['question'])} | {_cell('; '.join(expected))} | "
                f"{_cell(_short(item['got']))} | {_cell('; '.join(item['reasons']))} | {_cell(where)} |"
            )
    return lines + [""]


def _deployment_section(record: RunRecord) -> list[str]:
    lines = ["## Deployment", ""]
    if record.live is None:
        return lines + [
            "Nothing was put live by this run: the assistant keeps serving what it served before.",
            "",
        ]
    live = record.live
    lines.append(f"- {live.message}" if not live.replicas else "- model published on the model server")
    for replica in live.replicas:  # model-server mode: which replica pulled it, after how long
        lines.append(f"  - replica {replica.describe()}")
    if live.knowledge_changed:
        lines.append(
            f"- knowledge and page files updated: {len(live.knowledge_changed)} (the action server reloads them within a second)"
        )
    if live.deployment is not None:
        lines.append(
            f"- deployment id: `{live.deployment.id}` (previous: `{live.deployment.previous or 'none'}`)"
        )
        lines.append("- to go back: `make rollback` (or `.venv/bin/python -m bot rollback`)")
    return lines + [""]


def render_markdown(record: RunRecord, images: dict[str, str]) -> str:
    """The report page."""
    title = "Update report" if record.kind == "update" else "Evaluation report"
    lines = [
        f"# {title} — {record.started:%Y-%m-%d %H:%M}",
        "",
        f"**{record.outcome}**" + (f": {record.message}" if record.message else ""),
        "",
    ]
    if record.pages:
        lines += ["Pages in this update: " + ", ".join(f"`{p}`" for p in record.pages), ""]
    if record.durations:
        lines += [
            "Time per step (a training runs beside ingest and the checks, so the steps overlap): "
            + ", ".join(f"{k} {v:.0f} s" for k, v in record.durations.items()),
            "",
        ]
    lines += _gates_section(record)
    if record.kind == "update" or record.diff is not None:
        lines += _diff_section(record.diff)
    lines += _model_section(record)
    for gate in record.gates:
        if gate.name.startswith("nlu") and "intents" in gate.details:
            lines += _nlu_section(gate, images)
        elif gate.name == "stories" and gate.details:
            lines += _stories_section(gate)
        elif gate.name == "qa" and gate.details:
            lines += _qa_section(gate)
    if record.kind == "update":
        lines += _deployment_section(record)
    lines += [
        "## Files",
        "",
        "- `record.json`: everything above, machine-readable.",
        "- `nlu/`: Rasa's intent report, errors and plots (when the NLU gate ran).",
        "- Raw Rasa outputs of each gate: "
        + ", ".join(
            f"{g.name}: `{g.details['results_dir']}`" for g in record.gates if g.details.get("results_dir")
        ),
        "",
    ]
    return "\n".join(lines)


def render_html(markdown_text: str, title: str) -> str:
    """report.html: the Markdown as HTML in templates/report.html (Jinja2, autoescape on).

    Raw HTML in the Markdown is not passed through: what users or the assistant wrote (QA replies,
    messages quoted in tables) is shown as text, never run."""
    import jinja2
    import markdown
    from markupsafe import Markup

    converter = markdown.Markdown(extensions=["tables"])
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    body = Markup(converter.convert(markdown_text))  # noqa: S704 - Markdown's output, raw HTML escaped above
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template("report.html").render(title=title, body=body)


def _update_index(reports: Path, folder: Path, record: RunRecord) -> None:
    """reports/latest -> newest folder; reports/index.md lists every report, newest first."""
    latest = reports / "latest"
    temporary = reports / ".latest.tmp"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(folder.name)
    os.replace(temporary, latest)
    entries = []
    for child in sorted((p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True):
        data_file = child / "record.json"
        if not data_file.exists():
            continue
        data = json.loads(data_file.read_text(encoding="utf-8"))
        entries.append(
            f"- [{child.name}]({child.name}/report.md) — {data.get('kind')}: {data.get('outcome')}"
        )
    text = "# Reports\n\nNewest first. [latest](latest/report.md)\n\n" + "\n".join(entries) + "\n"
    (reports / "index.md").write_text(text, encoding="utf-8")


def write_report(record: RunRecord, reports_root: Path | None = None) -> Path:
    """Write reports/<id>/report.md, report.html and record.json; returns the Markdown path."""
    reports = reports_root or (record.root / REPORTS_DIR)
    folder = reports / record.id
    folder.mkdir(parents=True, exist_ok=True)
    images: dict[str, str] = {}
    for gate in record.gates:
        images.update(_copy_artifacts(gate, folder))
    text = render_markdown(record, images)
    (folder / "report.md").write_text(text, encoding="utf-8")
    title = f"OIM assistant — {record.kind} {record.id}"
    (folder / "report.html").write_text(render_html(text, title), encoding="utf-8")
    (folder / "record.json").write_text(
        json.dumps(record.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    _update_index(reports, folder, record)
    return folder / "report.md"
