"""The knowledge base the action server answers from, reloaded when its files change.

Why: a corrected figure or contact in data/knowledge/ must be live without retraining or a restart.
Each request compares the files' (name, size, mtime) signature, at most once a second; a changed
set is loaded into a new immutable KnowledgeBase and swapped in whole. A broken file is rejected
with an error in the log and the last good knowledge keeps serving.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot.knowledge.knowledge_base import KnowledgeBase, KnowledgeError
from bot.knowledge.paths import knowledge_dir

logger = logging.getLogger(__name__)

CHECK_INTERVAL_S = float(os.environ.get("OIM_KNOWLEDGE_CHECK_INTERVAL", "1.0"))

Signature = tuple[tuple[str, int, int], ...]


def files_signature(directory: Path) -> Signature:
    """(relative path, size, mtime_ns) of every YAML file below `directory`, sorted."""
    items = []
    for path in sorted(directory.rglob("*.yml")):
        stat = path.stat()
        items.append((str(path.relative_to(directory)), stat.st_size, stat.st_mtime_ns))
    return tuple(items)


class KnowledgeStore:
    """Holds the current KnowledgeBase and swaps in a new one when the files change."""

    def __init__(self, directory: Path, warm_up: Callable[[KnowledgeBase], object] | None = None) -> None:
        self.directory = directory
        self.warm_up = warm_up  # run on a new version before it serves (e.g. build its indexes)
        self._lock = threading.Lock()
        self._signature: Signature = files_signature(directory)
        self._kb: KnowledgeBase = KnowledgeBase.load(directory)
        self._checked_at = time.monotonic()

    def current(self) -> KnowledgeBase:
        now = time.monotonic()
        if now - self._checked_at >= CHECK_INTERVAL_S:
            self._checked_at = now
            self.reload_if_changed()
        return self._kb

    def reload_if_changed(self) -> bool:
        """Load the files again if their signature changed; True when a new version is live."""
        with self._lock:
            signature = files_signature(self.directory)
            if signature == self._signature:
                return False
            try:
                kb = KnowledgeBase.load(self.directory)
            except KnowledgeError as error:
                logger.error("knowledge files rejected, still serving the last good version: %s", error)
                self._signature = signature  # do not retry the same broken files every second
                return False
            if self.warm_up is not None:
                try:
                    self.warm_up(kb)  # the new version answers fast from its first question
                except Exception:  # noqa: BLE001 - a failed warm-up only makes answers slower
                    logger.exception("warm-up of the reloaded knowledge failed")
            self._kb, self._signature = kb, signature
            logger.info("knowledge reloaded from %s", self.directory)
            return True


_store: KnowledgeStore | None = None


def current_knowledge() -> KnowledgeBase:
    """The live KnowledgeBase of this process (loaded on first use)."""
    global _store
    if _store is None:
        from bot.knowledge.sentence_search import sentence_index

        _store = KnowledgeStore(knowledge_dir(), warm_up=sentence_index)
    return _store.current()
