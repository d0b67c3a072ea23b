"""A copy of the project as a clone would have it: what git tracks plus new files not ignored.

Why: tests that run commands "as a maintainer would" (`bot update`, `bot validate` on a plain
clone) must run on the project's own files only, away from this checkout and from anything
beside it; copying also takes the working tree's uncommitted changes, which a `git clone` would not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bot.knowledge.paths import repo_root

ROOT = repo_root()
NOT_COPIED = {".venv", "models", "results", "reports", ".git", ".runtime", "__pycache__", ".pytest_cache"}


def _copied(name: str) -> bool:
    return bool(name) and Path(name).parts[0] not in NOT_COPIED and "__pycache__" not in name


def project_files() -> list[str]:
    """Tracked and untracked (not ignored) files of the repository; every file if not a git checkout."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True
    )
    if listing.returncode == 0:
        names = listing.stdout.decode().split("\0")
    else:
        names = []
        for folder, subfolders, files in os.walk(ROOT):
            subfolders[:] = [d for d in subfolders if d not in NOT_COPIED]
            names += [str((Path(folder) / f).relative_to(ROOT)) for f in files]
    return sorted(name for name in names if _copied(name) and (ROOT / name).is_file())


def copy_project(target: Path) -> Path:
    """Copy the project files into target (created); returns target."""
    for name in project_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)
    return target
