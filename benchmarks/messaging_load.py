"""WhatsApp (Twilio) users against REST users on the same Rasa server: does sending block the server?

Issue 15, item 5: Rasa's stock Twilio output calls the synchronous `twilio` client inside Rasa's
event loop, so every WhatsApp send would stall every other conversation for a network round trip.
Our connector (bot/serving/messaging) sends with aiohttp. This benchmark shows it under load:

- ONE Rasa server + action server, SQLite tracker store (`ours` of benchmarks/topology.py), with the
  REST channel and the WhatsApp connector both enabled, configured as in production (environment
  variables, bot.serving.channels); the connector's API base URL is the local Twilio simulator
  (tests/simulators/platforms.py), which takes `--latency-ms` (default 150) to answer every
  Messages API call, as a real platform's round trip would;
- the same question scripts (benchmarks/scenarios.yml, `scripts_for`) for (a) N concurrent REST
  users (benchmarks/load.py) and (b) N concurrent WhatsApp users, then (c) N WhatsApp users with
  the simulator's latency at 0 (our own overhead, without the platform's);
- plus the same with 1 user (sanity: no concurrency, so nothing to block).

A WhatsApp turn is a correctly signed Twilio webhook (`X-Twilio-Signature` over the public URL
configured in the connector) from the user's number; the connector acknowledges it at once and
answers in the background, so the turn's latency is from the webhook POST to the moment the
simulator has accepted the turn's LAST reply message (the simulator records a message when its API
answers, i.e. after the latency, when the connector learns it was delivered).

When is a turn complete? Before the timed runs, every distinct script is played once over REST
(an "oracle" conversation) and its tracker read back: the bot messages of each turn (Rasa's
utterances, before REST's split at blank lines) are turned into the number of WhatsApp messages the
connector sends for them, with the connector's own shaping code (text or image, numbered menu,
1600-character split), plus the first-contact notice on a conversation's first turn. A WhatsApp
user waits for that many new messages, then types its next message (the same closed loop as the
REST users, no think time). A quiet period would have delayed every next turn by the quiet time
(less load than the REST users put) or been fooled by a slow send. After each run, after a
quiet period, every user's message count is compared with the expected total: a message arriving
after its turn was counted as complete ("extra") or never arriving would be reported.

Two effects of users who answer within milliseconds (as benchmark users do, people do not):
- the connector reads "is this conversation new?" from the tracker store before Rasa's turn, outside
  Rasa's conversation lock, so a message arriving while the previous turn is still being saved can
  get the first-contact notice a second time: such repeated notices are counted (`repeated_notices`)
  and left out of the turn's messages;
- Rasa's in-memory lock store polls a held conversation lock once a second: a message arriving
  before the previous turn released the lock (its sends are done, its tracker not yet saved) waits
  up to a second. REST users never see it (the REST answer leaves after the save). `--think-ms`
  gives the WhatsApp users a pause after each complete turn (not counted in the latency) to
  separate this from the sending.

Same p50? With a platform latency L per API call, a WhatsApp turn cannot be faster than REST's
answer + (its messages x L), since the connector sends a turn's messages one after the other (in
order). What a blocking sender would show is that the latency grows with the number of users: 50
users' sends serialised on one event loop (at 150 ms each, at most ~6.7 sends a second for the
whole server). So the figures printed are: WhatsApp p50 / REST p50 at L and at L = 0, and the p50
of (turn latency - its messages x L), the time not spent waiting for the platform.

    .venv/bin/python -m benchmarks.messaging_load [--users 50 --turns 5 --latency-ms 150 --rounds 3 --think-ms 0]

Writes benchmarks/results/messaging.json (git-ignored). Not a test: a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bench import RESULTS_DIR, _polite_error_text, git_commit, machine_facts, our_model, warm_up
from benchmarks.load import LoadResult, percentile, run_load, scripts_for
from benchmarks.scenarios import OUR_MESSAGES
from benchmarks.topology import Topology, start_ours
from bot.serving.messaging.base import privacy_link
from bot.serving.messaging.shaping import LIMITS, choices_of, numbered_menu, split_message
from bot.serving.messaging.signatures import twilio_signature
from bot.serving.messaging.texts import load_texts
from tests.simulators.platforms import PlatformSimulators, Sent
from tests.stack import (
    RasaServer,
    base_env,
)

TWILIO_SID = "ACbench0000000000000000000000000"
TWILIO_TOKEN = "bench-twilio-auth-token"
BOT_NUMBER = "+14155238886"
PUBLIC_URL = "https://bot.example.org/webhooks/twilio/webhook"  # what the connector checks signatures against
WEBHOOK = "/webhooks/twilio/webhook"
QUIET_S = 2.0  # after a run: no more message may arrive for any user
TEXTS = load_texts()
OTHER_CHANNEL_VARIABLES = ("TWILIO_", "TELEGRAM_", "FACEBOOK_", "OIM_PRIVACY_URL", "OIM_PUBLIC_URL")


# --- the simulator, telling this process's event loop about every WhatsApp message -----------------

class Inbox:
    """What the simulator received per WhatsApp number, in the load generator's event loop."""

    def __init__(self, notice: str) -> None:
        self.notice = notice  # the first-contact notice's text (it starts every first message)
        self.messages: dict[str, list[Sent]] = {}
        self.repeated_notices: dict[str, int] = {}  # recipient -> notices after the first (not counted)
        self._events: dict[str, asyncio.Event] = {}

    def event(self, recipient: str) -> asyncio.Event:
        return self._events.setdefault(recipient, asyncio.Event())

    def arrived(self, recipient: str, sent: Sent) -> None:
        earlier = self.messages.setdefault(recipient, [])
        if sent.text.startswith(self.notice) and any(m.text.startswith(self.notice) for m in earlier):
            self.repeated_notices[recipient] = self.repeated_notices.get(recipient, 0) + 1
            return
        earlier.append(sent)
        self.event(recipient).set()

    def of(self, recipient: str) -> list[Sent]:
        return self.messages.get(recipient, [])

    async def wait_for(self, recipient: str, count: int, deadline: float) -> bool:
        """True once `recipient` has `count` messages; False at `deadline` (time.monotonic())."""
        event = self.event(recipient)
        while len(self.of(recipient)) < count:
            event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                return len(self.of(recipient)) >= count
        return True


