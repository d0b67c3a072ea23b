"""How long the staff dashboard takes for 10,000 conversations in a SQLite tracker store.

Why: the dashboard reads every conversation of the window from the tracker store (issue 16: under
1 s for 10,000 conversations). This builds a store as the Rasa server writes it (Rasa's own event
classes, rows as Rasa's SQLTrackerStore.save makes them, our WAL SQLite store of endpoints.yml),
then times, in the real web application (aiohttp, Jinja, SVG):
  - the bulk read + the numbers alone (event_scan + compute_dashboard),
  - the page, first request (read + numbers + render) and second one (cached for a minute),
  - the JSON twin, and the attention queue page over the same store.

    python -m benchmarks.dashboard [--conversations 10000] [--days 14] [--folder DIR]

(--folder keeps the store in DIR and reuses it on the next run: building it takes about a minute.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

TOKEN = "benchmark-staff-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
TOPICS = ["org.identity", "org.member_states", "programme.voluntary_return", "programme.resettlement",
          "programme.evacuation", "org.leadership", "event.gfmd", "programme.relocation"]
QUESTIONS = ["c'est quoi l'oim", "combien d'états membres", "je veux rentrer chez moi", "réinstallation au canada",
             "qui dirige l'oim", "évacuation humanitaire", "relocalisation en europe", "forum mondial migration"]
UNREAD = ["xqzt", "je cherche un travail à paris", "mon numéro est 06 12 34 56 78", "écrivez à ali@example.org",
          "combien coûte un visa", "travail paris cherche"]


def synthetic_conversation(rng: random.Random, now: float, days: int) -> list[Any]:
    """One conversation of 1-5 turns somewhere in the window, with the slots the actions set."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

    at = now - rng.random() * days * 86400
    events: list[Any] = [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at),
                         ActionExecuted("action_listen", timestamp=at)]
    for _ in range(rng.randint(1, 5)):
        at += rng.uniform(5, 120)
        unread = rng.random() < 0.15
        topic = rng.randrange(len(TOPICS))
        text = rng.choice(UNREAD) if unread else QUESTIONS[topic]
        intent = "nlu_fallback" if unread else "ask_" + TOPICS[topic].split(".")[1]
        ranking = [{"name": intent, "confidence": 0.9}] + [{"name": f"other_{i}", "confidence": 0.01} for i in range(9)]
        events.append(UserUttered(text, intent={"name": intent, "confidence": 0.9},
                                  parse_data={"intent": {"name": intent, "confidence": 0.9}, "entities": [],
                                              "intent_ranking": ranking, "text": text}, timestamp=at))
        action = "action_search_fallback" if unread else "action_answer_question"
        events.append(ActionExecuted(action, timestamp=at + 0.5))
        events.append(BotUttered("Voici ce que disent les documents de l'OIM à ce sujet. " * 3, timestamp=at + 0.6))
        if not unread:
            events.append(SlotSet("topic", TOPICS[topic], timestamp=at + 0.6))
        if rng.random() < 0.03:
            events.append(SlotSet("handoff_requested", True, timestamp=at + 0.7))
        if rng.random() < 0.01:
            events.append(SlotSet("urgent", True, timestamp=at + 0.7))
        if rng.random() < 0.05:
            events.append(SlotSet("feedback", rng.choice(["utile", "pas_utile"]), timestamp=at + 30))
        events.append(ActionExecuted("action_listen", timestamp=at + 0.8))
    return events


def build_store(endpoints: Path, conversations: int, days: int, seed: int = 7) -> int:
    """Write `conversations` synthetic conversations with the rows Rasa's SQLTrackerStore.save writes."""
    from bot.serving.tracker_stores import open_tracker_store

    store = open_tracker_store(endpoints)
    rng, now, rows = random.Random(seed), time.time(), 0
    with store.session_scope() as session:
        for n in range(conversations):
            sender = f"web-bench-{n:06d}"
            for event in synthetic_conversation(rng, now, days):
                data = event.as_dict()
                session.add(store.SQLEvent(
                    sender_id=sender, type_name=event.type_name, timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                    action_name=data.get("name"), data=json.dumps(data)))
                rows += 1
        session.commit()
    return rows


async def timed_get(client: TestClient, path: str, headers: dict[str, str]) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds of this process, status, body bytes) of one request."""
    start, cpu = time.perf_counter(), time.process_time()
    response = await client.get(path, headers=headers)
    body = await response.read()
    return time.perf_counter() - start, time.process_time() - cpu, response.status, len(body)


async def measure(endpoints: Path, days: int) -> None:
    from bot.serving.web.app import create_app
    from bot.serving.web.config import WebConfig
    from bot.serving.web.conversations import ConversationReader
    from bot.serving.web.dashboard import compute_dashboard, window_start
    from bot.serving.web.state import KNOWLEDGE

    reader = ConversationReader(endpoints)
    reader.scan()  # opens the store (domain load) outside the timing, as a running service has
    print(f"load average before timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(wall times grow with it; CPU time is what this process used)")
    for attempt in range(3):
        start, cpu = time.perf_counter(), time.process_time()
        now = time.time()
        board = compute_dashboard(reader.scan(since=window_start(now, days)), now=now, days=days)
        print(f"read + numbers ({attempt + 1}): {time.perf_counter() - start:.3f} s wall, "
              f"{time.process_time() - cpu:.3f} s CPU ({board.conversations_scanned} conversations, "
              f"{board.totals.messages} messages in {days} days)")

    config = WebConfig(endpoints=endpoints, staff_token=TOKEN, rasa_urls=("http://127.0.0.1:9",),
                       actions_url="http://127.0.0.1:9", retention_days=0)
    app = create_app(config)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        # The service warms its knowledge (spaCy, search index) in a thread at start-up: wait for it,
        # as the dashboard of a running service would not compete with it.
        await asyncio.get_running_loop().run_in_executor(None, app[KNOWLEDGE].warm)
        for thread in threading.enumerate():
            if thread.name == "knowledge-warm-up":
                await asyncio.get_running_loop().run_in_executor(None, thread.join)
        await timed_get(client, "/staff/dashboard?jours=1", BEARER)  # store opened, templates compiled
        for label, path in [("page, first request (read + numbers + SVG)", f"/staff/dashboard?jours={days}"),
                            ("page, again within the minute (cached)", f"/staff/dashboard?jours={days}"),
                            ("JSON twin, cached", f"/api/staff/dashboard?jours={days}"),
                            ("JSON, 30 days, first request", "/api/staff/dashboard?jours=30"),
                            ("attention queue page (every conversation, all time)", "/staff/queue")]:
            seconds, cpu, status, size = await timed_get(client, path, BEARER)
            print(f"{label}: {seconds:.3f} s wall, {cpu:.3f} s CPU (HTTP {status}, {size // 1024} kB)")
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--folder", type=Path, default=None, help="keep (and reuse) the store here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.folder or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        endpoints = folder / "endpoints.yml"
        database = folder / "trackers.db"
        if not database.exists():
            endpoints.write_text("tracker_store:\n  type: bot.serving.sqlite_tracker_store.SQLiteTrackerStore\n"
                                 "  dialect: sqlite\n  db: trackers.db\n", encoding="utf-8")
            start = time.perf_counter()
            rows = build_store(endpoints, args.conversations, args.days)
            print(f"store built in {time.perf_counter() - start:.1f} s: {rows} events")
        print(f"store: {database} ({database.stat().st_size // 2**20} MB)")
        asyncio.run(measure(endpoints, args.days))


if __name__ == "__main__":
    main()
