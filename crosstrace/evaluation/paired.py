"""The difference between two runs over the same records: a paired bootstrap from samples.jsonl.

Both runs score the same records, so their errors are correlated; adding their intervals as if
independent gives deltas that are too wide and can leave the metric's range (+88.9 pts
[+72.2, +105.6] for a rate). Here each resample draws units (records; DACR challenges, whose
questions share a document) once and applies the same draw to both runs, and the metric is
recomputed from the per-record scores in samples.jsonl:

    delta = paired_delta("mcq", "accuracy", base_rows, other_rows)   # rows: {id: samples.jsonl row}
    delta.value, delta.interval, delta.units

The interval is clipped to what the metric allows given the baseline (a rate's delta stays in
[-base, 1 - base]). Metrics that are not a mean of one per-record field (DACR's pass rate, CARS,
ECE, ...) have no paired delta here: `compare` falls back to its unpaired interval for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crosstrace.errors import DataError, ErrorPolicy
from crosstrace.evaluation.report import is_percent
from crosstrace.jsonio import iter_jsonl
from crosstrace.results_schema import RESULTS_NAME, SAMPLES_NAME
from crosstrace.scoring.stats import Bootstrap, interval

# (task, metric) -> the samples.jsonl field whose mean over records is the metric.
PER_RECORD_FIELDS = {
    ("crosstrace", "structural_compliance"): "compliant",
    **{("crosstrace", m): m for m in ("spark_cosine", "hypothesis_cosine", "rouge_l", "iascore")},
    ("mcq", "accuracy"): "correct",
    ("dacr", "accuracy"): "correct",
}


def metric_range(metric: str) -> tuple[float, float] | None:
    """The values a metric can take, when known: rates and scores in [0, 1], cosines in [-1, 1]."""
    if "cosine" in metric and not metric.endswith("_present"):
        return (-1.0, 1.0)
    if is_percent(metric) or metric in ("rouge_l", "ece", "brier"):
        return (0.0, 1.0)
    return None


def clip_delta(metric: str, base: float, low: float, high: float) -> tuple[float, float]:
    """A delta's interval kept to what the metric allows on top of the baseline's value."""
    bounds = metric_range(metric)
    if bounds is None:
        return low, high
    return max(low, bounds[0] - base), min(high, bounds[1] - base)


def read_samples(run_path: str | Path) -> dict[str, dict[str, dict[str, Any]]] | None:
    """{task: {id: row}} from the samples.jsonl beside a run's results.json; None when there is none."""
    path = Path(run_path)
    folder = path if path.is_dir() else path.parent
    samples = folder / SAMPLES_NAME
    if not path.exists() or not samples.is_file() or not (folder / RESULTS_NAME).is_file():
        return None
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for line, row in iter_jsonl(samples, ErrorPolicy()):
        task, record_id = row.get("task"), row.get("id")
        if not isinstance(task, str) or not isinstance(record_id, str):
            raise DataError(
                samples, line, "task/id", "expected strings: is this a samples.jsonl written by evaluate.py?"
            )
        rows.setdefault(task, {})[record_id] = row
    return rows


@dataclass
class PairedDelta:
    value: float
    interval: list[float] | None
    units: int  # records (DACR: challenges) both runs scored, the units resampled
    base: float  # the baseline's value over those records


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def paired_delta(
    task: str,
    metric: str,
    base_rows: dict[str, dict[str, Any]],
    other_rows: dict[str, dict[str, Any]],
    group: tuple[str, str] | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> PairedDelta | None:
    """other - base over the records both runs scored (optionally only those whose `group[0]` field is
    `group[1]`), with a paired percentile bootstrap; None when the metric has no per-record field."""
    field_name = PER_RECORD_FIELDS.get((task, metric))
    if field_name is None:
        return None
    units: dict[str, list[float]] = {}  # unit -> [base sum, other sum, records]
    for record_id in base_rows.keys() & other_rows.keys():
        base_row, other_row = base_rows[record_id], other_rows[record_id]
        if group is not None and (str(base_row.get(group[0])) != group[1] or str(other_row.get(group[0])) != group[1]):
            continue
        base, other = _number(base_row.get(field_name)), _number(other_row.get(field_name))
        if base is None or other is None:
            continue
        # A DACR question's id is <challenge>/<question>: its challenge is the unit resampled.
        unit = record_id.split("/", 1)[0] if task == "dacr" else record_id
        sums = units.setdefault(unit, [0.0, 0.0, 0.0])
        sums[0] += base
        sums[1] += other
        sums[2] += 1.0
    if not units:
        return None
    per_unit = np.array([units[key] for key in sorted(units)])
    base_total, other_total, count = per_unit.sum(axis=0)
    base_value = base_total / count
    boot = Bootstrap(len(per_unit), resamples, seed)
    bounds = None
    if boot.enabled:
        sums = boot.resampled_sums(per_unit)
        bounds = interval((sums[:, 1] - sums[:, 0]) / sums[:, 2])
        if bounds is not None:
            bounds = list(clip_delta(metric, base_value, *bounds))
    return PairedDelta(float(other_total / count - base_value), bounds, len(per_unit), float(base_value))
