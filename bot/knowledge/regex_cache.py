"""A disk cache of compiled programs for the few huge regular expressions spaCy's French builds.

Why: `import spacy.lang.fr` compiles TOKEN_MATCH, one 1.4 MB case-insensitive pattern whose
Unicode character classes keep Python's sre_compile (pure Python) busy for 2-3 s at every start of
the Rasa server and of the action server: a fifth of our start-up (py-spy). The compiled program
(a list of integers) depends only on the pattern, the flags and the Python build, so it is
computed once, kept under <cache>/regex/ as JSON keyed by a hash of all of these, and later starts
hand it straight to `_sre.compile`, exactly as `sre_compile.compile` does. Patterns shorter than
MIN_PATTERN_CHARS (every other regex of the process) go through Python's own code untouched, and
any problem with the cache (unreadable, unwritable, malformed) falls back to it too.

`install()` replaces `sre_compile.compile` (Python has no hook for this) only when its source is
the one the steps below were copied from (Python 3.10's: `SRE_COMPILE_SHA256`, checked by
bot.knowledge.source_guard); any other Python keeps its own compiler, with one WARNING line.
"""

from __future__ import annotations

import _sre
import hashlib
import json
import logging
import os
import sre_compile
import sre_parse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.knowledge.paths import cache_root
from bot.knowledge.source_guard import guarded_replace
from bot.knowledge.yamlio import write_atomic

logger = logging.getLogger(__name__)

MIN_PATTERN_CHARS = 20_000
# sha256 of the source of Python 3.10's sre_compile.compile, whose steps compile_program/_from_program repeat.
SRE_COMPILE_SHA256 = "b0c88dd453abaf5d4ae483f450452077bdd294e7ab37347b6383952c1a8ee893"
_original_compile: Callable[..., Any] | None = None


def cache_dir() -> Path:
    return cache_root() / "regex"


def cache_key(pattern: str, flags: int) -> str:
    """Everything the compiled program depends on: Python build, sre version, flags, pattern."""
    digest = hashlib.sha256()
    for part in (sys.version, str(_sre.MAGIC), str(_sre.CODESIZE), str(_sre.MAXGROUPS), str(int(flags))):
        digest.update(part.encode() + b"\0")
    digest.update(pattern.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def compile_program(pattern: str, flags: int) -> dict[str, Any]:
    """The arguments `sre_compile.compile` passes to `_sre.compile` (Python 3.10's own steps)."""
    parsed = sre_parse.parse(pattern, flags)
    code = sre_compile._code(parsed, flags)  # type: ignore[attr-defined]
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return {
        "flags": int(flags | parsed.state.flags),
        "code": list(code),
        "groups": parsed.state.groups - 1,
        "groupindex": groupindex,
        "indexgroup": indexgroup,
    }


def _from_program(pattern: str, program: dict[str, Any]) -> Any:
    return _sre.compile(pattern, program["flags"], program["code"], program["groups"],
                        program["groupindex"], tuple(program["indexgroup"]))


def _read(path: Path) -> dict[str, Any] | None:
    try:
        program = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    expected = {"flags": int, "code": list, "groups": int, "groupindex": dict, "indexgroup": list}
    if not isinstance(program, dict) or any(not isinstance(program.get(k), t) for k, t in expected.items()):
        return None
    return program


def _write(path: Path, program: dict[str, Any]) -> None:
    try:
        write_atomic(path, json.dumps(program, separators=(",", ":")))  # a reader sees all or nothing
    except OSError as error:
        logger.debug("regex cache not written (%s)", error)


def cached_compile(pattern: Any, flags: int = 0) -> Any:
    """Drop-in for sre_compile.compile: the same Pattern object, from the cache when possible."""
    assert _original_compile is not None
    if not isinstance(pattern, str) or len(pattern) < MIN_PATTERN_CHARS or flags & sre_compile.SRE_FLAG_DEBUG:
        return _original_compile(pattern, flags)
    path = cache_dir() / f"{cache_key(pattern, flags)}.json"
    program = _read(path)
    if program is not None:
        try:
            return _from_program(pattern, program)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            logger.debug("regex cache entry %s unusable, recompiling", path.name)
    program = compile_program(pattern, flags)
    _write(path, program)
    return _from_program(pattern, program)


def install() -> bool:
    """Route Python's regex compiler through the cache in this process (idempotent).

    Returns whether the cache is in place: not when OIM_RASA_SPEEDUPS=0, nor when the source guard
    finds another `sre_compile.compile` than Python 3.10's.
    """
    global _original_compile
    if _original_compile is not None:
        return True
    if os.environ.get("OIM_RASA_SPEEDUPS", "1") == "0":
        return False
    original = sre_compile.compile
    if not guarded_replace(sre_compile, "compile", cached_compile, SRE_COMPILE_SHA256, "regex cache"):
        return False
    _original_compile = original  # re._compile looks sre_compile.compile up at every call
    return True
