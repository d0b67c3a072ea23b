"""Staff console: urgent conversations (slot `urgent`, action_safety_triage) come first, marked "Urgent".

In process: the real aiohttp application (aiohttp's test client) over a real SQLite store written with
Rasa's own SQLTrackerStore and tracker events, as the Rasa server writes them. No Rasa server needed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.serving.tracker_stores import open_tracker_store
from bot.serving.web.app import create_app
from bot.serving.web.config import WebConfig
from bot.serving.web.conversations import handoff_summary, priority_order, transcript_lines
from bot.serving.web.texts import staff_text
from tests.web_app import conversation_url

TOKEN = "urgent-tests-staff-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
NOW = time.time()
MINUTE = 60.0


def conversation(text: str, at: float, handoff: bool = True, urgent: bool = False) -> list:
    """The events Rasa stores for one exchange; the slots as action_human_handoff / action_safety_triage set them."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

    events = [
        ActionExecuted("action_session_start", timestamp=at - 2),
        SessionStarted(timestamp=at - 2),
        ActionExecuted("action_listen", timestamp=at - 2),
        UserUttered(text, intent={"name": "urgent_help" if urgent else "ask_human", "confidence": 0.9},
                    timestamp=at - 1),
        BotUttered("Une personne de l'équipe peut vous aider.", timestamp=at),
    ]
    if handoff:
        events.append(SlotSet("handoff_requested", True, timestamp=at))
    if urgent:
        events.append(SlotSet("urgent", True, timestamp=at))
    events.append(ActionExecuted("action_listen", timestamp=at))
    return events


# sender -> (events); the urgent ones are NOT the most recent requests: order must come from urgency.
CONVERSATIONS = {
    "calm-newest": conversation("je veux parler à quelqu'un", NOW - 1 * MINUTE),
    "calm-older": conversation("un humain svp", NOW - 5 * MINUTE),
    "urgent-newer": conversation("je n'en peux plus", NOW - 30 * MINUTE, urgent=True),
    "urgent-oldest": conversation("je suis en danger <script>alert('x')</script>", NOW - 90 * MINUTE, urgent=True),
    "urgent-only": conversation("on me frappe", NOW - 60 * MINUTE, handoff=False, urgent=True),
    "never-asked": conversation("bonjour", NOW - 2 * MINUTE, handoff=False),
}
SCRIPT = "<script>alert('x')</script>"

EXPECTED_ORDER = ["urgent-newer", "urgent-only", "urgent-oldest", "calm-newest", "calm-older"]


async def save_all(endpoints: Path, conversations: dict[str, list]) -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    store = open_tracker_store(endpoints)
    assert type(store).__name__ == "SQLTrackerStore"
    for sender, events in conversations.items():
        await store.save(DialogueStateTracker.from_events(sender, events))


def sqlite_endpoints(folder: Path) -> Path:
    endpoints = folder / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: trackers.db\n", encoding="utf-8")
    return endpoints


async def staff_client(endpoints: Path) -> TestClient:
    # Rasa is never contacted by the staff pages; retention 0: no purge task.
    config = WebConfig(endpoints=endpoints, staff_token=TOKEN, rasa_urls=("http://127.0.0.1:9",),
                       actions_url="http://127.0.0.1:9", retention_days=0)
    client = TestClient(TestServer(create_app(config)))
    await client.start_server()
    return client


@pytest.fixture()
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    endpoints = sqlite_endpoints(tmp_path)
    await save_all(endpoints, CONVERSATIONS)
    client = await staff_client(endpoints)
    try:
        yield client
    finally:
        await client.close()


async def test_api_lists_urgent_conversations_first_with_the_flag(client: TestClient) -> None:
    response = await client.get("/api/staff/handoffs", headers=BEARER)
    assert response.status == 200
    listed = (await response.json())["conversations"]
    assert [c["sender_id"] for c in listed] == EXPECTED_ORDER
    flags = {c["sender_id"]: c["urgent"] for c in listed}
    assert flags == {"urgent-newer": True, "urgent-only": True, "urgent-oldest": True,
                     "calm-newest": False, "calm-older": False}
    assert all(isinstance(c["urgent"], bool) for c in listed)
    by_id = {c["sender_id"]: c for c in listed}
    # A conversation flagged urgent without a handoff request is listed too (someone must look at it).
    assert by_id["urgent-only"]["still_requested"] is False
    assert by_id["urgent-newer"]["still_requested"] is True
    assert by_id["urgent-newer"]["urgent_at"] == pytest.approx(NOW - 30 * MINUTE)
    assert by_id["calm-newest"]["urgent_at"] is None


async def test_console_page_shows_urgent_rows_first_marked_urgent(client: TestClient) -> None:
    response = await client.get("/staff/queue", headers=BEARER)
    assert response.status == 200
    page = await response.text()
    positions = [page.index(conversation_url(sender, TOKEN)) for sender in EXPECTED_ORDER]
    assert positions == sorted(positions), "rows must follow the priority order"
    label = staff_text("urgent_tag")
    assert label == "Urgent"
    assert page.count(f'<span class="tag urgent">{label}</span>') == 3
    assert page.count('<tr class="urgent">') == 3
    # Every urgent row comes before the first ordinary row.
    assert page.rindex('<tr class="urgent">') < page.index(conversation_url("calm-newest", TOKEN))
    assert staff_text("urgent_note") in page.replace("&#x27;", "'").replace("&quot;", '"')
    assert "never-asked" not in page


