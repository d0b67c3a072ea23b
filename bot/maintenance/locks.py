"""Machine-wide exclusive locks (filelock: flock on Linux, the lock the `flock` command line tool takes).

Why: on 2 shared cores two trainings (or two updates of the same checkout) must never run at once;
the second one waits and says so instead of slowing both down or racing on the same files.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout


@contextlib.contextmanager
def exclusive(path: Path, waiting_for: str) -> Iterator[None]:
    """Hold an exclusive lock on path; print why we wait if someone else holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"[oim] {waiting_for} (lock {path}); waiting for it to finish", file=sys.stderr)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
