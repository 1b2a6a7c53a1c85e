"""Reader for HypoGen hub rows (`UniverseTBD/hypogen-dr1`): bit, flip, spark, chain_of_reasoning, abstract, title.

Converted the way upstream CrossTrace converted them into its `test_hypogen.jsonl`:

    user       Field context: <abstract>\\n\\nConventional assumption: <bit>
    assistant  Core insight: <spark>\\n\\nReasoning:\\n<chain_of_reasoning>\\n\\nHypothesis: <flip>

no Approach and no key prior work; metadata domain `cs_ml`, no paper id, no patterns, both
confidences 1.0. `title` is not part of the chat. Fields are stripped, and a line break inside a
field becomes a space (the chat layout holds one line per field).

    from crosstrace.errors import ErrorPolicy
    from crosstrace.sources.hypogen import read_rows
    records = read_rows("hypogen_test.parquet", ErrorPolicy())    # or .jsonl
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from crosstrace.errors import ErrorPolicy
from crosstrace.schema import DEFAULT_SYSTEM_PROMPT, SchemaError, TraceRecord
from crosstrace.sources.crosstrace_release import SourceRecord, require
from crosstrace.sources.reader import iter_rows, read_records

HYPOGEN_FIELDS = ("bit", "flip", "spark", "chain_of_reasoning", "abstract", "title")
HYPOGEN_DOMAIN = "cs_ml"


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text.strip())


def record_from_row(row: dict[str, Any], system_prompt: str = DEFAULT_SYSTEM_PROMPT) -> TraceRecord:
    """One hub row -> a hypogen TraceRecord (SchemaError names a missing or mistyped field)."""
    fields = {name: _one_line(require(row, name, str)) for name in HYPOGEN_FIELDS}
    for name in ("bit", "flip", "spark", "chain_of_reasoning", "abstract"):
        if not fields[name]:
            raise SchemaError(name, "empty")
    return TraceRecord(
        field_context=fields["abstract"],
        conventional_assumption=fields["bit"],
        key_prior_work=[],
        spark=fields["spark"],
        steps=[fields["chain_of_reasoning"]],
        hypothesis=fields["flip"],
        approach=None,
        source="hypogen",
        domain=HYPOGEN_DOMAIN,
        paper_id=None,
        patterns=[],
        extraction_confidence=1.0,
        explicitness=1.0,
        system_prompt=system_prompt,
    )


def read_rows(path: str | Path, policy: ErrorPolicy, system_prompt: str = DEFAULT_SYSTEM_PROMPT) -> list[SourceRecord]:
    """Records of a HypoGen file (.parquet, or JSON Lines); for parquet, `line` is the 1-based row."""
    return read_records(
        path,
        policy,
        "HypoGen rows as .parquet or .jsonl",
        lambda row, number: SourceRecord(record_from_row(row, system_prompt), str(path), number),
        rows=iter_rows,
        unique=True,
        text_only=True,
    )
