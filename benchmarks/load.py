"""Load generator for the REST channel: N concurrent conversations, each turn timed.

Why: latency percentiles and throughput mean the same thing for every server we compare only if
one client measures them all the same way. Each simulated user runs its conversation turn after
turn (a user waits for the answer before typing again); users run concurrently.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

WEBHOOK = "/webhooks/rest/webhook"


@dataclass(frozen=True)
class LoadResult:
    users: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    resent: int = 0  # failed turns sent again because `resend_if` explained the failure (not errors)

    @classmethod
    def from_samples(cls, users: int, requests: int, errors: int, seconds: float,
                     latencies_ms: list[float], resent: int = 0) -> LoadResult:
        return cls(
            users=users, requests=requests, errors=errors, seconds=round(seconds, 3), resent=resent,
            p50_ms=round(percentile(latencies_ms, 0.50), 1),
            p95_ms=round(percentile(latencies_ms, 0.95), 1),
            p99_ms=round(percentile(latencies_ms, 0.99), 1),
            mean_ms=round(sum(latencies_ms) / len(latencies_ms), 1) if latencies_ms else math.nan,
            latencies_ms=latencies_ms,
        )

    @classmethod
    def merge(cls, results: Sequence[LoadResult]) -> LoadResult:
        """Several runs of the same set-up (e.g. interleaved rounds) as one result."""
        return cls.from_samples(
            users=results[0].users, requests=sum(r.requests for r in results),
            errors=sum(r.errors for r in results), seconds=sum(r.seconds for r in results),
            latencies_ms=[x for r in results for x in r.latencies_ms], resent=sum(r.resent for r in results),
        )

    @property
    def throughput(self) -> float:
        """Answered messages per second over the whole run."""
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float]:
        keys = ("users", "requests", "errors", "seconds", "p50_ms", "p95_ms", "p99_ms", "mean_ms")
        return {**{k: getattr(self, k) for k in keys}, "throughput_rps": round(self.throughput, 2)}


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: a figure that was really observed)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


ResendIf = Callable[[float, float, str], bool]  # (sent at, failed at: time.monotonic(), problem): resend?
OnTurn = Callable[[str, str, bool], None]  # (sender, text, answered) after every turn
MAX_RESENDS = 5


async def _turn(session: aiohttp.ClientSession, url: str, sender: str, text: str, latencies: list[float],
                error_text: str | None, timeout_s: float) -> str | None:
    """One message and its answer; returns what went wrong, or None."""
    started = time.perf_counter()
    try:
        async with session.post(
            url + WEBHOOK, json={"sender": sender, "message": text},
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            body = await response.json(content_type=None)
            status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        return f"{sender}: {type(error).__name__}"
    latencies.append((time.perf_counter() - started) * 1000)
    texts = [m.get("text") for m in body if isinstance(m, dict)] if isinstance(body, list) else []
    if status != 200 or not isinstance(body, list):
        return f"{sender}: HTTP {status}, {str(body)[:80]}"
    strangers = {m.get("recipient_id") for m in body if isinstance(m, dict)} - {sender}
    if strangers:  # an answer meant for another conversation
        return f"{sender}: cross-talk, answer addressed to {sorted(map(str, strangers))}"
    if error_text is not None and not any(texts):  # our assistant always answers something
        return f"{sender}: no answer to {text!r}"
    if error_text is not None and error_text in texts:
        return f"{sender}: polite error message after {text!r}"
    return None


async def _conversation(
    session: aiohttp.ClientSession, url: str, sender: str, turns: Sequence[str],
    latencies: list[float], errors: list[str], error_text: str | None, timeout_s: float,
    on_turn: OnTurn | None = None, resend_if: ResendIf | None = None,
    resent: list[str] | None = None,
) -> None:
    for text in turns:
        for attempt in range(MAX_RESENDS + 1):
            sent_at = time.monotonic()
            problem = await _turn(session, url, sender, text, latencies, error_text, timeout_s)
            if problem is None:
                break
            if resend_if is None or attempt == MAX_RESENDS or not resend_if(sent_at, time.monotonic(), problem):
                errors.append(problem)
                break
            if resent is not None:  # a person whose message failed types it again a moment later
                resent.append(problem)
            await asyncio.sleep(1)
        if on_turn is not None:
            on_turn(sender, text, problem is None)


async def run_load(
    url: str, scripts: Sequence[Sequence[str]], label: str, error_text: str | None = None,
    timeout_s: float = 60, senders: Sequence[str] | None = None, on_turn: OnTurn | None = None,
    resend_if: ResendIf | None = None, errors: list[str] | None = None,
) -> LoadResult:
    """Run one conversation per script concurrently; every turn of every script is one request.

    `error_text` (our assistant's polite error message) also makes an empty or polite-error answer
    an error; without it (the stock bot, which legitimately stays silent after some turns) only
    transport and HTTP failures are. An answer addressed to another conversation is always one.
    `senders`: the conversation ids (default: fresh ones); `on_turn` is called after every turn;
    a failed turn for which `resend_if(sent_at, failed_at, problem)` is true (a planned outage) is sent again
    and counted in `resent`, not in `errors`; `errors` collects the error descriptions.
    """
    latencies: list[float] = []
    errors = [] if errors is None else errors
    resent: list[str] = []
    ids = list(senders) if senders is not None else [f"bench-{label}-{i}-{time.time_ns()}" for i in range(len(scripts))]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(
            _conversation(session, url, sender, turns, latencies, errors, error_text, timeout_s,
                          on_turn, resend_if, resent)
            for sender, turns in zip(ids, scripts, strict=True)
        ))
        seconds = time.perf_counter() - started
    if errors:
        print(f"    {len(errors)} errors, first: {errors[0]}")
    return LoadResult.from_samples(len(scripts), sum(len(s) for s in scripts), len(errors), seconds, latencies,
                                   resent=len(resent))


def scripts_for(messages: Sequence[str], users: int, turns: int) -> list[list[str]]:
    """`users` conversations of `turns` messages, each starting at a different message."""
    return [[messages[(u + t) % len(messages)] for t in range(turns)] for u in range(users)]
