"""Shared fixtures: the real servers, started once per test session."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.stack import ActionServer, RasaServer, free_port, trained_model, write_sqlite_endpoints


@pytest.fixture(scope="session")
def model_path() -> Path:
    return trained_model()


@pytest.fixture(scope="session")
def stack(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaServer]:
    """Action server + Rasa server (REST channel, SQLite tracker store) on free ports."""
    workdir = tmp_path_factory.mktemp("stack")
    actions = ActionServer(port=free_port(), log_path=workdir / "actions.log").start()
    endpoints = write_sqlite_endpoints(workdir / "endpoints.yml", actions.url, workdir / "trackers.db")
    rasa = RasaServer(port=free_port(), model=model_path, endpoints=endpoints, log_path=workdir / "rasa.log")
    try:
        rasa.start()
        rasa.actions = actions  # type: ignore[attr-defined]
        yield rasa
    finally:
        rasa.stop()
        actions.stop()
