"""Reader for upstream CrossTrace's raw records (`all_traces.jsonl`), grounding kept.

One JSON object per line (the shape upstream's code writes; the file is not in the public
release folder, so this reader is tested on the project's own fixtures):

    {"input":  {"field_context": str, "conventional_assumption": str,
                "key_prior_work": [str | {"ref": str, "doi": str | null}, ...]},
     "trace":  [str, ...],                                   # the 3-6 reasoning steps
     "output": {"spark": str, "hypothesis": str, "approach": str},
     "metadata": {"domain": str, "paper_id": str, "patterns": [str], "extraction_confidence": float,
                  "explicitness": float, ...},
     "grounding": [{"step": int | str, "source": "Section, paragraph N: 'exact quote'"}, ...]}

`grounding[].step` is the 1-based step number, or the step's own text (matched whitespace- and
case-insensitively). Unknown keys are ignored. Domains here are released: nothing is inferred.

    from crosstrace.errors import ErrorPolicy
    from crosstrace.sources.crosstrace_raw import read_raw_file
    records = read_raw_file("all_traces.jsonl", ErrorPolicy(on_error="skip"))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosstrace.errors import ErrorPolicy
from crosstrace.schema import Grounding, PriorWork, SchemaError, TraceRecord
from crosstrace.sources.crosstrace_release import SourceRecord, read_metadata, require, require_records
from crosstrace.sources.reader import read_records

RAW_FILE = "all_traces.jsonl"


def _strings(values: list[Any], name: str) -> list[str]:
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise SchemaError(f"{name}[{index}]", f"expected str, got {type(value).__name__}")
    return values


def _prior_work(items: list[Any]) -> list[PriorWork]:
    works = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            works.append(PriorWork(item))
        elif isinstance(item, dict):
            doi = item.get("doi")
            if doi is not None and not isinstance(doi, str):
                raise SchemaError(
                    f"input.key_prior_work[{index}].doi", f"expected str or null, got {type(doi).__name__}"
                )
            works.append(PriorWork(require(item, "ref", str, f"input.key_prior_work[{index}]."), doi or None))
        else:
            raise SchemaError(
                f"input.key_prior_work[{index}]", f"expected str or {{ref, doi}}, got {type(item).__name__}"
            )
    return works


def _step_number(value: Any, steps: list[str], name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= len(steps):
            raise SchemaError(name, f"step {value} is outside 1..{len(steps)}")
        return value
    if isinstance(value, str):
        wanted = " ".join(value.split()).casefold()
        for number, step in enumerate(steps, start=1):
            if " ".join(step.split()).casefold() == wanted:
                return number
        raise SchemaError(name, f"matches none of the {len(steps)} steps: {value[:40]!r}")
    raise SchemaError(name, f"expected a step number or the step's text, got {type(value).__name__}")


def _grounding(entries: list[Any], steps: list[str]) -> list[Grounding]:
    grounding = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise SchemaError(
                f"grounding[{index}]", f"expected an object {{step, source}}, got {type(entry).__name__}"
            )
        step = _step_number(
            require(entry, "step", (int, str), f"grounding[{index}]."), steps, f"grounding[{index}].step"
        )
        grounding.append(Grounding(step, require(entry, "source", str, f"grounding[{index}].")))
    return grounding


def parse_raw(obj: dict[str, Any], system_prompt: str | None = None) -> TraceRecord:
    """One raw record -> TraceRecord (SchemaError names the field at fault)."""
    given = require(obj, "input", dict)
    output = require(obj, "output", dict)
    steps = _strings(require(obj, "trace", list), "trace")
    metadata = read_metadata(require(obj, "metadata", dict))
    record = TraceRecord(
        field_context=require(given, "field_context", str, "input."),
        conventional_assumption=require(given, "conventional_assumption", str, "input."),
        key_prior_work=_prior_work(require(given, "key_prior_work", list, "input.")),
        spark=require(output, "spark", str, "output."),
        steps=steps,
        hypothesis=require(output, "hypothesis", str, "output."),
        approach=require(output, "approach", str, "output."),
        grounding=_grounding(require(obj, "grounding", list) if "grounding" in obj else [], steps),
        source="crosstrace",
        system_prompt=system_prompt,
        **metadata,
    )
    record.to_messages()  # every record must have its chat rendering (SchemaError names the field)
    return record


def read_raw_file(path: str | Path, policy: ErrorPolicy, system_prompt: str | None = None) -> list[SourceRecord]:
    records = read_records(
        path,
        policy,
        "upstream's raw all_traces.jsonl",
        lambda obj, line: SourceRecord(parse_raw(obj, system_prompt), str(path), line),
        text_only=True,
    )
    require_records(path, records, policy)
    return records
