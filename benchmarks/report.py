"""Turn a benchmark result (dict from bench.py) into target verdicts and a Markdown summary.

Why apart from bench.py: RESULTS.md and the README table are written from the same figures, and the
targets (from the issue) are stated once, here, next to how each one is computed.
"""

from __future__ import annotations

from typing import Any

# (name, limit, description): ratios are ours / stock unless said otherwise.
TARGETS = {
    "p50_1_user_ratio": (1.0, "1-user p50 latency, ours / stock, at most"),
    "throughput_ratio": (2.0, "saturated throughput (50 users), best of ours|scaled / stock, at least"),
    "ready_ratio": (0.5, "start to first answer, ours / stock, at most"),
    "training_s": (180.0, "full training, seconds, at most"),
    "training_ratio": (1.0, "full training, ours / stock (trained one after the other), at most"),
    "knowledge_update_s": (2.0, "knowledge-only change live, seconds, under"),
    "rasa_rss_mb": (1536.0, "largest Rasa process resident memory, MB, at most"),
    # Issue 18's targets (all from one `make bench BENCH_ARGS=--train` run).
    "i18_training_ratio": (1.0, "#18 full training, ours / stock, at most"),
    "i18_turn_cost_ratio": (0.40, "#18 in-process cost of one turn (profile), ours / stock, at most"),
    "i18_p50_1_user_ratio": (0.40, "#18 1-user p50 latency, ours / stock, at most"),
    "i18_throughput_one_process_ratio": (2.0, "#18 throughput at 50 users, one Rasa process (ours) / stock, at least"),
    "i18_throughput_best_ratio": (4.0, "#18 throughput at 50 users, best set-up on the machine / stock, at least"),
    "i18_update_to_training_ratio": (1.5, "#18 `make update` (new page + NLU examples, holdout) / full training, at most"),
}
AT_LEAST = {"throughput_ratio", "i18_throughput_one_process_ratio", "i18_throughput_best_ratio"}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def figures(results: dict[str, Any]) -> dict[str, float | None]:
    """The figure each target is judged on."""
    load = results.get("load", {})
    stock = load.get("stock", {})
    rps = [load.get(name, {}).get("50", {}).get("throughput_rps") for name in ("ours", "scaled")]
    best = max((r for r in rps if r is not None), default=None)
    ours_rps = load.get("ours", {}).get("50", {}).get("throughput_rps")
    profiles = results.get("profile") or {}
    turn_ms = {name: (profiles.get(name) or {}).get("ms_per_turn") for name in ("ours", "stock")}
    training = results.get("training", {})
    update = results.get("make_update", {})
    rasa_rss = [mb for name, parts in results.get("rss_mb", {}).items() if name != "stock"
                for role, mb in parts.items() if role.startswith("rasa")]
    return {
        "p50_1_user_ratio": _ratio(load.get("ours", {}).get("1", {}).get("p50_ms"), stock.get("1", {}).get("p50_ms")),
        "throughput_ratio": _ratio(best, stock.get("50", {}).get("throughput_rps")),
        "ready_ratio": _ratio(results.get("ready_s", {}).get("ours"), results.get("ready_s", {}).get("stock")),
        "training_s": results.get("training", {}).get("seconds"),
        "training_ratio": results.get("training", {}).get("ratio"),
        "knowledge_update_s": results.get("knowledge_update", {}).get("seconds"),
        "rasa_rss_mb": max(rasa_rss) if rasa_rss else None,
        "i18_training_ratio": training.get("ratio"),
        "i18_turn_cost_ratio": _ratio(turn_ms["ours"], turn_ms["stock"]),
        "i18_p50_1_user_ratio": _ratio(load.get("ours", {}).get("1", {}).get("p50_ms"), stock.get("1", {}).get("p50_ms")),
        "i18_throughput_one_process_ratio": _ratio(ours_rps, stock.get("50", {}).get("throughput_rps")),
        "i18_throughput_best_ratio": _ratio(best, stock.get("50", {}).get("throughput_rps")),
        "i18_update_to_training_ratio": _ratio(update.get("seconds"), training.get("seconds")),
    }


def targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, value in figures(results).items():
        limit, description = TARGETS[name]
        if value is None:
            met = None
        elif name in AT_LEAST:
            met = value >= limit
        elif name == "knowledge_update_s":
            met = value < limit
        else:
            met = value <= limit
        out[name] = {"value": value, "limit": limit, "met": met, "what": description}
    return out


def _cell(value: Any, unit: str = "") -> str:
    return "n/a" if value is None else f"{value}{unit}"


