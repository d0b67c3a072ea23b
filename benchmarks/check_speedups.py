"""Check that bot.nlu.rasa_speedups change nothing the model decides, and show what they save.

Why: the speed-ups replace how Rasa loads models and runs a few internals; they must be invisible
in every answer. This loads the model twice, in two fresh processes (speed-ups off, then on), and
compares, message by message, the NLU result (intent ranking, confidences, entities) and the
dialogue policies' next-action predictions over whole conversations (no action server needed:
predicted actions are logged, not run). Prints load time and resident memory of both.

    python -m benchmarks.check_speedups [--model M]     # exit 1 when anything differs
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.scenarios import OUR_MESSAGES
from bot.knowledge.paths import repo_root

ODD_MESSAGES = ["c koi l oim", "rapatriment depuis le yemen", "hello, do you speak english?", "???", "🙂",
                "je suis bloqué en Libye, comment rentrer ?", "email de l'unité M&D", "merci beaucoup"]
TOLERANCE = 1e-5


def _rss_mb() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024  # type: ignore[union-attr]


async def probe(model: Path) -> dict[str, Any]:
    """Load the model in this process; its NLU results and policy predictions for the probes."""
    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.events import ActionExecuted

    started = time.perf_counter()
    agent = await load_agent(model_path=str(model))
    load_s = time.perf_counter() - started
    processor = agent.processor
    parses = {}
    for text in OUR_MESSAGES + ODD_MESSAGES:
        data = await agent.parse_message(text)
        parses[text] = {
            "intent": data["intent"],
            "ranking": data.get("intent_ranking", [])[:5],
            "entities": [{k: e.get(k) for k in ("entity", "value", "start", "end")} for e in data["entities"]],
        }
    dialogues = []
    for start in range(4):
        sender = f"check-{start}"
        steps = []
        for text in (OUR_MESSAGES[start:] + OUR_MESSAGES[:start])[:8]:
            tracker = await processor.log_message(UserMessage(text, sender_id=sender))
            for _ in range(3):  # predicted actions are logged as if run, then predict again
                prediction = processor._predict_next_with_tracker(tracker)
                action = processor.domain.action_names_or_texts[prediction.max_confidence_index]
                steps.append({"text": text, "action": action, "policy": prediction.policy_name,
                              "confidence": prediction.max_confidence,
                              "probabilities": [float(p) for p in prediction.probabilities]})
                tracker.update(ActionExecuted(action, prediction.policy_name, prediction.max_confidence))
                if action == "action_listen":
                    break
            await processor.save_tracker(tracker)
        dialogues.append(steps)
    return {"load_s": round(load_s, 1), "rss_mb": _rss_mb(), "parses": parses, "dialogues": dialogues}


def _run(model: Path, speedups: bool) -> dict[str, Any]:
    env = {**os.environ, "OIM_RASA_SPEEDUPS": "1" if speedups else "0", "RASA_TELEMETRY_ENABLED": "false",
           "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(repo_root())}
    code = ("import asyncio, json, sys\nfrom bot.nlu import rasa_speedups\nrasa_speedups.apply()\n"
            "from benchmarks.check_speedups import probe\n"
            "print('RESULT' + json.dumps(asyncio.run(probe(sys.argv[1]))))")
    result = subprocess.run([sys.executable, "-c", code, str(model)], cwd=repo_root(), env=env,
                            capture_output=True, text=True, timeout=900)
    line = next((x for x in result.stdout.splitlines() if x.startswith("RESULT")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"probe failed (speed-ups {'on' if speedups else 'off'}):\n{result.stderr[-3000:]}")
    return json.loads(line[len("RESULT"):])


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two probe results differ (floats within TOLERANCE are equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in differences(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float):
        return [] if abs(a - b) <= TOLERANCE else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def compare(model: Path) -> dict[str, Any]:
    off = _run(model, speedups=False)
    on = _run(model, speedups=True)
    diff = differences({"parses": off["parses"], "dialogues": off["dialogues"]},
                       {"parses": on["parses"], "dialogues": on["dialogues"]})
    return {
        "load_s": {"off": off["load_s"], "on": on["load_s"]},
        "rss_mb_after_load": {"off": off["rss_mb"], "on": on["rss_mb"]},
        "messages_compared": len(off["parses"]),
        "predictions_compared": sum(len(d) for d in off["dialogues"]),
        "differences": diff,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.check_speedups", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="model file (default: $OIM_MODEL or the cached one)")
    args = parser.parse_args(argv)
    model = args.model or Path(os.environ.get("OIM_MODEL") or "")
    if not model.is_file():
        from bot.maintenance.model_cache import cached_model_path

        model = cached_model_path()
    result = compare(model)
    print(json.dumps({k: v for k, v in result.items() if k != "differences"}, indent=2))
    for line in result["differences"][:40]:
        print("DIFF", line)
    print("identical" if not result["differences"] else f"{len(result['differences'])} differences")
    return 0 if not result["differences"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
