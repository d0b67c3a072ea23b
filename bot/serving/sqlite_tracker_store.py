"""Rasa's SQL tracker store, with SQLite in WAL mode: fast commits that survive a crash of Rasa.

Why: the embedded tracker store (endpoints.yml) is a SQLite file. Rasa opens a connection per
operation and commits 2-3 times per turn, each commit in SQLite's default rollback-journal mode
waiting for the disk (~15 ms here). With the WAL journal and synchronous=NORMAL, every committed
turn survives a crash of Rasa; only a power loss or OS crash may drop the last few turns, an
acceptable trade for a conversation log. One connection per database file stays open in the
process so that closing the others does not checkpoint and delete the WAL each time (another disk
wait). Other processes (web service, purge) read the same file normally.

Named in endpoints.yml as `type: bot.serving.sqlite_tracker_store.SQLiteTrackerStore`, with the
same settings as Rasa's `type: SQL` plus `cache_size`; the pragmas are set on this store's own
engine only, and only for SQLite.

Trackers kept in memory (issue 18): Rasa reads the whole conversation back from the database and
rebuilds it event by event at every turn (~5 ms for a 40-event conversation), then counts the
stored events again to know which ones to write (~4 ms). This store keeps the last `cache_size`
conversations it handed out; before reusing one it asks the database one indexed question (how
many events this conversation has, and the newest id) and reuses the tracker only if nothing but
this store wrote to it since, and the tracker holds no event that was not saved. A save then
writes just the new events. A conversation with no stored event is new: `retrieve` says so
without Rasa's read, and its first save writes every event in one insert. Anything else (a purge,
another process or replica writing, a save that failed, a new session started) falls back to
Rasa's own code, so the database stays the truth and what is stored is exactly what Rasa would
store.
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import event

logger = logging.getLogger(__name__)

STORE_TYPE = "bot.serving.sqlite_tracker_store.SQLiteTrackerStore"

_wal_keepers: dict[str, sqlite3.Connection] = {}  # database file -> connection kept open (per process)


def fast_commits(dbapi_connection: Any, connection_record: Any = None) -> None:
    """WAL journal + synchronous=NORMAL on one SQLite connection; keeps the database's WAL open."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main" and row[2]]
    finally:
        cursor.close()
    for path in files:
        if path not in _wal_keepers:
            keeper = sqlite3.connect(path, check_same_thread=False)
            keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()  # opens the WAL: holds it
            _wal_keepers[path] = keeper


DEFAULT_CACHE_SIZE = 512  # conversations kept per Rasa process (~22 kB for a 65-event one: ~11 MB)


@dataclass
class _Cached:
    """A tracker this store handed out, and the database state it matches."""

    tracker: DialogueStateTracker
    saved_events: int  # len(tracker.events) when it last matched the database
    stored: tuple[int, int | None]  # (rows, newest id) of this conversation in the database then


class SQLiteTrackerStore(SQLTrackerStore):
    """SQLTrackerStore on SQLite in WAL mode with synchronous=NORMAL, reusing recent trackers."""

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        events = self.SQLEvent.__table__
        self._state_query = sa.select(sa.func.count(events.c.id), sa.func.max(events.c.id)).where(
            events.c.sender_id == sa.bindparam("sender_id"))
        self._insert = events.insert()
        if self.engine.dialect.name != "sqlite":
            return
        event.listen(self.engine, "connect", fast_commits)
        self.engine.dispose()  # connections made while creating the tables reconnect with the pragmas
        with self.engine.connect():
            pass  # sets WAL on the file now, before the first conversation
        logger.debug("SQLite tracker store %s in WAL mode", self.engine.url.database)

    # --- trackers kept in memory -------------------------------------------------------------------

    def _stored_state(self, connection: Any, sender_id: str) -> tuple[int, int | None]:
        rows, newest = connection.execute(self._state_query, {"sender_id": sender_id}).one()
        return int(rows), newest

    def _state_now(self, sender_id: str) -> tuple[int, int | None]:
        with self.engine.connect() as connection:
            return self._stored_state(connection, sender_id)

    def _keep(self, tracker: DialogueStateTracker, stored: tuple[int, int | None]) -> None:
        self._cache[tracker.sender_id] = _Cached(tracker, len(tracker.events), stored)
        self._cache.move_to_end(tracker.sender_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session of `sender_id`: the kept tracker if still current, else Rasa's read."""
        if self.cache_size <= 0:
            return await super().retrieve(sender_id)
        stored = self._state_now(sender_id)
        cached = self._cache.pop(sender_id, None)
        if stored[0] == 0:
            return None  # no event stored: what Rasa's read gives, without the read (a new conversation)
        if cached is not None and cached.stored == stored and len(cached.tracker.events) == cached.saved_events:
            self._keep(cached.tracker, stored)
            return cached.tracker
        tracker = await super().retrieve(sender_id)
        if tracker is not None and self._state_now(sender_id) == stored:  # nothing written meanwhile
            self._keep(tracker, stored)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the events added since the tracker was handed out (Rasa's save for any other)."""
        cached = self._cache.pop(tracker.sender_id, None)
        keep = self.cache_size > 0 and _one_session(tracker)
        if self.cache_size > 0 and (cached is None or cached.tracker is not tracker):
            # Not handed out by this store: if none of its events is stored yet (a new conversation),
            # Rasa would write them all, and so does this (checked in the same transaction).
            cached = _Cached(tracker, 0, (0, None))
        if cached is not None and cached.tracker is tracker:
            new_events = self._append_new_events(tracker, cached, keep)
            if new_events is not None:
                if new_events and self.event_broker is not None:
                    await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
                return
        await super().save(tracker)  # counts what is stored, writes the rest, streams events; the
        # next retrieve reads this conversation back from the database and keeps it from then on

    def _append_new_events(self, tracker: DialogueStateTracker, cached: _Cached, keep: bool) -> list[Any] | None:
        """Insert the events added since `cached` matched the database (None: it no longer does)."""
        with self.engine.begin() as connection:
            if self._stored_state(connection, tracker.sender_id) != cached.stored:
                return None
            new_events = list(itertools.islice(tracker.events, cached.saved_events, None))
            if new_events:
                connection.execute(self._insert, [_row(tracker.sender_id, e) for e in new_events])
            if keep:
                self._keep(tracker, self._stored_state(connection, tracker.sender_id))  # with these rows
        return new_events


def _one_session(tracker: DialogueStateTracker) -> bool:
    """True unless a session started after the tracker's first three events: Rasa would then read
    only the new session back, and the kept tracker would hold more than `retrieve` gives. (A new
    conversation is [action_listen, action_session_start, session_started, ...].)"""
    return not any(isinstance(e, SessionStarted) for e in itertools.islice(tracker.events, 3, None))


def _row(sender_id: str, event: Any) -> dict[str, Any]:
    """The `events` row Rasa's SQLTrackerStore.save writes for `event` (same columns, same JSON)."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
