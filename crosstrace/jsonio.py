"""Reading JSON and JSON Lines files, with every failure a `DataError` naming the file and line.

    data = read_json(path)                           # one JSON document (any type)
    for line, obj in iter_jsonl(path, policy): ...   # one JSON object per line

Both accept a UTF-8 byte-order mark at the start of the file (editors on Windows write one).
JSON Lines are split on "\\n" only: `str.splitlines()` would also split at U+2028, U+2029 and
U+0085, which `json.dumps(..., ensure_ascii=False)` leaves raw inside strings, so a model output
containing one would break its line in two.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError, ErrorPolicy


def read_json(path: str | Path) -> Any:
    """The JSON document in `path`; raises DataError when the file is missing, not UTF-8 or not JSON."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, None, "file not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(path, None, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, exc.lineno, None, f"not valid JSON ({exc.msg} at column {exc.colno})") from None


def read_json_object(path: str | Path) -> dict[str, Any]:
    """`read_json` for files whose top level must be an object (manifests, results, metadata)."""
    value = read_json(path)
    if not isinstance(value, dict):
        raise DataError(path, None, None, f"expected a JSON object, got {type(value).__name__}")
    return value


def iter_jsonl(path: str | Path, policy: ErrorPolicy | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, object) for each non-blank line of a JSON Lines file.

    Lines that are not UTF-8, not JSON, or not a JSON object go to `policy` (default: raise).
    """
    path = Path(path)
    policy = policy or ErrorPolicy()
    with path.open("rb") as handle:  # binary lines end at b"\n" only
        for line_number, raw in enumerate(handle, start=1):
            if line_number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                policy.handle(
                    DataError(path, line_number, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
                )
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                policy.handle(
                    DataError(
                        path, line_number, None, f"not valid JSON ({exc.msg} at column {exc.colno}); truncated line?"
                    )
                )
                continue
            if not isinstance(obj, dict):
                policy.handle(DataError(path, line_number, None, f"expected a JSON object, got {type(obj).__name__}"))
                continue
            yield line_number, obj
