"""A clone stands alone: the source pages are in the repo (data/pages/), nothing beside it is read.

A copy of the project (what a clone has: tracked files plus new files not ignored) is put in an
otherwise empty folder, so there is no `../shared` or any other sibling. `python -m bot validate`
must pass there on its own pages, and fail, naming the page, as soon as one is missing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.knowledge.paths import KNOWLEDGE_DIR_ENV, PAGES_DIR_ENV
from tests.project_copy import copy_project
from tests.stack import base_env

PAGE = "002_e7c62706a1bc81c1.txt"


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    project = copy_project(tmp_path / "project")
    assert [p.name for p in tmp_path.iterdir()] == ["project"]  # no ../shared, no sibling at all
    return project


def validate(project: Path) -> subprocess.CompletedProcess:
    """`python -m bot validate` run from the copy with the repo's venv, as on a fresh clone."""
    env = base_env()
    env["PYTHONPATH"] = str(project)
    for name in (KNOWLEDGE_DIR_ENV, PAGES_DIR_ENV):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "validate"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_plain_clone_validates_on_its_own_pages(clone: Path) -> None:
    pages = sorted(p.name for p in (clone / "data" / "pages").glob("*.txt"))
    assert PAGE in pages
    result = validate(clone)
    assert result.returncode == 0, result.stderr
    assert f"knowledge in {clone / 'data' / 'knowledge'} is valid" in result.stderr


def test_validation_fails_naming_a_missing_page_then_an_empty_or_missing_folder(clone: Path) -> None:
    pages = clone / "data" / "pages"
    (pages / PAGE).unlink()
    result = validate(clone)
    assert result.returncode == 1
    assert f"source page {PAGE} not found in {pages}" in result.stderr

    for page in pages.glob("*.txt"):
        page.unlink()
    result = validate(clone)
    assert result.returncode == 1
    assert f"{pages}: no page (*.txt) in the pages folder" in result.stderr

    shutil.rmtree(pages)
    result = validate(clone)
    assert result.returncode == 1
    assert f"{pages}: pages folder not found" in result.stderr
