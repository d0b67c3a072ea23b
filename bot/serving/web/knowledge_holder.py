"""The knowledge base the staff console reads, loaded lazily and reloaded when files change.

Why: the web service must start (and the migrants' chat must work) even when the knowledge files
are broken or still being written; the staff console then says why it cannot search. Reloading
reuses the action server's KnowledgeStore so both processes see the same files the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from bot.knowledge.paths import knowledge_dir

logger = logging.getLogger(__name__)

RETRY_AFTER_FAILURE_S = 10.0


class KnowledgeUnavailable(RuntimeError):
    """The knowledge base cannot be loaded; the message says why (shown to staff)."""


class KnowledgeHolder:
    """Gives the current KnowledgeBase, or KnowledgeUnavailable with the reason."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or knowledge_dir()
        self._store: Any = None
        self._error: str | None = None
        self._failed_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._store is None:
                if self._error and time.monotonic() - self._failed_at < RETRY_AFTER_FAILURE_S:
                    raise KnowledgeUnavailable(self._error)
                try:
                    from bot.knowledge.store import KnowledgeStore

                    self._store = KnowledgeStore(self.directory)
                    self._error = None
                except Exception as error:  # ImportError, KnowledgeError, OSError...
                    self._error = f"{type(error).__name__}: {error}"
                    self._failed_at = time.monotonic()
                    logger.error("knowledge base unavailable: %s", self._error)
                    raise KnowledgeUnavailable(self._error) from error
            store = self._store
        return store.current()

    def warm(self) -> None:
        """Load the knowledge and its search index now (spaCy takes seconds on first use)."""
        try:
            self.get().search("OIM", k=1)
        except Exception as error:  # reported by status() and on the staff pages
            logger.warning("knowledge warm-up failed: %s", error)

    def status(self) -> dict:
        """Informational status for /health (never raises)."""
        try:
            kb = self.get()
            return {"status": "up", "entries": len(kb.entries())}
        except KnowledgeUnavailable as error:
            return {"status": "down", "detail": str(error)[:300]}
