"""Staff attention queue ("handled" + audit, personal data hidden unless shown) and dashboard (issue 16, items 2 and 6).

Pure functions on hand-made events; the bulk readers (event_scan.py) against Rasa's own stores
(SQLite, PostgreSQL, Redis), written with Rasa's own classes, compared with Rasa's generic reader;
the real web application (aiohttp test client) over a real SQLite store, with a fake Rasa HTTP API that records
the "handled" events it is sent. The end-to-end path through the real Rasa server (SQLite and
Redis) is in tests/test_staff_queue_stack.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.serving.tracker_stores import open_tracker_store
from bot.serving.web.attention_queue import (
    HANDLED_SLOT,
    build_queue,
    clean_name,
    handled_event,
    handled_marks,
    queue_item,
    staff_transcript,
)
from bot.serving.web.dashboard import (
    DAY_S,
    TtlCache,
    bar_chart,
    compute_dashboard,
    group_key,
    window_start,
)
from bot.serving.web.event_scan import event_text, scan_any, scan_redis, scan_sql
from bot.serving.web.staff_auth import StaffAuth
from tests.stack import PostgresServer, RedisServer, free_port
from tests.web_app import FakeRasa, config_for, conversation_url, sqlite_endpoints, start_client

NOW = time.time()
TODAY = window_start(NOW, 1)  # midnight UTC today
PHONE = "06 12 34 56 78"
EMAIL = "amina.diallo@example.org"
BOT_CONTACT = "Écrivez à press@iom.int."  # the assistant's own (public) contact: never redacted


def user(text: str, at: float, intent: str = "ask_iom_identity") -> dict[str, Any]:
    from rasa.shared.core.events import UserUttered

    return UserUttered(text, intent={"name": intent, "confidence": 0.9}, timestamp=at).as_dict()


def slot(name: str, value: Any, at: float) -> dict[str, Any]:
    from rasa.shared.core.events import SlotSet

    return SlotSet(name, value, timestamp=at).as_dict()


def action(name: str, at: float) -> dict[str, Any]:
    from rasa.shared.core.events import ActionExecuted

    return ActionExecuted(name, timestamp=at).as_dict()


def bot(text: str, at: float) -> dict[str, Any]:
    from rasa.shared.core.events import BotUttered

    return BotUttered(text, timestamp=at).as_dict()


def start(at: float) -> list[dict[str, Any]]:
    from rasa.shared.core.events import SessionStarted

    return [action("action_session_start", at), SessionStarted(timestamp=at).as_dict(), action("action_listen", at)]


def asked_human(text: str, at: float) -> list[dict[str, Any]]:
    return [*start(at - 2), user(text, at - 1, "ask_human"), action("action_human_handoff", at),
            bot(BOT_CONTACT, at), slot("handoff_requested", True, at), action("action_listen", at)]


# --- "handled" and the queue (pure) ------------------------------------------------------------

def test_a_handled_mark_after_the_request_closes_it_and_a_new_request_reopens_it() -> None:
    events = asked_human("je veux parler à quelqu'un", NOW - 600)
    item = queue_item("c1", events)
    assert item is not None and item.handled is None and item.flagged_at == NOW - 600

    events.append(handled_event("Awa", now=NOW - 300))
    item = queue_item("c1", events)
    assert item is not None and item.handled is not None
    assert (item.handled.by, item.handled.at) == ("Awa", NOW - 300)

    events += [user("toujours besoin d'aide", NOW - 100, "ask_human"), slot("handoff_requested", True, NOW - 100)]
    item = queue_item("c1", events)
    assert item is not None and item.handled is None  # asked again after the mark: back in the queue
    events.append(handled_event("Jean\n<b>", now=NOW))
    assert [(m.by, m.at) for m in handled_marks(events)] == [("Awa", NOW - 300), ("Jean <b>", NOW)]
    assert queue_item("c1", events).handled.by == "Jean <b>"  # type: ignore[union-attr]


def test_names_in_the_audit_are_one_short_printable_line() -> None:
    assert clean_name("  Awa\tDiallo\n\x00 ") == "Awa Diallo"
    assert len(clean_name("x" * 500)) == 60
    event = handled_event("Awa", now=123.0)
    assert event == {"event": "slot", "name": HANDLED_SLOT, "value": {"by": "Awa", "at": 123.0}, "timestamp": 123.0}


def test_queue_puts_urgent_first_then_newest_and_hides_handled_unless_asked() -> None:
    calm_old = asked_human("un humain svp", NOW - 3000)
    calm_new = asked_human("parler à quelqu'un", NOW - 100)
    urgent = [*asked_human("je suis en danger", NOW - 5000), slot("urgent", True, NOW - 5000)]
    done = [*asked_human("un conseiller", NOW - 50), handled_event("Awa", now=NOW - 10)]
    unread = [*start(NOW - 70), user("xqzt", NOW - 60, "nlu_fallback"), user("qsdf", NOW - 40, "nlu_fallback")]
    calm = [*start(NOW - 70), user("bonjour", NOW - 60, "greet")]
    staff = asked_human("je veux parler à un humain", NOW)
    conversations = [("calm-old", calm_old), ("calm-new", calm_new), ("urgent", urgent), ("done", done),
                     ("unread", unread), ("calm", calm), ("staff-ask-123", staff)]

    queue = build_queue(conversations, include_handled=False, max_scanned=100)
    assert [i.summary.sender_id for i in queue.items] == ["urgent", "unread", "calm-new", "calm-old"]
    assert (queue.open_count, queue.handled_count, queue.scanned, queue.truncated) == (4, 1, 6, False)
    assert queue.items[1].summary.reasons == ("fallbacks",)

    everything = build_queue(conversations, include_handled=True, max_scanned=100)
    assert [i.summary.sender_id for i in everything.items][-1] == "done"
    assert everything.items[-1].as_json()["handled"] == {"by": "Awa", "at": NOW - 10}

    first_two = build_queue(conversations, include_handled=True, max_scanned=100, limit=2)
    assert len(first_two.items) == 2 and first_two.not_shown == 3
    capped = build_queue(conversations, include_handled=False, max_scanned=2)
    assert capped.truncated and capped.scanned == 2


def test_what_people_typed_is_redacted_unless_staff_show_it() -> None:
    events = [*asked_human(f"rappelez-moi au {PHONE} ou {EMAIL}", NOW - 60), handled_event("Awa", now=NOW)]
    item = queue_item("c1", events)
    assert item is not None and PHONE not in item.excerpt and EMAIL not in item.excerpt
    assert "[téléphone]" in item.excerpt and "[courriel]" in item.excerpt
    assert PHONE not in json.dumps(item.as_json()) and EMAIL not in json.dumps(item.as_json())

    hidden = staff_transcript(events, reveal=False)
    said = [line.text for line in hidden if line.kind == "user"]
    assert said == ["rappelez-moi au [téléphone] ou [courriel]"]
    assert BOT_CONTACT in [line.text for line in hidden if line.kind == "bot"]
    assert [(line.kind, line.text) for line in hidden][-1] == ("handled", "Awa")  # the audit, in time order
    shown = staff_transcript(events, reveal=True)
    assert f"rappelez-moi au {PHONE} ou {EMAIL}" in [line.text for line in shown]


# --- dashboard (pure) ----------------------------------------------------------------------

def test_dashboard_counts_per_day_topics_and_unanswered_groups() -> None:
    yesterday, today = TODAY - DAY_S + 3600, TODAY + 60
    one = [*start(yesterday), user("c'est quoi l'oim", yesterday + 1), action("action_answer_question", yesterday + 2),
           slot("topic", "org.identity", yesterday + 2), slot("feedback", "utile", yesterday + 3),
           user("je cherche du travail à Paris", today, "out_of_scope"), action("action_search_fallback", today + 1)]
    two = [*start(today), user(f"xqzt {PHONE}", today + 1, "nlu_fallback"), action("action_search_fallback", today + 2),
           user("Paris travail cherche", today + 3, "ask_contact"), action("action_search_fallback", today + 4),
           user("qui dirige l'oim", today + 5, "ask_leadership"), action("action_answer_question", today + 6),
           slot("topic", "org.leadership", today + 6), slot("topic", "org.identity", today + 7),
           slot("handoff_requested", True, today + 8), slot("urgent", True, today + 8),
           slot("feedback", "pas_utile", today + 9)]
    old = [*start(TODAY - 30 * DAY_S), user("vieux message", TODAY - 30 * DAY_S, "nlu_fallback")]
    staff = [*start(today), user("question du personnel", today + 1, "nlu_fallback")]
    board = compute_dashboard([("one", one), ("two", two), ("old", old), ("staff-ask-1", staff)], now=NOW, days=2)

    (d1, d2) = board.days
    assert [d1.day, d2.day] == [time.strftime("%Y-%m-%d", time.gmtime(yesterday)), time.strftime("%Y-%m-%d", time.gmtime(today))]
    assert (d1.conversations, d1.messages, d1.fallbacks, d1.feedback_useful) == (1, 1, 0, 1)
    assert (d2.conversations, d2.messages, d2.fallbacks) == (2, 4, 1)
    assert (d2.handoffs, d2.safety_flags, d2.feedback_not_useful) == (1, 1, 1)
    assert d2.fallback_rate == 0.25 and board.totals.messages == 5
    assert board.totals.conversations == 2  # "one" wrote on both days: counted once over the window
    assert board.topics == [("org.identity", 2), ("org.leadership", 1)]
    assert board.conversations_scanned == 3  # the staff's own conversation is not counted

    groups = {g.key: g for g in board.unanswered}
    assert groups["cherche paris travail"].count == 2  # same words, other order: one group
    assert groups["cherche paris travail"].example == "Paris travail cherche"  # the latest
    assert set(groups) == {"cherche paris travail", "telephone xqzt"}
    data = json.dumps(board.as_json())
    assert PHONE not in data and "vieux" not in data  # redacted; outside the window
    assert group_key("Je CHERCHE du travail à Paris ?") == group_key("paris... travail, cherche")


def test_bar_chart_scales_bars_to_a_round_maximum() -> None:
    chart = bar_chart("messages", "Messages", ["2026-12-01", "2026-12-02", "2026-12-03"], [0, 35, 70])
    assert [bar.label for bar in chart.bars] == ["12-01", "12-02", "12-03"]
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0 and heights[2] == pytest.approx(2 * heights[1], abs=0.2)
    assert chart.ticks[-1][1] == "100"  # 70 rounded up to 100
    assert all(bar.y + bar.height == pytest.approx(chart.baseline, abs=0.2) for bar in chart.bars)
    rate = bar_chart("fallback_rate", "Taux", ["2026-12-01"], [0.25], percent=True)
    assert rate.bars[0].value == "25.0 %" and rate.ticks[-1][1] == "50 %"


async def test_the_cache_computes_once_a_minute() -> None:
    clock = [0.0]
    cache: TtlCache[int] = TtlCache(60, clock=lambda: clock[0])
    calls: list[int] = []

    async def compute() -> int:
        calls.append(1)
        return len(calls)

    assert await cache.get(14, compute) == (1, False)
    clock[0] = 59
    assert await cache.get(14, compute) == (1, True)
    assert await cache.get(30, compute) == (2, False)  # another window: its own value
    clock[0] = 61
    assert await cache.get(14, compute) == (3, False)
    results = await asyncio.gather(*(cache.get(7, compute) for _ in range(5)))
    assert [value for value, _ in results] == [4] * 5  # concurrent requests: one computation


def test_the_session_cookie_carries_the_staff_name() -> None:
    auth = StaffAuth("a-staff-token-0123456789", session_hours=1, secure_cookie=False)
    assert auth.session_name(auth.session_value("Awa")) == "Awa"
    assert auth.session_name(auth.session_value()) == ""
    old = auth._serializer.dumps("staff")  # type: ignore[union-attr]  # a session opened before names
    assert auth.session_valid(old) and auth.session_name(old) == ""
    value = auth.session_value("Awa")
    assert auth.session_name(value[:-2] + "xx") is None and not auth.session_valid(value[:-2] + "xx")
    other = StaffAuth("another-token-0123456789", session_hours=1, secure_cookie=False)
    assert other.session_name(value) is None


# --- bulk readers against Rasa's own stores --------------------------------------------------

def sample_conversations() -> dict[str, list[dict[str, Any]]]:
    return {
        "asked": [*asked_human(f"appelez le {PHONE}", NOW - 500), slot("feedback", "pas_utile", NOW - 450),
                  handled_event("Awa", now=NOW - 400), slot("programme", "resettlement", NOW - 300)],
        "unread": [*start(NOW - 90), user("xqzt", NOW - 80, "nlu_fallback"), action("action_search_fallback", NOW - 79),
                   bot("Je n'ai pas d'information précise.", NOW - 79),
                   user(f"écrire à {EMAIL}", NOW - 70, "nlu_fallback"), action("action_search_fallback", NOW - 69)],
        "answered": [*start(NOW - 50), user("qui dirige l'oim", NOW - 40, "ask_leadership"),
                     action("action_answer_question", NOW - 39), slot("topic", "org.leadership", NOW - 39),
                     slot("urgent", True, NOW - 30), user("merci", NOW - 20, "thanks"),
                     action("action_search_fallback", NOW - 19)],
    }


async def save_all(store: Any, conversations: dict[str, list[dict[str, Any]]]) -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker

    for sender, events in conversations.items():
        await store.save(DialogueStateTracker.from_events(sender, [Event.from_parameters(e) for e in events]))


def same_views(fast: list[tuple[str, list[dict[str, Any]]]], generic: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """The bulk reader gives the queue and the dashboard exactly what Rasa's generic reader gives."""
    def queue_json(conversations: list[tuple[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
        items = build_queue(conversations, include_handled=True, max_scanned=100).items
        return [{k: v for k, v in item.as_json().items() if k != "last_activity"} for item in items]

    assert [sender for sender, _ in fast] == [sender for sender, _ in generic]
    assert queue_json(fast) == queue_json(generic)
    assert compute_dashboard(fast, now=NOW, days=3).as_json() == compute_dashboard(generic, now=NOW, days=3).as_json()


def test_bulk_sql_reader_gives_what_rasa_gives(tmp_path: Path) -> None:
    store = open_tracker_store(sqlite_endpoints(tmp_path))
    asyncio.run(save_all(store, sample_conversations()))
    generic = list(scan_any(store))
    for extract_in_sql in (True, False):  # SQLite's JSON functions, and the path of other SQL databases
        fast = list(scan_sql(store, extract_in_sql=extract_in_sql))
        same_views(fast, generic)
        asked = dict(fast)["asked"]
        assert [event_text(e) for e in asked if e["event"] == "user"] == [f"appelez le {PHONE}"]  # fetched on demand
        assert {"handoff_requested", HANDLED_SLOT, "feedback"} <= {e.get("name") for e in asked}
        assert "programme" not in {e.get("name") for e in asked}  # slots nobody reads are left in the store
    board = compute_dashboard(scan_sql(store), now=NOW, days=3)
    assert board.totals.handoffs == 1 and board.totals.safety_flags == 1 and board.totals.fallbacks == 2
    assert sorted(g.count for g in board.unanswered) == [1, 1, 1]  # "merci" got the fallback action too


@pytest.fixture(scope="module")
def scratch_redis(tmp_path_factory: pytest.TempPathFactory):
    server = RedisServer(port=free_port(), workdir=tmp_path_factory.mktemp("queue-redis")).start()
    yield server
    server.stop()


def test_bulk_redis_reader_gives_what_rasa_gives(scratch_redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.knowledge.paths import repo_root

    for key, value in {**scratch_redis.env(record_exp="600"), "REDIS_DB": "2",
                       "ACTION_ENDPOINT_URL": "http://127.0.0.1:1/webhook"}.items():
        monkeypatch.setenv(key, value)
    store = open_tracker_store(repo_root() / "endpoints.redis.yml")
    assert type(store).__name__ == "RetryingRedisTrackerStore"  # a RedisTrackerStore: scan() reads it in bulk
    asyncio.run(save_all(store, sample_conversations()))
    fast = list(scan_redis(store))
    assert [sender for sender, _ in fast] == ["answered", "asked", "unread"]  # key prefix removed
    same_views(fast, list(scan_any(store)))


def test_bulk_sql_reader_on_postgresql_gives_what_rasa_gives(
    scratch_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.knowledge.paths import repo_root

    postgres = PostgresServer(port=free_port(), workdir=tmp_path_factory.mktemp("queue-postgres")).start()
    try:
        for key, value in {**postgres.env(), **scratch_redis.env(), "ACTION_ENDPOINT_URL": "http://127.0.0.1:1/webhook"}.items():
            monkeypatch.setenv(key, value)
        store = open_tracker_store(repo_root() / "endpoints.postgres.yml")
        assert store.engine.dialect.name == "postgresql"
        asyncio.run(save_all(store, sample_conversations()))
        fast = list(scan_sql(store))  # PostgreSQL: the stored JSON decoded in Python
        same_views(fast, list(scan_any(store)))
        assert event_text(next(e for e in dict(fast)["asked"] if e["event"] == "user")) == f"appelez le {PHONE}"
        store.engine.dispose()
    finally:
        postgres.stop()


# --- the web application over a real SQLite store --------------------------------------------

TOKEN_HEADER = {"Authorization": "Bearer in-process-staff-token-0123456789"}


@pytest.fixture()
async def client(tmp_path: Path, fake_rasa: FakeRasa) -> AsyncIterator[TestClient]:
    endpoints = sqlite_endpoints(tmp_path)
    await save_all(open_tracker_store(endpoints), sample_conversations())
    web_client = await start_client(config_for(fake_rasa.url, fake_rasa.url, endpoints, rasa_token="rasa-api-token"))
    try:
        yield web_client
    finally:
        await web_client.close()


async def login(client: TestClient, name: str) -> None:
    response = await client.post("/staff/login", data={"token": "in-process-staff-token-0123456789", "name": name},
                                 allow_redirects=False)
    assert response.status == 303


async def test_every_new_page_and_api_needs_the_token(client: TestClient, fake_rasa: FakeRasa) -> None:
    for path in ("/api/staff/queue", "/api/staff/dashboard", conversation_url("asked", api=True)):
        response = await client.get(path)
        assert response.status == 401 and (await response.json())["error"] == "unauthorized", path
    for path in ("/staff/queue", "/staff/dashboard", conversation_url("asked") + "?show=1"):
        page = await (await client.get(path)).text()
        assert 'name="token"' in page and PHONE not in page and "<svg" not in page, path
    response = await client.post(conversation_url("asked") + "/handled", data={"back": "queue"}, allow_redirects=False)
    assert response.status == 401 and 'name="token"' in await response.text()
    response = await client.post(conversation_url("asked", api=True) + "/handled", json={"by": "x"})
    assert response.status == 401
    assert fake_rasa.events == []  # nothing reached Rasa
    response = await client.get("/staff/handoffs?handled=1", allow_redirects=False)
    assert response.status == 301 and response.headers["Location"] == "/staff/queue?handled=1"


async def test_queue_page_and_json_hide_personal_data(client: TestClient) -> None:
    data = await (await client.get("/api/staff/queue", headers=TOKEN_HEADER)).json()
    assert [c["sender_id"] for c in data["conversations"]] == ["answered", "unread"]  # "asked" was handled
    assert data["open"] == 2 and data["handled"] == 1 and data["feedback"] == {"utile": 0, "pas_utile": 1}
    data = await (await client.get("/api/staff/queue?handled=1", headers=TOKEN_HEADER)).json()
    asked = data["conversations"][-1]
    assert asked["sender_id"] == "asked" and asked["handled"] == {"by": "Awa", "at": NOW - 400}
    assert asked["excerpt"] == "appelez le [téléphone]"
    page = await (await client.get("/staff/queue?handled=1", headers=TOKEN_HEADER)).text()
    assert "Traitée</span> par Awa" in page and conversation_url("unread") in page
    raw = json.dumps(data) + page
    assert PHONE not in raw and EMAIL not in raw and "[courriel]" in raw


async def test_transcript_is_redacted_and_showing_it_is_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    page = await (await client.get(conversation_url("unread"), headers=TOKEN_HEADER)).text()
    assert EMAIL not in page and "[courriel]" in page and 'name="show" value="1"' in page
    assert "Marquer comme traitée" in page
    with caplog.at_level(logging.INFO, logger="bot.serving.web.queue_views"):
        page = await (await client.get(conversation_url("unread") + "?show=1", headers=TOKEN_HEADER)).text()
    assert EMAIL in page and "enregistré" in page
    logged = [r.getMessage() for r in caplog.records if "showed the personal data" in r.getMessage()]
    assert logged and all(EMAIL not in line for line in caplog.text.splitlines())
    data = await (await client.get(conversation_url("asked", api=True), headers=TOKEN_HEADER)).json()
    assert data["audit"] == [{"by": "Awa", "at": NOW - 400}] and data["revealed"] is False
    assert PHONE not in json.dumps(data)
    page = await (await client.get(conversation_url("asked"), headers=TOKEN_HEADER)).text()
    assert "traitée par Awa" in page and "Marquer comme traitée" not in page


async def test_marking_handled_appends_the_audit_event_through_rasa(client: TestClient, fake_rasa: FakeRasa) -> None:
    await login(client, "Fatou <script>")
    response = await client.post(conversation_url("unread") + "/handled", data={"back": "conversation"},
                                 allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == conversation_url("unread")
    [(sender, query, event)] = fake_rasa.events
    assert sender == "unread" and query["token"] == "rasa-api-token"
    assert event["name"] == HANDLED_SLOT and event["value"]["by"] == "Fatou <script>"
    assert abs(event["value"]["at"] - time.time()) < 60

    response = await client.post(conversation_url("answered", api=True) + "/handled", json={"by": "Script"},
                                 headers=TOKEN_HEADER)
    assert response.status == 200 and (await response.json())["handled"]["by"] == "Script"
    client.session.cookie_jar.clear()
    response = await client.post(conversation_url("answered", api=True) + "/handled", headers=TOKEN_HEADER)
    assert (await response.json())["handled"]["by"] == "API"  # a script that gives no name
    for body in ({"by": 3}, {"who": "x"}, {"by": "x" * 61}):
        response = await client.post(conversation_url("answered", api=True) + "/handled", json=body, headers=TOKEN_HEADER)
        assert response.status == 400 and (await response.json())["error"] == "invalid_handled_body"
    response = await client.post(conversation_url("nobody-here", api=True) + "/handled", headers=TOKEN_HEADER)
    assert response.status == 404  # never creates a conversation
    assert len(fake_rasa.events) == 3


async def test_marking_handled_without_fake_rasa_says_so(tmp_path: Path) -> None:
    endpoints = sqlite_endpoints(tmp_path)
    await save_all(open_tracker_store(endpoints), sample_conversations())
    web_client = await start_client(config_for("http://127.0.0.1:9", "http://127.0.0.1:9", endpoints))
    try:
        response = await web_client.post(conversation_url("unread", api=True) + "/handled", headers=TOKEN_HEADER)
        assert response.status == 503 and (await response.json())["error"] == "handled_unavailable"
    finally:
        await web_client.close()


async def test_dashboard_page_draws_svg_and_the_json_twin_gives_the_numbers(client: TestClient) -> None:
    response = await client.get("/staff/dashboard?jours=7", headers=TOKEN_HEADER)
    page = await response.text()
    assert response.status == 200 and page.count("<svg") == 5 and "<rect" in page and "<script" not in page
    assert PHONE not in page and EMAIL not in page and "[courriel]" in page
    data = await (await client.get("/api/staff/dashboard?jours=7", headers=TOKEN_HEADER)).json()
    assert len(data["days"]) == 7 and data["cached"] is True  # the page computed it a moment ago
    assert data["totals"]["handoffs"] == 1 and data["totals"]["safety_flags"] == 1
    assert data["top_topics"][0]["topic"] == "org.leadership" and data["top_topics"][0]["title"]
    assert data["totals"]["messages"] == 5 and data["totals"]["fallbacks"] == 2
    assert len((await (await client.get("/api/staff/dashboard?jours=abc", headers=TOKEN_HEADER)).json())["days"]) == 14


async def test_no_staff_route_answers_without_the_token(client: TestClient, fake_rasa: FakeRasa) -> None:
    """Every /staff and /api/staff route of the application (new ones included) asks for the token."""
    open_routes = {("POST", "/staff/login"), ("POST", "/staff/logout"), ("GET", "/staff/handoffs")}
    checked = 0
    for route in client.app.router.routes():  # type: ignore[union-attr]
        path = route.resource.canonical if route.resource is not None else ""
        if route.method not in ("GET", "POST") or not path.startswith(("/staff", "/api/staff")):
            continue
        if (route.method, path) in open_routes:
            continue
        url = path.replace("{ref}", "asked")
        response = await client.request(route.method, url, allow_redirects=False)
        body = await response.text()
        if path.startswith("/api/"):
            assert response.status == 401, (route.method, path)
        else:
            assert 'name="token"' in body and PHONE not in body, (route.method, path)
        checked += 1
    assert checked >= 10 and fake_rasa.events == []


async def test_a_cross_site_handled_form_is_refused(client: TestClient, fake_rasa: FakeRasa) -> None:
    await login(client, "Awa")
    response = await client.post(conversation_url("unread") + "/handled", data={"back": "queue"},
                                 headers={"Origin": "https://evil.example.net"}, allow_redirects=False)
    assert response.status == 403 and fake_rasa.events == []
