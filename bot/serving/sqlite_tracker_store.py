"""Rasa's SQL tracker store, with SQLite in WAL mode: fast commits that survive a crash of Rasa.

Why: the embedded tracker store (endpoints.yml) is a SQLite file. Rasa opens a connection per
operation and commits 2-3 times per turn, each commit in SQLite's default rollback-journal mode
waiting for the disk (~15 ms here). With the WAL journal and synchronous=NORMAL, every committed
turn survives a crash of Rasa; only a power loss or OS crash may drop the last few turns, an
acceptable trade for a conversation log. One connection per database file stays open in the
process so that closing the others does not checkpoint and delete the WAL each time (another disk
wait). Other processes (web service, purge) read the same file normally.

Named in endpoints.yml as `type: bot.serving.sqlite_tracker_store.SQLiteTrackerStore`, with the
same settings as Rasa's `type: SQL`; the pragmas are set on this store's own engine only, and only
for SQLite (another dialect is Rasa's SQLTrackerStore unchanged).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
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


class SQLiteTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose SQLite connections use the WAL journal with synchronous=NORMAL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            return
        event.listen(self.engine, "connect", fast_commits)
        self.engine.dispose()  # connections made while creating the tables reconnect with the pragmas
        with self.engine.connect():
            pass  # sets WAL on the file now, before the first conversation
        logger.debug("SQLite tracker store %s in WAL mode", self.engine.url.database)
