"""Read the CrossTrace dataset folder (`python -m crosstrace.builders crosstrace`) for question making.

Reads `<folder>/all/{train,validation,test}.parquet` and, when present, `<folder>/hypogen/test.parquet`
(HypoGen is a test-only config), keeping the columns the generators use. A row that cannot make a
question (an empty hypothesis, a domain with no discipline labels, steps that are not a list of
text) is a `DataError` naming the file, the row (1-based) and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.mcq.labels import CROSSTRACE_DOMAINS

SPLITS = ("train", "validation", "test")
USED_COLUMNS = (
    "id",
    "source",
    "domain",
    "paper_id",
    "field_context",
    "conventional_assumption",
    "steps",
    "hypothesis",
)
_TEXT_COLUMNS = ("id", "source", "field_context", "conventional_assumption", "hypothesis")


def _row_problem(row: dict[str, Any]) -> tuple[str, str] | None:
    """(field, reason) of the first problem of a row, or None."""
    for name in _TEXT_COLUMNS:
        if not isinstance(row[name], str) or not row[name].strip():
            return name, "expected non-empty text"
    if row["domain"] not in CROSSTRACE_DOMAINS:
        return "domain", f"{row['domain']!r} has no discipline labels (known: {sorted(CROSSTRACE_DOMAINS)})"
    steps = row["steps"]
    if not isinstance(steps, list) or not all(isinstance(step, str) and step.strip() for step in steps):
        return "steps", "expected a list of non-empty texts"
    if row["paper_id"] is not None and not isinstance(row["paper_id"], str):
        return "paper_id", "expected text or null"
    return None


def read_parquet_rows(path: Path, policy: ErrorPolicy) -> list[dict[str, Any]]:
    schema = pq.read_schema(path)
    missing = [name for name in USED_COLUMNS if name not in schema.names]
    if missing:
        raise DataError(
            path, None, missing[0], f"column missing (a CrossTrace dataset folder has {', '.join(USED_COLUMNS)})"
        )
    rows = []
    for number, row in enumerate(pq.read_table(path, columns=list(USED_COLUMNS)).to_pylist(), start=1):
        problem = _row_problem(row)
        if problem:
            policy.handle(DataError(path, number, problem[0], f"row {number}: {problem[1]}"))
            continue
        rows.append(row)
    return rows


def crosstrace_files(folder: str | Path) -> dict[str, list[Path]]:
    """split -> the parquet files whose rows make that split's questions."""
    folder = Path(folder)
    files = {split: [folder / "all" / f"{split}.parquet"] for split in SPLITS}
    hypogen = folder / "hypogen" / "test.parquet"
    if hypogen.is_file():
        files["test"].append(hypogen)
    return files


def read_crosstrace_folder(folder: str | Path, policy: ErrorPolicy) -> dict[str, list[dict[str, Any]]]:
    """split -> rows (CrossTrace's `all` config, plus HypoGen in test)."""
    folder = Path(folder)
    if not (folder / "all").is_dir():
        raise DataError(
            folder, None, None,
            "not a CrossTrace dataset folder (no all/ config); build it first: "
            "python -m crosstrace.builders crosstrace --source ../shared/data/crosstrace --out build/crosstrace",
        )  # fmt: skip
    rows: dict[str, list[dict[str, Any]]] = {}
    for split, paths in crosstrace_files(folder).items():
        for path in paths:
            if not path.is_file():
                raise DataError(path, None, None, "file missing from the CrossTrace dataset folder")
            rows.setdefault(split, []).extend(read_parquet_rows(path, policy))
    ids = [row["id"] for split_rows in rows.values() for row in split_rows]
    if len(set(ids)) != len(ids):
        raise DataError(folder, None, "id", "ids repeat across the folder's files; questions are named after them")
    return rows
