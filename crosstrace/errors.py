"""Errors for bad input data, and the policy that decides whether bad lines stop a job.

Every reader reports bad input the same way: a `DataError` naming the file, the line (or
record index) and the field, with a sentence saying what is wrong. Under the `skip` policy the
error is recorded instead of raised, so that whatever is skipped is counted and reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

OnError = Literal["raise", "skip"]


class DataError(ValueError):
    """Bad input data: names the file, the line (1-based) or record, and the field."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, reason: str):
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = reason
        # Set when raised by an ErrorPolicy: `--on-error skip` would have skipped this record.
        self.skippable = False
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        what = f" field '{self.field}':" if self.field else ""
        return f"{where}:{what} {self.reason}"


@dataclass(frozen=True)
class SkippedRecord:
    path: str
    line: int | None
    field: str | None
    reason: str


@dataclass
class ErrorPolicy:
    """Raise on the first bad record (`raise`, the default) or record it and go on (`skip`)."""

    on_error: OnError = "raise"
    skipped: list[SkippedRecord] = field(default_factory=list)

    def handle(self, error: DataError) -> None:
        if self.on_error == "raise":
            error.skippable = True
            raise error
        self.skipped.append(SkippedRecord(error.path, error.line, error.field, error.reason))

    def report(self) -> list[dict[str, Any]]:
        """The skipped records, for a manifest or a results file."""
        return [asdict(s) for s in self.skipped]
