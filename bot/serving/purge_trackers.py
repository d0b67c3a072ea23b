"""Forget old conversations: delete every conversation whose last event is older than N days.

Why: conversations hold what migrants typed (sometimes a phone number, a country, a family
situation). With Redis, `REDIS_RECORD_EXP` makes Redis drop a conversation on its own after its
last message. Rasa's SQL store has no such expiry, so this deletes those conversations from the
database (all their events, every session) and, for SQLite, runs VACUUM so the deleted text does
not linger in free pages of the file. On PostgreSQL (endpoints.postgres.yml) the rows are deleted
in one transaction; PostgreSQL's autovacuum then reuses their space (a `VACUUM FULL events` in a
maintenance window rewrites the table, docs/deploy.md).

    python -m bot purge-trackers --older-than-days 30 [--endpoints endpoints.yml] [--dry-run]

The web service (`python -m bot web`) runs the same purge every hour when
OIM_TRACKER_RETENTION_DAYS > 0 (default 30). Without it, schedule this command (cron).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.paths import repo_root
from bot.serving.tracker_stores import TrackerStoreConfigError, open_tracker_store, store_info

logger = logging.getLogger(__name__)

SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class PurgeResult:
    """What a purge did, in words an operator can act on."""

    store: str
    conversations: int
    events: int
    note: str = ""
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would be deleted" if self.dry_run else "deleted"
        done = f"{self.conversations} conversation(s), {self.events} event(s) {verb}"
        return f"{self.store}: {done}" + (f" ({self.note})" if self.note else "")


def purge_sql_store(store, older_than_s: float, now: float | None = None, dry_run: bool = False) -> PurgeResult:
    """Delete, from a Rasa SQLTrackerStore, the conversations idle for more than `older_than_s`."""
    import sqlalchemy as sa

    cutoff = (time.time() if now is None else now) - older_than_s
    event = store.SQLEvent
    with store.session_scope() as session:
        stale = [
            sender_id
            for (sender_id,) in session.query(event.sender_id)
            .group_by(event.sender_id)
            .having(sa.func.max(event.timestamp) < cutoff)
            .all()
        ]
        events = 0
        if stale:
            events = session.query(event).filter(event.sender_id.in_(stale)).count()
            if not dry_run:
                session.query(event).filter(event.sender_id.in_(stale)).delete(synchronize_session=False)
                session.commit()
    note = "dry run" if dry_run else ""
    if stale and not dry_run and store.engine.dialect.name == "sqlite":
        note = _vacuum_sqlite(store)
    return PurgeResult("sql", len(stale), events, note, dry_run)


def _vacuum_sqlite(store) -> str:
    """Rewrite the SQLite file so deleted text is really gone; harmless if the file is busy."""
    try:
        with store.engine.connect() as connection:
            connection.exec_driver_sql("VACUUM")
        return "file compacted"
    except Exception as error:  # busy database: rows are deleted, the space is reused later
        logger.warning("SQLite VACUUM skipped: %s", error)
        return "VACUUM skipped, database busy"


def purge(endpoints: Path, older_than_days: float, dry_run: bool = False, now: float | None = None) -> PurgeResult:
    """Purge the tracker store `endpoints` configures; Redis and in-memory stores expire by themselves."""
    if older_than_days <= 0:
        raise ValueError("--older-than-days must be greater than 0")
    info = store_info(endpoints)
    if info.kind == "redis":
        exp = f"{info.redis_record_exp:.0f} s" if info.redis_record_exp else "NOT SET: conversations are kept forever"
        return PurgeResult("redis", 0, 0, f"nothing to do: Redis expires conversations itself, REDIS_RECORD_EXP = {exp}")
    if info.kind == "in_memory":
        return PurgeResult("in_memory", 0, 0, "nothing to do: conversations are lost when Rasa stops")
    if info.kind != "sql":
        raise TrackerStoreConfigError(f"purge is not implemented for tracker store type '{info.kind}'")
    store = open_tracker_store(endpoints)
    try:
        return purge_sql_store(store, older_than_days * SECONDS_PER_DAY, now=now, dry_run=dry_run)
    finally:  # a server database (PostgreSQL): do not keep an idle connection pool until the next run
        store.engine.dispose()


async def purge_periodically(endpoints: Path, older_than_days: float, interval_s: float) -> None:
    """Run `purge` now and then every `interval_s` seconds (in a worker thread), forever."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            result = await loop.run_in_executor(None, purge, endpoints, older_than_days)
            logger.info("tracker purge (older than %s days): %s", older_than_days, result.summary())
        except Exception as error:  # a failed purge must never stop the web service
            logger.error("tracker purge failed: %s", error)
        await asyncio.sleep(interval_s)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--older-than-days", type=float, required=True,
                        help="delete conversations whose last message is older than this")
    parser.add_argument("--endpoints", type=Path, default=repo_root() / "endpoints.yml",
                        help="endpoints file of the Rasa server (default: endpoints.yml)")
    parser.add_argument("--dry-run", action="store_true", help="count, do not delete")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("purge-trackers", help="delete conversations older than N days")
    _add_arguments(parser)
    parser.set_defaults(func=run_from_args, handler=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    try:
        result = purge(args.endpoints, args.older_than_days, dry_run=args.dry_run)
    except (ValueError, TrackerStoreConfigError) as error:
        print(f"[oim] ERROR: {error}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.serving.purge_trackers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
