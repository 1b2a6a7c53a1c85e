"""Reading and writing JSON and JSON Lines: every reader's failure is a `DataError` naming the file and line.

    data = read_json(path)                           # one JSON document (any type)
    for line, obj in iter_jsonl(path, policy): ...   # one JSON object per line
    value = loads(text)                              # text from elsewhere (a model's output, a server's reply)
    text = dumps(value)                              # non-ASCII kept readable, always encodable as UTF-8

Every JSON text this project reads goes through `loads` (tests/test_json_readers.py checks that no
other module calls `json.loads`/`json.load`), which refuses, as `InvalidJSON`, what would otherwise
escape as a bare `RecursionError` or `ValueError` naming no file: nesting deeper than `MAX_DEPTH`
levels (Python's parser gives up near 1,000, and values nested a few hundred deep break later
recursive code), and integers of more than `MAX_INTEGER_DIGITS` digits (Python refuses 4,300; no
number this project reads needs more than a float holds, and `float()` of a longer one overflows).

Readers accept a UTF-8 byte-order mark at the start of a file (editors on Windows write one).
JSON Lines are split on "\\n" only: `str.splitlines()` would also split at U+2028, U+2029 and
U+0085, which `dumps` (like `json.dumps(..., ensure_ascii=False)`) leaves raw inside strings, so
a model output containing one would break its line in two.

`dumps` is `json.dumps(..., ensure_ascii=False)` with one repair: a lone surrogate (e.g. from the
JSON escape "\\ud800" in someone's predictions file) is written as that escape again, not raw,
because a raw one cannot be encoded as UTF-8 and writing the file would fail. Text without lone
surrogates comes out exactly as `json.dumps` writes it, so hashes of dumped values do not change.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError, ErrorPolicy

# No file this project reads nests more than about 8 levels; 100 leaves room for anyone's
# metadata and stays far below where Python's recursive code (repr, deepcopy, json.dumps) fails.
MAX_DEPTH = 100
# 1.8e308, the largest float, has 309 digits: a longer integer overflows `float()`.
MAX_INTEGER_DIGITS = 309
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTAINERS = (dict, list)


class InvalidJSON(ValueError):
    """Text that is not JSON this project reads; `line` is the 1-based line within the text, when known."""

    def __init__(self, reason: str, line: int | None = None):
        self.reason = reason
        self.line = line
        super().__init__(reason)


class _IntegerTooLong(ValueError):
    pass


def _integer(digits: str) -> int:
    """json's parse_int: refuses, before converting, an integer longer than MAX_INTEGER_DIGITS."""
    if len(digits) - digits.startswith("-") > MAX_INTEGER_DIGITS:
        raise _IntegerTooLong(len(digits) - digits.startswith("-"))
    return int(digits)


def _deeper_than(value: Any, limit: int) -> bool:
    """Does `value` nest containers more than `limit` levels deep? Level by level, without recursion (a
    few milliseconds for the 3.6 MB DACR-Bench mini file)."""
    level, depth = [value], 1
    while level:
        inner = []
        for item in level:
            for child in item.values() if type(item) is dict else item:
                if type(child) in _CONTAINERS:
                    inner.append(child)
        if not inner:
            return False
        depth += 1
        if depth > limit:
            return True
        level = inner
    return False


def loads(text: str) -> Any:
    """`json.loads(text)`, with every failure an `InvalidJSON` saying what is wrong (and on which line)."""
    try:
        value = json.loads(text, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise InvalidJSON(f"not valid JSON ({exc.msg} at column {exc.colno})", exc.lineno) from None
    except RecursionError:
        raise InvalidJSON(f"nested deeper than {MAX_DEPTH} levels (arrays or objects inside one another)") from None
    except _IntegerTooLong as exc:
        raise InvalidJSON(
            f"an integer of {exc.args[0]} digits (more than {MAX_INTEGER_DIGITS}: larger than any number read here)"
        ) from None
    if isinstance(value, (dict, list)) and _deeper_than(value, MAX_DEPTH):
        raise InvalidJSON(f"nested deeper than {MAX_DEPTH} levels (arrays or objects inside one another)")
    return value


def has_lone_surrogate(text: str) -> bool:
    """Does `text` hold half of a UTF-16 surrogate pair, which is not Unicode text (JSON lets "\\ud800" through)?"""
    return _LONE_SURROGATE.search(text) is not None


def dumps(value: Any, **options: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, **options)`, with lone surrogates escaped (see the module docstring)."""
    text = json.dumps(value, ensure_ascii=False, **options)
    if _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _not_text(value: Any, raw: bytes) -> bool:
    """Does a parsed value hold a lone surrogate? Only escapes ("\\ud800") can make one: raw UTF-8 cannot
    encode it, so the cheap test on the bytes rules out nearly every line before any real look."""
    return b"\\ud" in raw.lower() and has_lone_surrogate(json.dumps(value, ensure_ascii=False))


_NOT_TEXT = (
    "holds a lone surrogate escape (half of a UTF-16 pair, e.g. \\ud800): not text a tokenizer or parquet file takes"
)


def read_json(path: str | Path, text_only: bool = False) -> Any:
    """The JSON document in `path`; raises DataError when the file is missing, not UTF-8 or not JSON
    (`text_only`: or when a string holds a lone surrogate, for text bound for a tokenizer or parquet)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, None, "file not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(path, None, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        value = loads(text)
    except InvalidJSON as exc:
        raise DataError(path, exc.line, None, exc.reason) from None
    if text_only and _not_text(value, raw):
        raise DataError(path, None, None, _NOT_TEXT)
    return value


def read_json_object(path: str | Path) -> dict[str, Any]:
    """`read_json` for files whose top level must be an object (manifests, results, metadata)."""
    value = read_json(path)
    if not isinstance(value, dict):
        raise DataError(path, None, None, f"expected a JSON object, got {type(value).__name__}")
    return value


def iter_jsonl(
    path: str | Path, policy: ErrorPolicy | None = None, unique: bool = False, text_only: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, object) for each non-blank line of a JSON Lines file.

    Lines that are not UTF-8, not JSON, or not a JSON object go to `policy` (default: raise); with
    `unique`, so does a line repeating an earlier one exactly (for files where a repeated record would
    be read twice without anyone asking: training rows, source questions); with `text_only`, a line
    whose strings hold a lone surrogate (records bound for a tokenizer or a parquet file, which
    cannot take one; model outputs and predictions are read as written, and reported by the scorer).
    """
    path = Path(path)
    policy = policy or ErrorPolicy()
    if not path.is_file():
        raise DataError(path, None, None, "file not found")
    first_line: dict[bytes, int] = {}
    with path.open("rb") as handle:  # binary lines end at b"\n" only
        for line_number, raw in enumerate(handle, start=1):
            if line_number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            if not raw.strip():
                continue
            if unique:
                seen = first_line.setdefault(raw.strip(), line_number)
                if seen != line_number:
                    policy.handle(DataError(path, line_number, None, f"repeats line {seen} exactly"))
                    continue
            try:
                obj = loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                policy.handle(
                    DataError(path, line_number, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
                )
                continue
            except InvalidJSON as exc:
                truncated = "; truncated line?" if exc.reason.startswith("not valid JSON") else ""
                policy.handle(DataError(path, line_number, None, exc.reason + truncated))
                continue
            if not isinstance(obj, dict):
                policy.handle(DataError(path, line_number, None, f"expected a JSON object, got {type(obj).__name__}"))
                continue
            if text_only and _not_text(obj, raw):
                policy.handle(DataError(path, line_number, None, _NOT_TEXT))
                continue
            yield line_number, obj
