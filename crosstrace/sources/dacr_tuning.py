"""Read the upstream DACR tuning data (rows of `prompt`, `response`, `reward`) into trace rows.

    from crosstrace.sources.dacr_tuning import read_tuning_data
    data = read_tuning_data("path/to/grpo_reasoning_v2")        # a folder, or one .jsonl/.json/.parquet
    data.rows["train"][0]["messages"], data.files, policy.skipped

The upstream corpus (docs/upstream-formats.md §3; Hub `botcoinmoney/domain-agnostic-causal-reasoning-tuning`,
config `grpo_reasoning_v2`: 4,421 / 250 / 242 rows) cannot be downloaded here; this reader
follows its published description and is tested on fixtures written for this project.

Accepted layouts:
- a folder: every `.jsonl`, `.json` (a list of rows) and `.parquet` file below it; the split is
  the file name's first word (`train-00000-of-00001.parquet` -> train; `val`, `valid` and `dev`
  mean validation), else the name of its folder when that is exactly a split name;
- a single file: its split is read from its name the same way, `train` when the name says none.

Each row becomes a row of `crosstrace.engine.records.TRACE_SCHEMA`: `prompt` is the user
message (a string) or a list of chat messages (kept as they are); `response` is the assistant
text (or a chat list, whose last assistant message is taken); `reward` is kept. A row that is
not usable (a missing or empty field, a reward that is not a number) is a `DataError` naming the
file, the line (JSON Lines) or row (parquet, JSON list, 1-based) and the field; under
`ErrorPolicy("skip")` it is counted and skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstrace.engine.records import trace_row
from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.hub_folder import sha256_file
from crosstrace.schema import SchemaError, chat_messages
from crosstrace.sources.reader import iter_rows

SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation",
    "val": "validation",
    "valid": "validation",
    "dev": "validation",
    "test": "test",
}
SUFFIXES = (".jsonl", ".json", ".parquet")


@dataclass
class TuningData:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # split -> trace rows
    files: list[dict[str, Any]] = field(default_factory=list)  # path, split, rows, sha256


def split_of(path: Path) -> str | None:
    """The split named by the file's first word (`train-00000-of-00001.parquet`), or by its
    folder when the folder is named exactly like a split (`validation/part-0.jsonl`)."""
    word = path.name.split(".")[0].split("-")[0].split("_")[0].lower()
    return SPLIT_ALIASES.get(word) or SPLIT_ALIASES.get(path.parent.name.lower())


def _messages(value: Any, path: Path, line: int, name: str) -> list[dict[str, str]]:
    """A plain string is one message (the user's prompt, the assistant's response); else a chat list."""
    if isinstance(value, str):
        if not value.strip():
            raise DataError(path, line, name, "empty")
        return [{"role": "user" if name == "prompt" else "assistant", "content": value}]
    try:
        return chat_messages(value, name)
    except SchemaError as error:
        raise DataError(path, line, error.field, error.reason) from None


def tuning_row(record: dict[str, Any], path: Path, line: int, split: str) -> dict[str, Any]:
    """One upstream row as a trace row; raises `DataError` naming the bad field."""
    for name in ("prompt", "response", "reward"):
        if record.get(name) is None:
            raise DataError(path, line, name, "missing")
    prompt = _messages(record["prompt"], path, line, "prompt")
    reply = [m for m in _messages(record["response"], path, line, "response") if m["role"] == "assistant"]
    if not reply or not reply[-1]["content"].strip():
        raise DataError(path, line, "response", "no assistant text")
    reward = record["reward"]
    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(reward):
        raise DataError(path, line, "reward", f"expected a finite number, got {reward!r}")
    return trace_row(
        row_id=f"upstream/{split}/{path.stem}/{line}",
        source="upstream",
        domain="unknown",
        challenge_id=None,
        seed=None,
        messages=[*prompt, reply[-1]],
        gold_answers=[],
        reward=float(reward),
        num_questions=None,
        num_traps=None,
    )


def read_tuning_data(path: str | Path, policy: ErrorPolicy | None = None) -> TuningData:
    policy = policy or ErrorPolicy()
    root = Path(path)
    if root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        if not files:
            raise DataError(root, None, None, f"no {', '.join(SUFFIXES)} files in this folder")
    elif root.is_file():
        files = [root]
    else:
        raise DataError(root, None, None, "no such file or folder")
    data = TuningData()
    for file in files:
        split = split_of(file) or ("train" if file == root else None)
        if split is None:
            raise DataError(
                file, None, None, f"cannot tell the split from the name; name files {sorted(set(SPLIT_ALIASES))}-*"
            )
        kept = 0
        for line, record in iter_rows(file, policy, unique=True, text_only=True):
            try:
                data.rows.setdefault(split, []).append(tuning_row(record, file, line, split))
                kept += 1
            except DataError as error:
                policy.handle(error)
        data.files.append(
            {
                "path": str(file.relative_to(root) if file != root else file.name),
                "split": split,
                "rows": kept,
                "sha256": sha256_file(file),
            }
        )
    return data
