"""Run metadata: what a trained adapter was made from, for its model card and for reproduction.

Written as `run_metadata.json` beside the adapter: library versions, the git commit (and whether
the tree had uncommitted changes), every mixture source with its size, the rows it contributed,
its `datasets` fingerprint and the sha256 of its build manifest when it is a local folder, the
length report, and the resolved recipe. Paths on the training machine are stripped from the
recipe (a home folder or a cache path means nothing to a reader and can leak a user name).
"""

from __future__ import annotations

import importlib.metadata
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

from crosstrace.paths import REPO_ROOT
from crosstrace.publish.sanitize import strip_local_paths as sanitize_tree
from crosstrace.publish.sanitize import strip_local_paths_in_text

RECORDED_LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers", "bitsandbytes")


def library_versions() -> dict[str, str | None]:
    from crosstrace import __version__

    versions: dict[str, str | None] = {"crosstrace": __version__}  # from the source tree: it need not be pip-installed
    for name in RECORDED_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
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


def strip_local_path(value: str) -> str:
    """A path on this machine -> relative to the repository when inside it, else `<local>/<name>`."""
    return strip_local_paths_in_text(value)[0] if value else value


def strip_local_paths(obj: Any) -> Any:
    """The same for every string of a recipe-like tree (see `crosstrace.publish.sanitize`)."""
    return sanitize_tree(obj)[0]


def manifest_digest(source_path: str) -> str | None:
    """sha256 of a local dataset folder's manifest.json (our builders write one), else None."""
    from crosstrace.hub_folder import MANIFEST_NAME, sha256_file

    manifest = Path(source_path) / MANIFEST_NAME
    return sha256_file(manifest) if manifest.is_file() else None


def run_metadata(
    recipe: dict[str, Any],
    source_reports: list,
    length_report: list,
    dropped_overlong: int,
    skipped_rows: list[dict],
    world_size: int = 1,
    runtime: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`runtime`: what actually ran (attention kernel, TRL's resolved settings, distributed mode), as recorded."""
    sources = []
    for report in source_reports:
        entry = asdict(report)
        entry["path"] = strip_local_path(entry["path"])
        entry["data_files"] = strip_local_paths(entry["data_files"])
        entry["manifest_sha256"] = manifest_digest(report.path)
        for skipped in entry["skipped"]:
            skipped["path"] = strip_local_path(skipped["path"])
        sources.append(entry)
    return {
        "schema_version": 1,
        "libraries": library_versions(),
        "git": git_state(),
        "world_size": world_size,  # processes that trained (accelerate launch --num_processes)
        **({"runtime": runtime} if runtime is not None else {}),
        "datasets": sources,
        "token_lengths": [asdict(r) for r in length_report],
        "dropped_overlong": dropped_overlong,
        "skipped_rows": len(skipped_rows),
        "recipe": strip_local_paths(recipe),
    }
