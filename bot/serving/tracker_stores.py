"""Open the conversation store Rasa writes to, with Rasa's own classes, from an endpoints file.

Why: the staff console and the purge must read exactly what the Rasa server wrote, whether that is
the embedded SQLite file (endpoints.yml), Redis (endpoints.redis.yml) or PostgreSQL
(endpoints.postgres.yml). Creating the store with `TrackerStore.create` from the same endpoints file
(same ${VARIABLE} expansion) guarantees that.

One difference with `rasa run`: a relative SQLite path is resolved against the endpoints file's
folder rather than the current directory, so `python -m bot ...` works from anywhere (run.sh and
the containers start Rasa from the repo root, where the endpoints files are: same file).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.knowledge.paths import repo_root

logger = logging.getLogger(__name__)

DOMAIN_FILE = repo_root() / "domain.yml"


class TrackerStoreConfigError(RuntimeError):
    """The endpoints file cannot give a tracker store (missing file, section or connection)."""


@dataclass(frozen=True)
class StoreInfo:
    """What kind of store an endpoints file configures, without connecting to it."""

    kind: str  # "sql" | "redis" | "in_memory" | other Rasa type
    sqlite_path: Path | None = None
    redis_record_exp: float | None = None
    sql_dialect: str | None = None  # "sqlite", "postgresql", ... for kind "sql"


def read_section(endpoints: Path, section: str) -> Any:
    """The EndpointConfig of one section of `endpoints` (None if absent), ${VARIABLES} expanded."""
    from rasa.utils.endpoints import read_endpoint_config

    if not endpoints.is_file():
        raise TrackerStoreConfigError(f"endpoints file not found: {endpoints}")
    try:
        return read_endpoint_config(str(endpoints), section)
    except Exception as error:  # Rasa raises its own exceptions for missing ${VARIABLES}
        raise TrackerStoreConfigError(f"{endpoints}: {error}") from error


def read_store_config(endpoints: Path) -> Any:
    """The `tracker_store` EndpointConfig of `endpoints`, SQLite path made absolute."""
    config = read_section(endpoints, "tracker_store")
    if config is None:
        raise TrackerStoreConfigError(f"{endpoints} has no 'tracker_store' section")
    config = copy.copy(config)
    config.kwargs = dict(config.kwargs)
    if _is_sqlite(config):
        db = Path(str(config.kwargs.get("db") or "rasa.db"))
        if not db.is_absolute():
            config.kwargs["db"] = str((endpoints.parent / db).resolve())
    return config


# Rasa's SQL store and ours (bot/serving/sqlite_tracker_store.py, same settings), lower case.
SQL_STORE_TYPES = ("sql", "bot.serving.sqlite_tracker_store.sqlitetrackerstore")


def _is_sql(config: Any) -> bool:
    return str(config.type or "").lower() in SQL_STORE_TYPES


def _sql_dialect(config: Any) -> str:
    return str(config.kwargs.get("dialect") or "sqlite").lower()


def _is_sqlite(config: Any) -> bool:
    return _is_sql(config) and _sql_dialect(config) == "sqlite"


def store_info(endpoints: Path) -> StoreInfo:
    """The kind of tracker store `endpoints` configures (no connection made)."""
    config = read_store_config(endpoints)
    kind = str(config.type or "in_memory").lower()
    if _is_sqlite(config):
        return StoreInfo(kind="sql", sqlite_path=Path(config.kwargs["db"]), sql_dialect="sqlite")
    if _is_sql(config):
        return StoreInfo(kind="sql", sql_dialect=_sql_dialect(config))
    if kind in REDIS_TRACKER_STORE_TYPES:
        raw_exp = config.kwargs.get("record_exp")
        return StoreInfo(kind="redis", redis_record_exp=float(raw_exp) if str(raw_exp or "").strip() else None)
    return StoreInfo(kind=kind)


# Store types that keep their data in Redis: Rasa's, our retrying tracker store
# (bot/serving/redis_tracker_store.py) and our atomic lock store (bot/serving/redis_lock_store.py).
REDIS_TRACKER_STORE_TYPES = ("redis", "bot.serving.redis_tracker_store.retryingredistrackerstore")
REDIS_STORE_TYPES = (*REDIS_TRACKER_STORE_TYPES, "bot.serving.redis_lock_store.atomicredislockstore")


def redis_servers(endpoints: Path) -> list[dict]:
    """Host, port, db and password of each Redis the tracker or lock store uses (deduplicated)."""
    servers: list[dict] = []
    for section in ("tracker_store", "lock_store"):
        config = read_section(endpoints, section)
        if config is None or str(config.type or "").lower() not in REDIS_STORE_TYPES:
            continue
        server = {
            "host": config.url or "localhost",
            "port": int(config.kwargs.get("port") or 6379),
            "db": int(config.kwargs.get("db") or 0),
            "password": config.kwargs.get("password") or None,
        }
        if server not in servers:
            servers.append(server)
    return servers


def load_domain(domain_file: Path = DOMAIN_FILE) -> Any:
    """The assistant's domain (slot definitions are needed to rebuild trackers)."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(domain_file)) if domain_file.exists() else Domain.empty()


# Seconds to wait for a SQL server (PostgreSQL) before saying it cannot be reached.
SQL_CONNECT_TIMEOUT_S = 5


def check_sql_server(config: Any, timeout_s: int = SQL_CONNECT_TIMEOUT_S) -> None:
    """Connect once to the PostgreSQL server of a SQL store config; raise if it cannot be reached.

    Why: Rasa's SQLTrackerStore retries a failed connection forever, 5 s apart (right for a Rasa
    server waiting for its database at start), which would hang the staff console and the purge
    instead of telling the operator. Other dialects (SQLite: a local file) are not checked.
    """
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore, validate_port

    if not _is_sql(config) or not _sql_dialect(config).startswith("postgresql"):
        return
    kwargs = config.kwargs
    url = SQLTrackerStore.get_db_url(
        _sql_dialect(config), config.url, validate_port(kwargs.get("port")), kwargs.get("db") or "rasa.db",
        kwargs.get("username"), kwargs.get("password"), kwargs.get("login_db"), kwargs.get("query"),
    )
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": timeout_s})
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as error:  # the driver's message names host and port, never the password
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise TrackerStoreConfigError(f"cannot reach the PostgreSQL tracker store ({reason})") from error
    finally:
        engine.dispose()


def open_tracker_store(endpoints: Path, domain: Any = None) -> Any:
    """A Rasa TrackerStore for the `tracker_store` section of `endpoints` (PostgreSQL: checked first)."""
    from rasa.core.tracker_store import TrackerStore

    config = read_store_config(endpoints)
    check_sql_server(config)
    try:
        return TrackerStore.create(config, domain if domain is not None else load_domain())
    except Exception as error:
        raise TrackerStoreConfigError(f"cannot open the tracker store of {endpoints}: {error}") from error


async def conversation_ids(store: Any) -> list[str]:
    """Conversation ids in the store (Rasa's Redis store returns its keys with their prefix)."""
    keys = [str(key) for key in await store.keys()]
    prefix = getattr(store, "key_prefix", "")
    if prefix:
        keys = [key[len(prefix):] if key.startswith(prefix) else key for key in keys]
    return sorted(set(keys))