class NotifyingSimulators(PlatformSimulators):
    """The platform simulators (their thread), plus a hand-over of each WhatsApp message to `inbox`."""

    inbox: Inbox | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def _record(self, platform: str, recipient: str, text: str, raw: dict[str, Any]) -> None:
        super()._record(platform, recipient, text, raw)
        sent = self.messages[-1]  # appended just now by this (the simulators') thread, the only writer
        if platform == "whatsapp" and self.inbox is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.inbox.arrived, recipient, sent)


# --- how many WhatsApp messages a turn gets --------------------------------------------------------

def whatsapp_sends(message: dict[str, Any], limit: int = LIMITS["whatsapp"]) -> int:
    """How many messages the connector sends for one Rasa bot message (MessagingOutput.send_response
    then MessagingConnector.deliver, WhatsApp: the menu as a numbered list at the end)."""
    text = str(message.get("text") or "")
    if not text and message.get("image"):
        text = str(message["image"])
    menu = choices_of(message)
    if not text and not menu:
        return 0
    tail = numbered_menu(menu, TEXTS.numbered_prompt) if menu else ""
    return len(split_message(text, limit, tail))


def notice_sends(env: dict[str, str], limit: int = LIMITS["whatsapp"]) -> int:
    """The first-contact notice with its numbered menu (MessagingConnector.turn, a new conversation)."""
    notice = TEXTS.notice(privacy_link(env))
    text = f"{notice}\n\n{TEXTS.menu_intro}" if TEXTS.menu_intro else notice
    return len(split_message(text, limit, numbered_menu(TEXTS.menu, TEXTS.numbered_prompt)))


