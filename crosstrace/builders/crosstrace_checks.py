"""Build-time checks of the CrossTrace dataset: duplicates, structural compliance, paper-level leakage.

Each check returns `{"passed", "count", "findings": [{"reason", "records"}], ...}` for the
manifest and the card; records are named `split/file:line`. Findings are listed up to
`MAX_LISTED` per check (the count is always complete).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosstrace.schema import COMPLIANCE_VERSION, TraceRecord, check_compliance, render_assistant, render_user

MAX_LISTED = 50


@dataclass
class BuiltRecord:
    """A record as the build holds it: where it came from, its split and its stable id."""

    record: TraceRecord
    split: str
    path: str
    line: int
    id: str

    @property
    def where(self) -> str:
        return f"{self.split}/{Path(self.path).name}:{self.line}"


def _result(findings: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"passed": not findings, "count": len(findings), "findings": findings[:MAX_LISTED], **extra}


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def _groups(records: list[BuiltRecord], key: Callable[[BuiltRecord], str | None]) -> list[list[BuiltRecord]]:
    groups: dict[str, list[BuiltRecord]] = defaultdict(list)
    for item in records:
        value = key(item)
        if value:
            groups[value].append(item)
    return [group for group in groups.values() if len(group) > 1]


def check_duplicates(records: list[BuiltRecord]) -> dict[str, Any]:
    """Identical records (same id), and different records with the same input (user message)."""
    findings = []
    exact = _groups(records, lambda item: item.id)
    for group in exact:
        scope = "within split" if len({item.split for item in group}) == 1 else "across splits"
        findings.append({"reason": f"identical record {scope}", "records": [item.where for item in group]})
    exact_ids = {group[0].id for group in exact}
    for group in _groups(records, lambda item: _normalized(render_user(item.record))):
        if len({item.id for item in group}) > 1 and not exact_ids & {item.id for item in group}:
            scope = "within split" if len({item.split for item in group}) == 1 else "across splits"
            findings.append(
                {"reason": f"same input, different output {scope}", "records": [item.where for item in group]}
            )
    return _result(findings)


def check_structure(records: list[BuiltRecord]) -> dict[str, Any]:
    """Every assistant text passes structural compliance under its source's profile."""
    findings = []
    for item in records:
        result = check_compliance(render_assistant(item.record), item.record.source)
        if not result.compliant:
            findings.append({"reason": ", ".join(result.violations), "records": [item.where]})
    return _result(findings, compliance_version=COMPLIANCE_VERSION)


def check_leakage(records: list[BuiltRecord]) -> dict[str, Any]:
    """The same paper in two splits: by paper id where known, by field context everywhere.

    Train and validation of the chat release carry no paper id, so the field context (a
    paper's own summary of its field) is the key that covers every record.
    """
    findings = []
    keys = {
        "same paper_id": lambda item: item.record.paper_id,
        "same field context": lambda item: _normalized(item.record.field_context),
    }
    for reason, key in keys.items():
        for group in _groups(records, key):
            if len({item.split for item in group}) > 1:
                findings.append(
                    {
                        "reason": f"{reason} in splits {sorted({item.split for item in group})}",
                        "records": [item.where for item in group],
                    }
                )
    return _result(findings, papers_with_id=len({item.record.paper_id for item in records if item.record.paper_id}))


def run_checks(records: list[BuiltRecord]) -> dict[str, dict[str, Any]]:
    return {
        "duplicates": check_duplicates(records),
        "compliance": check_structure(records),
        "leakage": check_leakage(records),
    }
