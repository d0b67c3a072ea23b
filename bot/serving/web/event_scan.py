"""Every conversation's events, read in bulk from Rasa's tracker store, for the queue and the dashboard.

Why not `retrieve_full_tracker` per conversation: rebuilding 10,000 trackers (slots replayed, events
re-created) takes minutes; the queue and the dashboard only need a few fields of each event. So:

- Rasa's SQL store (SQLite, PostgreSQL; our WAL subclass): one query over its `events` table, using
  the columns Rasa fills on save (`type_name`, `timestamp`, `intent_name`, and `action_name`, which
  holds the slot's name for slot events). Only what the readers use comes back: user messages,
  the slots of READ_SLOTS (their `data` decoded), the fallback actions of READ_ACTIONS; a user
  message's text only when the assistant could not read it, others are fetched on demand
  (`event_text`), since most are never looked at. Bot messages, other slots and actions, and
  session starts are left out.
- Rasa's Redis store: the stored dialogues (JSON, one key per conversation), fetched with MGET.
- Any other store: Rasa's own `keys` + `retrieve_full_tracker` (slow, but correct).

The events come back as dicts shaped like Rasa's serialised events (`event`, `timestamp`, `name`,
`value`, `parse_data.intent.name`, `text`), so the same pure functions read either form.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from bot.serving.tracker_stores import conversation_ids

Conversation = tuple[str, list[dict[str, Any]]]

# Slots whose value the queue and the dashboard read (decoded from the SQL `data` column).
READ_SLOTS = frozenset({"handoff_requested", "urgent", "feedback", "topic", "staff_handled"})
# Actions the SQL reader returns (dashboard.py: "the documents had no precise answer"); the others,
# bot messages and the slots not in READ_SLOTS are left out: nothing here reads them.
READ_ACTIONS = frozenset({"action_search_fallback", "action_default_fallback"})
_RAW = "_raw"  # key of the undecoded SQL `data` of a user event
_ROW = "_row"  # key of (store, row id) of a user event whose `data` was not fetched
FALLBACK_INTENT = "nlu_fallback"
REDIS_BATCH = 500


def event_text(event: dict[str, Any]) -> str:
    """The text of a user or bot event, decoding (or fetching) the stored JSON only when asked."""
    if "text" not in event and _RAW in event:
        event["text"] = json.loads(event.pop(_RAW)).get("text") or ""
    elif "text" not in event and _ROW in event:
        store, row_id = event.pop(_ROW)
        event["text"] = json.loads(_sql_data(store, row_id) or "{}").get("text") or ""
    return str(event.get("text") or "")


def _sql_data(store: Any, row_id: int) -> str | None:
    table = store.SQLEvent.__table__
    with store.session_scope() as session:
        return session.execute(sa.select(table.c.data).where(table.c.id == row_id)).scalar()


# Slots whose value is itself JSON (a dict): decoded in Python even when SQLite extracts the value.
_JSON_VALUE_SLOTS = frozenset({"staff_handled"})


def _sql_rows(store: Any, since: float | None, in_sqlite: bool) -> list[Any]:
    """The rows; with `in_sqlite` the database extracts the text / slot value itself (SQLite's JSON
    functions: C speed), otherwise it returns the stored JSON for Python to decode (any dialect)."""
    table = store.SQLEvent.__table__
    c = table.c
    # Only what is read: the slots above, and the text of the messages the assistant could not read
    # (the dashboard groups them); other texts are fetched on demand.
    read_slot = sa.and_(c.type_name == "slot", c.action_name.in_(sorted(READ_SLOTS)))
    unread = sa.and_(c.type_name == "user", c.intent_name == FALLBACK_INTENT)
    if in_sqlite:
        payload = sa.case((unread, sa.func.json_extract(c.data, "$.text")),
                          (read_slot, sa.func.json_extract(c.data, "$.value")), else_=sa.null())
    else:
        payload = sa.case((sa.or_(unread, read_slot), c.data), else_=sa.null())
    query = (sa.select(c.sender_id, c.type_name, c.timestamp, c.intent_name, c.action_name, payload, c.id)
             .where(sa.or_(c.type_name == "user", read_slot,
                           sa.and_(c.type_name == "action", c.action_name.in_(sorted(READ_ACTIONS)))))
             .order_by(c.sender_id, c.id))
    if since is not None:
        query = query.where(c.timestamp >= since)
    # Plain DB-API tuples: SQLAlchemy's row objects cost more than the query itself on 100,000 rows.
    # Literal values are safe here: our constants and a float.
    sql = str(query.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))
    with store.session_scope() as session:
        cursor = session.connection().connection.cursor()
        try:
            cursor.execute(sql)
            return cursor.fetchall()
        finally:
            cursor.close()


def scan_sql(store: Any, since: float | None = None, extract_in_sql: bool | None = None) -> Iterator[Conversation]:
    """(sender_id, events) of every conversation in a SQL store, events in stored order.
    `extract_in_sql`: None = with SQLite's JSON functions when the database is SQLite."""
    extracted = store.engine.dialect.name == "sqlite" if extract_in_sql is None else extract_in_sql
    rows = _sql_rows(store, since, extracted)
    current: str | None = None
    events: list[dict[str, Any]] = []
    for sender_id, kind, stamp, intent, name, payload, row_id in rows:
        if sender_id != current:
            if current is not None:
                yield current, events
            current, events = sender_id, []
        if kind == "user":
            event = {"event": kind, "timestamp": stamp or 0.0, "parse_data": {"intent": {"name": intent}}}
            if payload is None:
                event[_ROW] = (store, row_id)
            elif extracted:
                event["text"] = payload
            else:
                event[_RAW] = payload
        elif kind == "slot":
            if payload is not None and (not extracted or name in _JSON_VALUE_SLOTS):
                payload = json.loads(payload)
                payload = payload if extracted else payload.get("value")
            event = {"event": kind, "timestamp": stamp or 0.0, "name": name, "value": payload}
        else:
            event = {"event": kind, "timestamp": stamp or 0.0, "name": name}
        events.append(event)
    if current is not None:
        yield current, events


