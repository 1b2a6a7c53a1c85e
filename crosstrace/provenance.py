"""Where an artefact came from: library versions and the git state of this checkout.

One definition for every artefact that records its provenance: a dataset folder's manifest,
an evaluation run's results.json and a training run's run_metadata.json (each names the
libraries that decide its own bytes).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from crosstrace import __version__
from crosstrace.paths import REPO_ROOT


def library_versions(names: Iterable[str]) -> dict[str, str | None]:
    """{"crosstrace": this source tree's version, name: installed version or None} for `names`.

    crosstrace's version is read from the source tree: it need not be pip-installed to run.
    """
    versions: dict[str, str | None] = {"crosstrace": __version__}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(repo: Path = REPO_ROOT) -> dict[str, Any]:
    """{"commit": sha or None, "dirty": bool or None}: None where this is not a git checkout."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=20, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """The commit as one string, `-dirty` when tracked files have changes; None outside a git checkout."""
    state = git_state(repo)
    if state["commit"] is None:
        return None
    return state["commit"] + ("-dirty" if state["dirty"] else "")