def turns_of(tracker: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The bot messages (as Rasa sends them to an output channel) after each user message."""
    turns: list[list[dict[str, Any]]] = []
    for event in tracker.get("events") or []:
        if event.get("event") == "user":
            turns.append([])
        elif event.get("event") == "bot" and turns:
            turns[-1].append({**(event.get("data") or {}), "text": event.get("text")})
    return turns


async def expected_counts(rasa: RasaServer, scripts: Sequence[Sequence[str]], env: dict[str, str]) -> dict[tuple[str, ...], list[int]]:
    """Per distinct script: the number of WhatsApp messages of each turn, from a REST conversation
    of the same script (its tracker's bot messages, shaped as the connector shapes them)."""
    distinct = sorted({tuple(script) for script in scripts})
    senders = {script: f"oracle-{i}-{time.time_ns()}" for i, script in enumerate(distinct)}

    async def play(session: aiohttp.ClientSession, script: tuple[str, ...]) -> None:
        for text in script:
            async with session.post(f"{rasa.url}/webhooks/rest/webhook",
                                    json={"sender": senders[script], "message": text}) as response:
                response.raise_for_status()
                await response.read()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        await asyncio.gather(*(play(session, script) for script in distinct))
    notice = notice_sends(env)
    counts: dict[tuple[str, ...], list[int]] = {}
    for script in distinct:
        turns = turns_of(await asyncio.to_thread(rasa.tracker, senders[script]))
        if len(turns) != len(script):
            raise RuntimeError(f"oracle conversation of {script!r}: {len(turns)} user turns in the tracker")
        # a turn without any readable message gets the connector's error text: one message
        per_turn = [max(1, sum(whatsapp_sends(m) for m in turn)) for turn in turns]
        per_turn[0] += notice
        counts[script] = per_turn
    return counts


# --- the WhatsApp users ----------------------------------------------------------------------------

@dataclass
class WhatsAppRun:
    """Turn latencies of one WhatsApp run, and what the platform's latency accounts for in them."""

    latency_s: float
    result: LoadResult
    net_ms: list[float] = field(default_factory=list)  # each turn minus its messages x latency
    webhook_ms: list[float] = field(default_factory=list)  # webhook POST to its acknowledgement
    messages: int = 0
    extra: int = 0  # messages arriving after their turn was counted as complete
    missing: int = 0
    think_s: float = 0.0  # pause of each user after a complete turn (not in the latency)
    repeated_notices: int = 0  # first-contact notices sent again (not counted as the turn's messages)
    posted: dict[str, list[float]] = field(default_factory=dict)  # number -> when each turn's webhook was posted
    mismatches: list[str] = field(default_factory=list)  # turns whose messages were not the expected number
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        turns = len(self.result.latencies_ms)
        return {
            **self.result.as_dict(), "platform_latency_ms": round(self.latency_s * 1000),
            "net_p50_ms": round(percentile(self.net_ms, 0.5), 1), "net_p95_ms": round(percentile(self.net_ms, 0.95), 1),
            "webhook_ack_p50_ms": round(percentile(self.webhook_ms, 0.5), 1),
            "messages": self.messages, "messages_per_turn": round(self.messages / turns, 2) if turns else None,
            "think_ms": round(self.think_s * 1000), "repeated_notices": self.repeated_notices,
            "extra_messages": self.extra, "missing_messages": self.missing, "first_errors": self.errors[:3],
            "mismatched_turns": self.mismatches[:10],
        }


def signed_webhook(number: str, text: str, message_sid: str) -> tuple[bytes, dict[str, str]]:
    """A Twilio WhatsApp webhook (fields as in tests/fixtures/twilio_whatsapp_text.json), signed."""
    pairs = [("SmsMessageSid", message_sid), ("NumMedia", "0"), ("ProfileName", "Bench"), ("MessageType", "text"),
             ("SmsSid", message_sid), ("WaId", number.lstrip("+")), ("SmsStatus", "received"), ("Body", text),
             ("To", f"whatsapp:{BOT_NUMBER}"), ("NumSegments", "1"), ("ReferralNumMedia", "0"),
             ("MessageSid", message_sid), ("AccountSid", TWILIO_SID), ("From", f"whatsapp:{number}"),
             ("ApiVersion", "2010-04-01")]
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, PUBLIC_URL, pairs)}
    return urllib.parse.urlencode(pairs).encode(), headers


