"""Reader for the released CrossTrace chat splits (CC BY 4.0, Andrew Bouras).

The release folder holds `train_ours_only.jsonl` (1,180), `val.jsonl` (102), `test_ours.jsonl`
(107) and `test_hypogen.jsonl` (50): one `{"messages": [system, user, assistant]}` object per
line, the two test files with a `metadata` object too, and `manifest.json` (split seed and
fractions). Train and validation carry no metadata, so no domain.

    from crosstrace.errors import ErrorPolicy
    from crosstrace.sources.crosstrace_release import read_release
    release = read_release("../shared/data/crosstrace", ErrorPolicy())
    release.splits["test"][0].record.hypothesis
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.jsonio import read_json_object
from crosstrace.schema import SchemaError, TraceRecord, parse_chat
from crosstrace.sources.reader import read_records

RELEASE_FILES = {"train": "train_ours_only.jsonl", "validation": "val.jsonl", "test": "test_ours.jsonl"}
HYPOGEN_TEST_FILE = "test_hypogen.jsonl"
RELEASE_MANIFEST = "manifest.json"
# The release's `metadata.source` values and the record sources (= compliance profiles) they mean.
RELEASED_SOURCE_NAMES = {"ours": "crosstrace", "hypogen": "hypogen"}


@dataclass
class SourceRecord:
    """A record and where it was read from (for error messages and build checks)."""

    record: TraceRecord
    path: str
    line: int


@dataclass
class Release:
    splits: dict[str, list[SourceRecord]]  # train / validation / test
    hypogen_test: list[SourceRecord]
    split_settings: dict[str, Any]  # the release's manifest.json (seed, train_pct, val_pct, ...)
    files: list[Path] = field(default_factory=list)  # every file read, for the build's checksums


def require(obj: dict[str, Any], key: str, types: type | tuple[type, ...], prefix: str = "") -> Any:
    """obj[key], checked to be present and of `types` (bool is never a number here)."""
    name = f"{prefix}{key}"
    if key not in obj:
        raise SchemaError(name, "missing")
    value = obj[key]
    numeric = types in (float, (int, float))
    if (isinstance(value, bool) and numeric) or not isinstance(value, types):
        expected = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise SchemaError(name, f"expected {expected}, got {type(value).__name__} {json.dumps(value)[:40]}")
    return value


def read_metadata(metadata: Any, prefix: str = "metadata.") -> dict[str, Any]:
    """The record metadata of the release's `metadata` object, types checked."""
    if not isinstance(metadata, dict):
        raise SchemaError(prefix.rstrip("."), f"expected an object, got {type(metadata).__name__}")
    patterns = require(metadata, "patterns", list, prefix)
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            raise SchemaError(f"{prefix}patterns[{index}]", f"expected str, got {type(pattern).__name__}")
    scores = {}
    for key in ("extraction_confidence", "explicitness"):
        scores[key] = float(require(metadata, key, (int, float), prefix))
        if not 0.0 <= scores[key] <= 1.0:
            raise SchemaError(f"{prefix}{key}", f"expected a value in [0, 1], got {scores[key]}")
    return {
        "domain": require(metadata, "domain", str, prefix),
        # HypoGen rows have an empty paper id: unknown, stored as null.
        "paper_id": require(metadata, "paper_id", str, prefix) or None,
        "patterns": patterns,
        **scores,
    }


def parse_released(obj: dict[str, Any], source: str) -> TraceRecord:
    """One line of a released chat file; `source` is "crosstrace" or "hypogen" (the file's layout)."""
    metadata = {}
    if "metadata" in obj:
        released_source = (
            require(obj["metadata"], "source", str, "metadata.") if isinstance(obj["metadata"], dict) else None
        )
        if released_source is not None and RELEASED_SOURCE_NAMES.get(released_source) != source:
            raise SchemaError("metadata.source", f"{released_source!r} does not match this file's layout ({source})")
        metadata = read_metadata(obj["metadata"])
    return parse_chat(require(obj, "messages", list), source=source, **metadata)


def read_chat_file(path: str | Path, source: str, policy: ErrorPolicy) -> list[SourceRecord]:
    """Records of one released chat file; `source` is "crosstrace" or "hypogen" (the file's layout)."""
    records = read_records(
        path,
        policy,
        "a file of the CrossTrace release",
        lambda obj, line: SourceRecord(parse_released(obj, source), str(path), line),
        text_only=True,
    )
    require_records(path, records, policy)
    return records


def require_records(path: Path, records: list[SourceRecord], policy: ErrorPolicy) -> None:
    """A source file without one usable record is a DataError naming it (even under skip): building or
    evaluating on nothing would end in an empty dataset, or in an error that names another file."""
    if not records:
        skipped = sum(1 for item in policy.skipped if item.path == str(path))
        why = f"all {skipped} records were unusable (see the skipped records)" if skipped else "the file holds none"
        raise DataError(path, None, None, f"no usable record: {why}")


def read_split_settings(folder: Path) -> dict[str, Any]:
    """The release's manifest.json (split seed and fractions), checked: train_pct and val_pct are fractions
    that leave room for a test split."""
    path = folder / RELEASE_MANIFEST
    if not path.is_file():
        return {}
    settings = read_json_object(path)
    for key in ("train_pct", "val_pct"):
        value = settings.get(key)
        if key in settings and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1):
            raise DataError(path, None, key, f"expected a fraction between 0 and 1, got {value!r}")
    if settings.get("train_pct", 0) + settings.get("val_pct", 0) > 1:
        raise DataError(
            path, None, "train_pct", "train_pct + val_pct is more than 1: no room is left for the test split"
        )
    return settings


def has_release(folder: str | Path) -> bool:
    return all((Path(folder) / name).is_file() for name in RELEASE_FILES.values())


def read_release(folder: str | Path, policy: ErrorPolicy) -> Release:
    """The three CrossTrace splits, the HypoGen test (empty when its file is absent) and the split settings."""
    folder = Path(folder)
    splits = {split: read_chat_file(folder / name, "crosstrace", policy) for split, name in RELEASE_FILES.items()}
    files = [folder / name for name in RELEASE_FILES.values()]
    hypogen_path = folder / HYPOGEN_TEST_FILE
    hypogen = read_chat_file(hypogen_path, "hypogen", policy) if hypogen_path.is_file() else []
    files += [hypogen_path] if hypogen_path.is_file() else []
    files += [folder / RELEASE_MANIFEST] if (folder / RELEASE_MANIFEST).is_file() else []
    return Release(splits, hypogen, read_split_settings(folder), files)