def load_table(results: dict[str, Any]) -> str:
    lines = [
        "| set-up | users | p50 ms | p95 ms | p99 ms | msg/s | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, by_users in results.get("load", {}).items():
        for users, r in by_users.items():
            lines.append(f"| {name} | {users} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
                         f"{r['throughput_rps']} | {r['errors']}/{r['requests']} |")
    return "\n".join(lines)


def targets_table(results: dict[str, Any]) -> str:
    verdicts = results.get("targets") or targets(results)
    lines = ["| target | measured | limit | met |", "| --- | ---: | ---: | :---: |"]
    for t in verdicts.values():
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        lines.append(f"| {t['what']} | {_cell(t['value'])} | {t['limit']} | {met} |")
    return "\n".join(lines)


def profile_table(results: dict[str, Any], top: int = 8) -> str:
    profiles = results.get("profile") or {}
    lines = []
    for name, prof in profiles.items():
        if "error" in prof:
            lines.append(f"- {name}: profile failed")
            continue
        parts = list(prof["parts_ms_per_turn"].items())[:top]
        detail = ", ".join(f"{part.replace('node run_', '').replace('node ', '')} {ms}" for part, ms in parts)
        rounds = prof.get("rounds_ms_per_turn")
        spread = f" (median of {', '.join(map(str, rounds))})" if rounds and len(rounds) > 1 else ""
        lines.append(f"- **{name}**: {prof['ms_per_turn']} ms/turn in-process{spread}; largest parts (ms/turn): {detail}")
    return "\n".join(lines)


def quality_line(results: dict[str, Any]) -> str:
    quality = results.get("quality") or {}
    parts = [f"QA {name} {r['passed']}/{r['total']} ({r['rate']} %)" for name, r in (quality.get("qa") or {}).items()]
    entities = quality.get("entities")
    parts.append(f"entity F1 {entities['f1']} (with typos {entities['typos_f1']})" if entities
                 else "entity F1 not measured (run with --train)")
    return "; ".join(parts)


def update_line(results: dict[str, Any]) -> str:
    update = results.get("make_update") or {}
    if update.get("seconds") is None:
        return update.get("note", "not measured (run with --train)")
    training = results.get("training", {}).get("seconds")
    durations = ", ".join(f"{k} {v} s" for k, v in (update.get("durations_s") or {}).items())
    return (f"{update['seconds']} s wall, exit {update.get('exit_code')} ({update.get('outcome', '')}); "
            f"/ full training {_cell(training, ' s')} = {_cell(_ratio(update['seconds'], training))}; "
            f"model {update.get('model_how')} in {_cell(update.get('model_seconds'), ' s')}; phases: {durations}")


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    ready = results.get("ready_s", {})
    rss = results.get("rss_mb", {})
    ku = results.get("knowledge_update", {})
    training = results.get("training", {})
    rss_lines = "; ".join(f"{name}: " + ", ".join(f"{role} {mb} MB" for role, mb in parts.items())
                          for name, parts in rss.items())
    return "\n".join([
        "## Benchmark results",
        "",
        f"{m['date']} · {m['nproc']} CPU ({m['cpu']}) · {m['memory_gb']} GB RAM · Rasa {m['rasa']} · "
        f"load average at start {m['load_average_at_start']} (shared machine: compare ratios, not absolutes)",
        "",
        "Set-ups: **stock** = `rasa init` bot, one `rasa run`, REST channel, SQLite store; **ours** = as "
        "`scripts/run.sh` (action server + one Rasa, SQLite); **scaled** = Redis tracker+lock stores, one "
        "action server, Rasa replicas behind `benchmarks/balancer.py`.",
        "",
        targets_table(results),
        "",
        load_table(results),
        "",
        "- Start to first answer (process start to first reply; for stock and ours the fastest of "
        f"{results.get('ready_samples_s', {})}): " + ", ".join(f"{k} {v} s" for k, v in ready.items()),
        f"- Resident memory after load: {rss_lines}",
        f"- Knowledge-only update live after: {_cell(ku.get('seconds'), ' s')} {ku.get('note', '')}".rstrip(),
        f"- Full training: ours {_cell(training.get('seconds'), ' s')}, stock {_cell(training.get('stock_seconds'), ' s')}"
        + ("" if training.get("same_inputs_as_now", True) else " (measured on earlier model inputs)"),
        f"- `make update` (one new page + NLU examples, `--mode holdout`, real training, gates, deploy): "
        f"{update_line(results)}",
        f"- Answers (must not drop with speed): {quality_line(results)}",
        f"- Bench run took {results.get('bench_seconds')} s",
        "",
        "Where a turn's time goes (in-process, one conversation at a time):",
        "",
        profile_table(results),
        "",
    ])
