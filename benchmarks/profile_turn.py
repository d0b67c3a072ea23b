"""Where the time of one conversation turn goes inside Rasa: per graph node, action calls, store.

Why: latency targets are met by removing cost where it is, not where we guess it is. This loads the
model in-process (like `rasa run`), wraps Rasa's graph nodes, remote-action calls and tracker-store
calls with timers, replays real conversations and prints milliseconds per turn for each part.
Benchmark-only instrumentation: nothing here runs in production.

    python -m benchmarks.profile_turn --model M --endpoints E [--messages F] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
PAYLOAD_BYTES: list[int] = []


def _timed_sync(name_of: Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            key = name_of(*args)
            TIMES[key] += time.perf_counter() - started
            CALLS[key] += 1
    return wrapper


def _timed_async(key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            TIMES[key] += time.perf_counter() - started
            CALLS[key] += 1
    return wrapper


def instrument(agent: Any) -> None:
    """Wrap graph nodes, remote actions and the agent's tracker store with timers."""
    from rasa.core.actions.action import RemoteAction
    from rasa.engine.graph import GraphNode

    GraphNode.__call__ = _timed_sync(lambda node, *a: f"node {node._node_name}", GraphNode.__call__)
    original_format = RemoteAction._action_call_format

    def call_format(self: Any, tracker: Any, domain: Any) -> dict[str, Any]:
        body = original_format(self, tracker, domain)
        PAYLOAD_BYTES.append(len(json.dumps(body)))
        return body

    RemoteAction._action_call_format = _timed_sync(lambda *a: "action request body (build)", call_format)
    RemoteAction.run = _timed_async("action server round-trip (incl. body)", RemoteAction.run)
    store = type(agent.tracker_store)
    for method in ("retrieve", "retrieve_full_tracker", "save", "get_or_create_tracker"):
        if hasattr(store, method):
            setattr(store, method, _timed_async(f"tracker store {method}", getattr(store, method)))


async def profile(model: Path, endpoints: Path, conversations: Sequence[Sequence[str]], warmup: int) -> dict[str, Any]:
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.io import configure_colored_logging
    from rasa.utils.log_utils import configure_structlog

    # Logging as `rasa run` sets it at its default level (INFO): without this, structlog's default
    # configuration prints every debug event of Rasa's processor, a cost no server pays.
    configure_logging_and_warnings(logging.INFO)
    configure_colored_logging(logging.INFO)
    configure_structlog(logging.INFO)
    started = time.perf_counter()
    agent = await load_agent(model_path=str(model), endpoints=AvailableEndpoints.read_endpoints(str(endpoints)))
    load_s = time.perf_counter() - started
    for i, turns in enumerate(conversations[:warmup]):
        for text in turns:
            await agent.handle_text(text, sender_id=f"warmup-{i}")
    instrument(agent)
    TIMES.clear()
    CALLS.clear()
    turns_done = 0
    started = time.perf_counter()
    for i, turns in enumerate(conversations):
        sender_id = f"profile-{i}-{time.time_ns()}"  # one conversation: its turns share a tracker
        for text in turns:
            await agent.handle_text(text, sender_id=sender_id)
            turns_done += 1
    total = time.perf_counter() - started
    parts = sorted(TIMES.items(), key=lambda kv: -kv[1])
    return {
        "model_load_s": round(load_s, 2),
        "turns": turns_done,
        "ms_per_turn": round(total * 1000 / turns_done, 2),
        "parts_ms_per_turn": {k: round(v * 1000 / turns_done, 2) for k, v in parts},
        "calls_per_turn": {k: round(CALLS[k] / turns_done, 2) for k, _ in parts},
        "action_request_bytes_mean": round(sum(PAYLOAD_BYTES) / len(PAYLOAD_BYTES)) if PAYLOAD_BYTES else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_turn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--endpoints", type=Path, required=True)
    parser.add_argument("--messages", type=Path, help="JSON list of conversations (lists of texts)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    if args.messages:
        conversations = json.loads(args.messages.read_text(encoding="utf-8"))
    else:
        from benchmarks.load import scripts_for
        from benchmarks.scenarios import OUR_MESSAGES

        conversations = scripts_for(OUR_MESSAGES, users=6, turns=10)
    result = asyncio.run(profile(args.model, args.endpoints, conversations, warmup=1))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['ms_per_turn']} ms per turn over {result['turns']} turns", file=sys.stderr)
        for part, ms in result["parts_ms_per_turn"].items():
            print(f"  {ms:8.2f} ms  {result['calls_per_turn'][part]:5.2f} calls  {part}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
