"""Where the third-party data lives. It is read at run time and never copied into the project.

The developers' machines and CI have the public releases at `../shared/data` beside the
checkout; anyone else points `CROSSTRACE_SHARED_DATA` at a folder of the same layout, or
passes explicit paths to the builders.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA_ENV = "CROSSTRACE_SHARED_DATA"


def shared_data_dir() -> Path | None:
    """The folder holding `crosstrace/` and `dacr-bench/`, or None when there is none."""
    configured = os.environ.get(SHARED_DATA_ENV)
    candidate = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def crosstrace_release_dir() -> Path | None:
    root = shared_data_dir()
    return root / "crosstrace" if root and (root / "crosstrace").is_dir() else None


def dacr_bench_mini_file() -> Path | None:
    root = shared_data_dir()
    path = root / "dacr-bench" / "dacr_bench_v1.1_mini.json" if root else None
    return path if path and path.is_file() else None


def dacr_prompt_template_file() -> Path | None:
    root = shared_data_dir()
    path = root / "dacr-bench" / "prompt_template.txt" if root else None
    return path if path and path.is_file() else None


def refuse_overlap(output: str | Path, inputs: dict[str, str | Path | None], output_flag: str = "--out") -> None:
    """Raise a DataError when `output`, a folder replaced as a whole, is, holds or lies inside one of `inputs`
    (flag -> path; None and non-local locations such as hf:// are ignored): replacing it would delete the input."""
    from crosstrace.errors import DataError

    out = Path(output).resolve()
    for flag, given in inputs.items():
        if given is None or "://" in str(given):
            continue
        source = Path(given).resolve()
        if source == out:
            relation = "is the same folder as"
        elif out in source.parents:
            relation = "contains"
        elif source in out.parents:
            relation = "lies inside"
        else:
            continue
        raise DataError(
            output,
            None,
            output_flag,
            f"{relation} {flag} {given}: the output is replaced as a whole, which would delete that input; "
            f"choose an {output_flag} outside it",
        )