async def _whatsapp_user(session: aiohttp.ClientSession, url: str, inbox: Inbox, number: str,
                         script: Sequence[str], counts: Sequence[int], run: WhatsAppRun,
                         latencies: list[float], bad_texts: set[str], timeout_s: float, think_s: float) -> None:
    recipient = f"whatsapp:{number}"
    received = 0
    for index, (text, expected) in enumerate(zip(script, counts, strict=True)):
        body, headers = signed_webhook(number, text, f"SM{time.time_ns():032d}")
        started = time.monotonic()
        run.posted.setdefault(number, []).append(started)
        try:
            async with session.post(url + WEBHOOK, data=body, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            run.errors.append(f"{number} turn {index}: {type(error).__name__}")
            continue
        run.webhook_ms.append((time.monotonic() - started) * 1000)
        if status != 200:
            run.errors.append(f"{number} turn {index}: webhook HTTP {status}")
            continue
        target = received + expected
        if not await inbox.wait_for(recipient, target, started + timeout_s):
            got = len(inbox.of(recipient)) - received
            run.errors.append(f"{number} turn {index}: {got}/{expected} messages within {timeout_s:.0f} s")
            received = len(inbox.of(recipient))
            continue
        turn = inbox.of(recipient)[received:target]
        received = target
        elapsed_ms = (turn[-1].at - started) * 1000
        latencies.append(elapsed_ms)
        run.net_ms.append(elapsed_ms - expected * run.latency_s * 1000)
        if any(message.text.strip() in bad_texts for message in turn):
            run.errors.append(f"{number} turn {index}: error message after {text!r}")
        if think_s:
            await asyncio.sleep(think_s)


def _mismatched_turns(number: str, script: Sequence[str], counts: Sequence[int], posted: Sequence[float],
                      messages: Sequence[Sent]) -> list[str]:
    """Each message attributed to the last turn posted before it arrived; the turns whose count is not
    the expected one (when a user's total is wrong)."""
    got: list[list[str]] = [[] for _ in posted]
    for message in messages:
        turn = sum(1 for at in posted if at <= message.at) - 1
        if turn >= 0:
            got[turn].append(message.text[:50])
    return [f"{number} turn {i} {script[i]!r}: {len(got[i])} messages, {counts[i]} expected: {got[i]}"
            for i in range(len(posted)) if len(got[i]) != counts[i]]


async def run_whatsapp(url: str, sims: NotifyingSimulators, inbox: Inbox, scripts: Sequence[Sequence[str]],
                       counts: dict[tuple[str, ...], list[int]], numbers: Sequence[str], latency_s: float,
                       bad_texts: set[str], timeout_s: float = 120, think_s: float = 0.0) -> WhatsAppRun:
    """One conversation per script, concurrently, each a fresh WhatsApp number; then the final count check."""
    sims.latency_s = latency_s
    run = WhatsAppRun(latency_s, LoadResult.from_samples(0, 0, 0, 0, []), think_s=think_s)
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(
            _whatsapp_user(session, url, inbox, number, script, counts[tuple(script)], run, latencies,
                           bad_texts, timeout_s, think_s)
            for number, script in zip(numbers, scripts, strict=True)
        ))
        seconds = time.perf_counter() - started
    await asyncio.sleep(QUIET_S)
    for number, script in zip(numbers, scripts, strict=True):
        got, expected = len(inbox.of(f"whatsapp:{number}")), sum(counts[tuple(script)])
        run.repeated_notices += inbox.repeated_notices.get(f"whatsapp:{number}", 0)
        run.messages += min(got, expected)
        run.extra += max(0, got - expected)
        run.missing += max(0, expected - got)
        if got != expected:
            run.mismatches += _mismatched_turns(number, script, counts[tuple(script)], run.posted.get(number, []),
                                                inbox.of(f"whatsapp:{number}"))
    if run.extra:
        run.errors.append(f"{run.extra} message(s) arrived after their turn was counted as complete")
    for mismatch in run.mismatches[:5]:
        print(f"    mismatch: {mismatch}")
    turns = sum(len(s) for s in scripts)
    failed = min(turns, turns - len(latencies) + sum(1 for e in run.errors if "error message" in e))
    run.result = LoadResult.from_samples(len(scripts), turns, failed, seconds, latencies)
    if run.errors:
        print(f"    {len(run.errors)} problems, first: {run.errors[0]}")
    return run


# --- the set-up ----------------------------------------------------------------------------------

def rasa_env(simulator_url: str) -> dict[str, str]:
    """base_env() with only the WhatsApp connector's variables (pointed at the simulator)."""
    env = {k: v for k, v in base_env().items() if not k.startswith(OTHER_CHANNEL_VARIABLES)}
    env.update(TWILIO_ACCOUNT_SID=TWILIO_SID, TWILIO_AUTH_TOKEN=TWILIO_TOKEN, TWILIO_WHATSAPP_NUMBER=BOT_NUMBER,
               TWILIO_WEBHOOK_URL=PUBLIC_URL, TWILIO_API_BASE_URL=f"{simulator_url}/twilio")
    return env


def start_server(workdir: Path, model: Path, env: dict[str, str]) -> Topology:
    """`ours` (benchmarks/topology.py) with the WhatsApp connector's environment."""
    topology = start_ours(workdir, model, OUR_MESSAGES[0], env=env)
    rasa = topology.parts["rasa"]
    assert isinstance(rasa, RasaServer)
    if "whatsapp.WhatsAppInput" not in rasa.effective_credentials().read_text(encoding="utf-8"):
        topology.stop()
        raise RuntimeError("the WhatsApp connector is not in the effective credentials")
    return topology


