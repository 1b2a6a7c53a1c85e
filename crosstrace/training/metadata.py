"""Run metadata: what a trained adapter was made from, for its model card and for reproduction.

Written as `run_metadata.json` beside the adapter: library versions, the git commit (and whether
the tree had uncommitted changes), every mixture source with its size, the rows it contributed,
its fingerprint and the sha256 of its build manifest when it is a local folder, the mixture as
resolved (every source with all its fields, defaults filled in: the model card's mixture table
reads it), the length report, and the resolved recipe. Paths on the training machine are stripped from the
recipe (a home folder or a cache path means nothing to a reader and can leak a user name).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from crosstrace.hub_folder import manifest_sha256
from crosstrace.provenance import git_state, library_versions
from crosstrace.sanitize import strip_local_paths as sanitize_tree
from crosstrace.sanitize import strip_local_paths_in_text
from crosstrace.training.mixture import Mixture

# The libraries that decide what a training run computes.
RECORDED_LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers", "bitsandbytes")


def strip_local_path(value: str) -> str:
    """A path on this machine -> relative to the repository when inside it, else `<local>/<name>`."""
    return strip_local_paths_in_text(value)[0] if value else value


def strip_local_paths(obj: Any) -> Any:
    """The same for every string of a recipe-like tree (see `crosstrace.sanitize`)."""
    return sanitize_tree(obj)[0]


def run_metadata(
    recipe: dict[str, Any],
    mixture: Mixture,
    length_report: list,
    dropped_overlong: int,
    skipped_rows: list[dict],
    world_size: int = 1,
    runtime: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`runtime`: what actually ran (attention kernel, TRL's resolved settings, distributed mode), as recorded."""
    sources = []
    for report in mixture.reports:
        entry = asdict(report)
        entry["path"] = strip_local_path(entry["path"])
        entry["data_files"] = strip_local_paths(entry["data_files"])
        entry["manifest_sha256"] = manifest_sha256(report.path)
        for skipped in entry["skipped"]:
            skipped["path"] = strip_local_path(skipped["path"])
        sources.append(entry)
    return {
        "schema_version": 1,
        "libraries": library_versions(RECORDED_LIBRARIES),
        "git": git_state(),
        "world_size": world_size,  # processes that trained (accelerate launch --num_processes)
        # The mixture as resolved (every field filled in): what the model card's mixture table shows.
        "mixture": [strip_local_paths(asdict(source)) for source in mixture.sources],
        **({"runtime": runtime} if runtime is not None else {}),
        "datasets": sources,
        "token_lengths": [asdict(r) for r in length_report],
        "dropped_overlong": dropped_overlong,
        "skipped_rows": len(skipped_rows),
        "recipe": strip_local_paths(recipe),
    }
