"""The speed-ups that replace a library function do so only over the exact code they were written for.

bot.knowledge.source_guard.guarded_replace compares the sha256 of the replaced function's source
with the one recorded next to each patch (bot/nlu/rasa_speedups.py, bot/knowledge/regex_cache.py).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import pytest

from bot.knowledge.paths import repo_root
from bot.knowledge.source_guard import guarded_replace, source_sha256


def _classes() -> tuple[type, type]:
    """Two versions of a library class whose `total` differs in its source only."""

    class Written:
        @staticmethod
        def total(values: list[int]) -> int:
            return sum(values)

    class Upgraded:
        @staticmethod
        def total(values: list[int]) -> int:
            return sum(v for v in values)

    return Written, Upgraded


def faster_total(values: list[int]) -> int:
    return sum(values)


def test_the_guard_applies_over_the_source_it_was_written_for() -> None:
    written, _ = _classes()
    expected = source_sha256(written.total)
    assert expected is not None and len(expected) == 64
    assert guarded_replace(written, "total", staticmethod(faster_total), expected, "test speed-up")
    assert written.total is faster_total
    assert guarded_replace(written, "total", written.__dict__["total"], expected)  # already in place


def test_the_guard_refuses_another_source_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    written, upgraded = _classes()
    expected = source_sha256(written.total)
    original = upgraded.total
    with caplog.at_level(logging.WARNING, logger="bot.knowledge.source_guard"):
        assert not guarded_replace(upgraded, "total", staticmethod(faster_total), expected or "", "test speed-up")
    assert upgraded.total is original  # the library's code still runs
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert "speed-up NOT applied (test speed-up)" in warning.getMessage()
    assert "Upgraded.total" in warning.getMessage()


def test_the_guard_refuses_a_function_without_source(caplog: pytest.LogCaptureFixture) -> None:
    class Native:
        total = len  # a builtin: no Python source to compare

    with caplog.at_level(logging.WARNING, logger="bot.knowledge.source_guard"):
        assert not guarded_replace(Native, "total", faster_total, "0" * 64, "native")
    assert Native.total is len
    assert "unavailable" in caplog.text


def test_every_rasa_speedup_matches_the_installed_rasa() -> None:
    """The recorded hashes are those of this venv's Rasa 3.6.21 and Python 3.10: all five apply."""
    from rasa.core.actions.action import RemoteAction

    from bot.nlu import rasa_speedups

    rasa_speedups.apply()
    assert rasa_speedups.applied and all(rasa_speedups.applied.values()), rasa_speedups.applied
    assert RemoteAction._validate_action_result is rasa_speedups.validate_action_result


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=repo_root(), capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(repo_root()), "RASA_TELEMETRY_ENABLED": "false",
             "TF_CPP_MIN_LOG_LEVEL": "3", **env},
    )


def test_a_changed_rasa_function_keeps_rasas_code_with_a_warning() -> None:
    """As after a Rasa upgrade: the function's source differs, so its speed-up is refused; the others apply."""
    result = _python("""
        import logging
        logging.basicConfig(level=logging.WARNING)
        from rasa.nlu.classifiers import fallback_classifier

        def undo_fallback_prediction(prediction):  # "Rasa 3.7": another source
            return dict(prediction)

        fallback_classifier.undo_fallback_prediction = undo_fallback_prediction
        from bot.nlu import rasa_speedups
        rasa_speedups.apply()
        assert fallback_classifier.undo_fallback_prediction is undo_fallback_prediction
        assert rasa_speedups.applied["evaluation without deep copies"] is False
        assert sum(rasa_speedups.applied.values()) == len(rasa_speedups.applied) - 1, rasa_speedups.applied
        print("OK")
    """)
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if "speed-up NOT applied" in line]
    assert len(warnings) == 1 and "undo_fallback_prediction" in warnings[0], result.stderr[-3000:]


def test_oim_rasa_speedups_0_leaves_rasa_and_python_alone() -> None:
    result = _python("""
        import sre_compile
        from rasa.core.actions.action import RemoteAction
        from rasa.utils.tensorflow.models import RasaModel
        before = (RemoteAction._validate_action_result, RasaModel.__dict__["load"], sre_compile.compile)
        from bot.nlu import rasa_speedups
        rasa_speedups.apply()
        assert (RemoteAction._validate_action_result, RasaModel.__dict__["load"], sre_compile.compile) == before
        assert rasa_speedups.applied == {}
        print("OK")
    """, OIM_RASA_SPEEDUPS="0")
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]