def connector_health(rasa: RasaServer) -> dict[str, Any]:
    with urllib.request.urlopen(f"{rasa.url}/webhooks/twilio/", timeout=10) as response:
        return dict(json.loads(response.read()))


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- the benchmark ----------------------------------------------------------------------------------

async def measure(rasa: RasaServer, sims: NotifyingSimulators, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    inbox = Inbox(TEXTS.notice(privacy_link(env)))
    sims.inbox, sims.loop = inbox, asyncio.get_running_loop()
    error_text = _polite_error_text()
    bad_texts = {error_text.strip(), TEXTS.error.strip()}
    latency_s = args.latency_ms / 1000
    think_s = args.think_ms / 1000
    scripts = scripts_for(OUR_MESSAGES, args.users, args.turns)
    single = scripts_for(OUR_MESSAGES, 1, args.sanity_turns)
    counts = await expected_counts(rasa, [*scripts, *single], env)
    print(f"[messaging] expected WhatsApp messages per turn, by script: {sorted(counts.values())}")

    serial = iter(range(10_000))

    def numbers(count: int) -> list[str]:
        run = next(serial)
        return [f"+336{run:03d}{user:05d}" for user in range(count)]

    warm = scripts_for(OUR_MESSAGES, 2, len(OUR_MESSAGES))  # not timed: opens the connector's HTTP session
    await run_whatsapp(rasa.url, sims, inbox, warm, await expected_counts(rasa, warm, env), numbers(2), 0.0, bad_texts)

    samples: dict[str, list[Any]] = {name: [] for name in
                                     ("rest_1", "whatsapp_1", "whatsapp0_1", "rest_n", "whatsapp_n", "whatsapp0_n")}
    for round_index in range(args.rounds):
        print(f"[messaging] round {round_index + 1}/{args.rounds}, load average {loadavg()}")
        samples["rest_1"].append(await run_load(rasa.url, single, f"rest-1u-{round_index}", error_text))
        samples["whatsapp_1"].append(await run_whatsapp(rasa.url, sims, inbox, single, counts, numbers(1),
                                                        latency_s, bad_texts, think_s=think_s))
        samples["whatsapp0_1"].append(await run_whatsapp(rasa.url, sims, inbox, single, counts, numbers(1),
                                                         0.0, bad_texts, think_s=think_s))
        runs = [("rest_n", None), ("whatsapp_n", latency_s), ("whatsapp0_n", 0.0)]
        shift = round_index % len(runs)  # each kind goes first in some round (the machine's load drifts)
        for name, latency in runs[shift:] + runs[:shift]:
            if latency is None:
                result: Any = await run_load(rasa.url, scripts, f"rest-{args.users}u-{round_index}", error_text)
            else:
                result = await run_whatsapp(rasa.url, sims, inbox, scripts, counts, numbers(args.users),
                                            latency, bad_texts, think_s=think_s)
            samples[name].append(result)
            figures = result.as_dict()
            print(f"    {name}: p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, "
                  f"{figures['throughput_rps']} turns/s, errors {figures['errors']}, "
                  f"repeated notices {figures.get('repeated_notices', '-')}")
    return summarise(samples, latency_s)


def _merge_whatsapp(runs: list[WhatsAppRun]) -> WhatsAppRun:
    merged = WhatsAppRun(runs[0].latency_s, LoadResult.merge([r.result for r in runs]))
    for run in runs:
        merged.net_ms += run.net_ms
        merged.webhook_ms += run.webhook_ms
        merged.messages += run.messages
        merged.extra += run.extra
        merged.missing += run.missing
        merged.repeated_notices += run.repeated_notices
        merged.think_s = run.think_s
        merged.errors += run.errors
    return merged


def summarise(samples: dict[str, list[Any]], latency_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {"rounds": {}, "merged": {}}
    for name, runs in samples.items():
        out["rounds"][name] = [run.as_dict() for run in runs]
        merged = LoadResult.merge(runs) if name.startswith("rest") else _merge_whatsapp(runs)
        out["merged"][name] = merged.as_dict()
    merged = out["merged"]
    for size in ("1", "n"):
        rest = merged[f"rest_{size}"]["p50_ms"]
        out[f"ratio_{size}"] = {
            "whatsapp_p50_over_rest_p50": round(merged[f"whatsapp_{size}"]["p50_ms"] / rest, 2),
            "whatsapp_net_p50_over_rest_p50": round(merged[f"whatsapp_{size}"]["net_p50_ms"] / rest, 2),
            "whatsapp0_p50_over_rest_p50": round(merged[f"whatsapp0_{size}"]["p50_ms"] / rest, 2),
        }
    out["ratio_per_round_n"] = [
        round(w["p50_ms"] / r["p50_ms"], 2) for w, r in zip(out["rounds"]["whatsapp_n"], out["rounds"]["rest_n"], strict=True)
    ]
    out["platform_latency_ms"] = round(latency_s * 1000)
    return out


def table(report: dict[str, Any], users: int) -> str:
    labels = {"rest": "REST", "whatsapp": f"WhatsApp, platform {report['platform_latency_ms']} ms/call",
              "whatsapp0": "WhatsApp, platform 0 ms/call"}
    lines = ["| run | users | turns | p50 ms | p95 ms | turns/s | p50 net of platform ms | msgs/turn | errors |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, count in (("1", 1), ("n", users)):
        for kind in ("rest", "whatsapp", "whatsapp0"):
            row = report["merged"][f"{kind}_{size}"]
            net = row.get("net_p50_ms", "")
            per_turn = row.get("messages_per_turn", "")
            lines.append(f"| {labels[kind]} | {count} | {row['requests']} | {row['p50_ms']} | {row['p95_ms']} | "
                         f"{row['throughput_rps']} | {net} | {per_turn} | {row['errors']} |")
    for size, count in (("1", 1), ("n", users)):
        ratio = report[f"ratio_{size}"]
        lines.append(f"\n{count} user(s): WhatsApp p50 / REST p50 = **{ratio['whatsapp_p50_over_rest_p50']}** "
                     f"(net of the platform's time: {ratio['whatsapp_net_p50_over_rest_p50']}; "
                     f"platform at 0 ms: {ratio['whatsapp0_p50_over_rest_p50']})")
    lines.append(f"\nper round, {users} users, WhatsApp p50 / REST p50: {report['ratio_per_round_n']}")
    think = report["merged"]["whatsapp_n"].get("think_ms", 0)
    lines.append(f"WhatsApp users' pause after each turn: {think} ms (REST users: none); repeated first-contact "
                 f"notices: {sum(report['merged'][k].get('repeated_notices', 0) for k in report['merged'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=150.0, help="simulated Twilio API time per call")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="WhatsApp users' pause after a complete turn (REST users have none)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions of every run (merged)")
    parser.add_argument("--sanity-turns", type=int, default=len(OUR_MESSAGES), help="turns of the 1-user runs")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)

    facts = {**machine_facts(), "commit": git_commit(), "users": args.users, "turns": args.turns,
             "rounds": args.rounds, "sanity_turns": args.sanity_turns, "latency_ms": args.latency_ms,
             "think_ms": args.think_ms}
    print(f"[messaging] {facts['date']}, commit {facts['commit']}, load average {facts['load_average_at_start']}")
    model = our_model()
    workdir = args.workdir or Path(os.environ.get("TMPDIR", "/tmp")) / f"oim-messaging-bench-{os.getpid()}"
    sims = NotifyingSimulators(twilio_sid=TWILIO_SID, twilio_token=TWILIO_TOKEN, telegram_token="unused:unused",
                               graph_token="unused")
    sims.start()
    env = rasa_env(sims.url)
    started = time.monotonic()
    topology = start_server(workdir, model, env)
    rasa = topology.parts["rasa"]
    assert isinstance(rasa, RasaServer)
    try:
        print(f"[messaging] Rasa (REST + WhatsApp) and actions ready in {time.monotonic() - started:.1f} s; "
              f"logs in {workdir}")
        warm_up(rasa.url, OUR_MESSAGES)
        report = asyncio.run(measure(rasa, sims, env, args))
        report["connector_health"] = connector_health(rasa)
    finally:
        topology.stop()
        sims.stop()
    facts["load_average_at_end"] = loadavg()
    facts["date_end"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    report = {"machine": facts, **report}
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "messaging.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(table(report, args.users))
    print(f"[messaging] connector: {report['connector_health']}")
    print(f"[messaging] load average at start {facts['load_average_at_start']}, at end {facts['load_average_at_end']}; "
          f"written to {RESULTS_DIR / 'messaging.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
