"""What every line-based reader shares: the rows of a data file, and one record per valid row.

    from crosstrace.sources.reader import read_records
    records = read_records(path, policy, "WildSci's wildsci.jsonl", parse)   # parse(obj, line) -> record

`iter_rows` reads JSON Lines (`.jsonl`), parquet (`.parquet`) and a JSON list of rows (`.json`);
`line` is the 1-based line or row. `read_records` turns a `SchemaError` that `parse` raises for
one row into a `DataError` naming the file, the line and the field: raised, or counted and
skipped under `ErrorPolicy("skip")`. Both take `unique` (a JSON line repeating an earlier one is
such an error too: a source's record would otherwise be used twice) and `text_only` (a string
holding a lone surrogate is one: these records go to tokenizers and parquet files, which cannot
take it); see `crosstrace.jsonio.iter_jsonl`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pyarrow.parquet as pq

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.jsonio import iter_jsonl, read_json
from crosstrace.schema import SchemaError

T = TypeVar("T")


def iter_rows(
    path: Path, policy: ErrorPolicy, unique: bool = False, text_only: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line or row, object) of each row of a `.jsonl`, `.parquet` or `.json` (a list of rows) file."""
    if path.suffix == ".parquet":
        try:
            records = pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise DataError(path, None, None, f"not a readable parquet file ({exc})") from None
    elif path.suffix == ".json":
        records = read_json(path, text_only=text_only)
        if not isinstance(records, list):
            raise DataError(path, None, None, "expected a JSON list of rows")
    else:
        yield from iter_jsonl(path, policy, unique=unique, text_only=text_only)
        return
    for number, record in enumerate(records, start=1):
        if isinstance(record, dict):
            yield number, record
        else:
            policy.handle(DataError(path, number, None, f"expected an object, got {type(record).__name__}"))


def read_records(
    path: str | Path,
    policy: ErrorPolicy,
    expected: str,
    parse: Callable[[dict[str, Any], int], T],
    rows: Callable[..., Iterator[tuple[int, dict[str, Any]]]] = iter_jsonl,
    unique: bool = False,
    text_only: bool = False,
) -> list[T]:
    """`parse(obj, line)` of every row of the file, in file order; `expected` says what a missing file should be.

    `rows` reads the file: JSON Lines whatever its name (the default), or `iter_rows` (by suffix)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, None, f"file not found (expected {expected})")
    records = []
    for line, obj in rows(path, policy, unique=unique, text_only=text_only):
        try:
            records.append(parse(obj, line))
        except SchemaError as error:
            policy.handle(DataError(path, line, error.field, error.reason))
    return records