def scan_redis(store: Any) -> Iterator[Conversation]:
    """(sender_id, events) of every conversation in Rasa's Redis store (its JSON dialogues)."""
    prefix = str(getattr(store, "key_prefix", ""))
    keys = sorted(store.red.keys(prefix + "*"))
    for start in range(0, len(keys), REDIS_BATCH):
        batch = keys[start:start + REDIS_BATCH]
        for key, stored in zip(batch, store.red.mget(batch), strict=True):
            if stored is None:  # expired between KEYS and MGET
                continue
            name = key.decode() if isinstance(key, bytes) else str(key)
            yield name[len(prefix):] if name.startswith(prefix) else name, list(json.loads(stored).get("events") or [])


def scan_any(store: Any) -> Iterator[Conversation]:
    """(sender_id, events) through Rasa's generic TrackerStore API (any store, one by one)."""
    for sender_id in asyncio.run(conversation_ids(store)):
        tracker = asyncio.run(store.retrieve_full_tracker(sender_id))
        if tracker is not None:
            yield sender_id, [event.as_dict() for event in tracker.events]


def scan(store: Any, since: float | None = None) -> Iterator[Conversation]:
    """Every conversation of `store` with the fastest reader it allows (blocking).

    `since` (SQL only, a speed-up): events older than this timestamp may be left out."""
    from rasa.core.tracker_store import AwaitableTrackerStore, RedisTrackerStore, SQLTrackerStore

    # A synchronous custom store comes wrapped by Rasa: look at what is inside.
    inner = store._tracker_store if isinstance(store, AwaitableTrackerStore) else store
    if isinstance(inner, SQLTrackerStore):
        return scan_sql(inner, since)
    if isinstance(inner, RedisTrackerStore):
        return scan_redis(inner)
    return scan_any(store)
