"""Replace a library function only over the exact source it was written for.

Why: a few speed-ups cannot be plugged in through a library's own extension points (a Rasa
component, a tracker store, a subclass) and replace an internal function instead
(bot/nlu/rasa_speedups.py, bot/knowledge/regex_cache.py). Each such replacement records the
sha256 of the source of the function it replaces; `guarded_replace` installs it only when the
installed library still has that exact source, and otherwise leaves the library alone with one
WARNING line (the speed-up is lost, never the behaviour). Pure Python: no Rasa import.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from typing import Any

logger = logging.getLogger(__name__)


def source_sha256(function: Any) -> str | None:
    """sha256 (hex) of the source text of a function, method, classmethod or staticmethod; None if unknown."""
    function = getattr(function, "__func__", function)  # bound classmethod / staticmethod object
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def guarded_replace(owner: Any, name: str, replacement: Any, expected_sha256: str, what: str = "") -> bool:
    """Set `owner.name = replacement` if the current `owner.name` has the expected source.

    `owner` is a class or a module. Returns whether the replacement is in place (already installed
    counts); when the source differs (another library version) nothing changes and a WARNING names
    the function, the speed-up lost and both hashes.
    """
    label = f"{getattr(owner, '__module__', '') + '.' if inspect.isclass(owner) else ''}{owner.__name__}.{name}"
    current = inspect.getattr_static(owner, name, None)
    if current is replacement:
        return True
    found = source_sha256(getattr(owner, name, None))
    if found != expected_sha256:
        logger.warning(
            "speed-up NOT applied (%s): %s is not the code it was written for (source sha256 %s, expected %s);"
            " the library's own code runs",
            what or name, label, (found or "unavailable")[:16], expected_sha256[:16],
        )
        return False
    setattr(owner, name, replacement)
    return True