async def test_transcript_shows_when_a_conversation_was_flagged_urgent(client: TestClient) -> None:
    response = await client.get(conversation_url("urgent-newer", TOKEN, api=True), headers=BEARER)
    kinds = [line["kind"] for line in (await response.json())["transcript"]]
    assert response.status == 200 and "urgent" in kinds and "handoff" in kinds
    response = await client.get(conversation_url("urgent-newer", TOKEN), headers=BEARER)
    page = (await response.text()).replace("&#x27;", "'")
    assert response.status == 200 and staff_text("urgent_event") in page
    response = await client.get(conversation_url("urgent-oldest", TOKEN), headers=BEARER)
    page = await response.text()
    assert SCRIPT not in page and "&lt;script&gt;" in page  # what people typed is shown, never run
    response = await client.get(conversation_url("calm-newest", TOKEN, api=True), headers=BEARER)
    assert "urgent" not in [line["kind"] for line in (await response.json())["transcript"]]


async def test_no_urgent_conversation_means_no_urgent_mark(tmp_path: Path) -> None:
    endpoints = sqlite_endpoints(tmp_path)
    await save_all(endpoints, {k: v for k, v in CONVERSATIONS.items() if k.startswith("calm")})
    client = await staff_client(endpoints)
    try:
        data = await (await client.get("/api/staff/handoffs", headers=BEARER)).json()
        assert [(c["sender_id"], c["urgent"]) for c in data["conversations"]] == [
            ("calm-newest", False), ("calm-older", False)]
        page = await (await client.get("/staff/queue", headers=BEARER)).text()
        assert 'class="tag urgent"' not in page and staff_text("urgent_note") not in page
    finally:
        await client.close()


def test_urgent_stays_urgent_after_a_later_message_and_ranks_by_urgency_then_time() -> None:
    events = [e.as_dict() for e in conversation("je n'en peux plus", NOW - 10 * MINUTE, urgent=True)]
    events.append({"event": "slot", "name": "handoff_requested", "value": False, "timestamp": NOW})
    events.append({"event": "user", "text": "merci", "timestamp": NOW})
    summary = handoff_summary("s1", events)
    assert summary is not None and summary.urgent and not summary.still_requested
    assert summary.last_activity == NOW
    calm = handoff_summary("s2", [e.as_dict() for e in conversation("un humain", NOW)])
    assert calm is not None and not calm.urgent
    assert [s.sender_id for s in priority_order([calm, summary])] == ["s1", "s2"]
    assert handoff_summary("s3", [e.as_dict() for e in conversation("bonjour", NOW, handoff=False)]) is None
    assert [line.kind for line in transcript_lines(events)].count("urgent") == 1


def test_two_unread_messages_in_a_row_or_a_pas_utile_put_a_conversation_in_the_list() -> None:
    from rasa.shared.core.events import SlotSet, UserUttered

    def unread(text: str, at: float) -> dict:
        return UserUttered(text, intent={"name": "nlu_fallback", "confidence": 0.3}, timestamp=at).as_dict()

    calm = [e.as_dict() for e in conversation("bonjour", NOW - 60, handoff=False)]
    assert handoff_summary("one", [*calm, unread("xkcd", NOW - 50)]) is None  # one is not a pattern
    interrupted = [*calm, unread("xkcd", NOW - 50), calm[3], unread("qsdf", NOW - 40)]
    assert handoff_summary("interrupted", interrupted) is None  # not in a row
    lost = handoff_summary("lost", [*calm, unread("xkcd", NOW - 50), unread("qsdf", NOW - 40)])
    assert lost is not None and lost.reasons == ("fallbacks",) and lost.requested_at == NOW - 40
    assert not lost.urgent and not lost.still_requested
    unhappy = handoff_summary("unhappy", [*calm, SlotSet("feedback", "pas_utile", timestamp=NOW).as_dict()])
    assert unhappy is not None and unhappy.reasons == ("negative_feedback",)
    happy = [*calm, SlotSet("feedback", "utile", timestamp=NOW).as_dict()]
    assert handoff_summary("happy", happy) is None
    both = handoff_summary("both", [e.as_dict() for e in conversation("je n'en peux plus", NOW, urgent=True)])
    assert both is not None and both.reasons == ("urgent", "handoff")


def test_staff_texts_live_in_texts_yml() -> None:
    import yaml

    from bot.serving.web.texts import TEXTS_FILE

    staff = yaml.safe_load(TEXTS_FILE.read_text(encoding="utf-8"))["staff"]
    assert staff["urgent_tag"] == staff_text("urgent_tag") == "Urgent"
    labels = [text for value in staff.values() for text in (value.values() if isinstance(value, dict) else [value])]
    assert all(isinstance(text, str) and text.strip() for text in labels)
    assert set(staff["reasons"]) == {"urgent", "handoff", "fallbacks", "negative_feedback"}


def test_a_capped_scan_reads_the_newest_conversations(tmp_path: Path) -> None:
    """The store returns conversations by sender id; a reader that stops after `max_scanned` must
    leave out the oldest, not the ones whose id sorts last: behind thousands of older conversations
    (the QA replay's "qa-..." ones), a new "web-..." hand-off request was never listed."""
    import asyncio

    from bot.serving.web.conversations import ConversationReader

    endpoints = sqlite_endpoints(tmp_path)
    asyncio.run(save_all(endpoints, {
        "aaa-old-request": conversation("un humain svp", NOW - 90 * MINUTE),
        "zzz-new-request": conversation("je veux parler à quelqu'un", NOW - 1 * MINUTE),
    }))
    reader = ConversationReader(endpoints)
    listed = [summary.sender_id for summary in reader.handoffs(max_scanned=1).conversations]
    assert listed == ["zzz-new-request"]
    assert [summary.sender_id for summary in reader.handoffs().conversations] == ["zzz-new-request", "aaa-old-request"]
