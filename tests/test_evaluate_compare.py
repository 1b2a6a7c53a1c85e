"""`evaluate.py compare`: deltas are a paired bootstrap over the records both runs scored (issue 12,
defect 9), clipped to the metric's range; without per-record scores, an unpaired interval marked *."""

from __future__ import annotations

import json
import re

import pytest

from crosstrace.evaluation.compare import compare_tables
from crosstrace.evaluation.paired import paired_delta, read_samples


def _run(run_id: str, accuracy: float, ci: list[float]) -> dict:
    body = {"metrics": {"accuracy": accuracy}, "ci95": {"accuracy": ci}, "n": {"accuracy": 9}, "breakdowns": {}}
    return {"run_id": run_id, "label": run_id, "tasks": {"mcq": body}}


def _rows(correct: list[bool]) -> dict[str, dict]:
    return {f"q{i}": {"task": "mcq", "id": f"q{i}", "correct": value} for i, value in enumerate(correct)}


def _delta_cell(table: str) -> str:
    row = next(line for line in table.splitlines() if line.startswith("| accuracy |"))
    return row.split(" | ")[-1].rstrip(" |")


# The case: a rate from 1/9 to 9/9, whose unpaired interval reached +105.6 pts.
BASE, TUNED = _run("base", 1 / 9, [0.0, 1 / 3]), _run("tuned", 1.0, [1.0, 1.0])


def test_the_delta_interval_stays_in_the_metrics_range():
    samples = [{"mcq": _rows([True] + [False] * 8)}, {"mcq": _rows([True] * 9)}]
    cell = _delta_cell(compare_tables([BASE, TUNED], samples, resamples=200, seed=0))
    value, low, high = (float(x) for x in re.fullmatch(r"([-+.\d]+) pts \[([-+.\d]+), ([-+.\d]+)\]", cell).groups())
    assert value == pytest.approx(88.9, abs=0.05)
    assert high <= 88.9 + 1e-9 and low >= 66.6 and "*" not in cell


def test_without_per_record_scores_the_unpaired_interval_is_clipped_and_marked():
    cell = _delta_cell(compare_tables([BASE, TUNED], None, resamples=200))
    assert cell == "+88.9 pts [+72.2, +88.9]*"


def test_the_same_records_are_resampled_for_both_runs():
    """Two runs with identical per-record scores: a paired delta is exactly 0; independent resampling is not."""
    rows = _rows([True, False, True, False, True, True])
    delta = paired_delta("mcq", "accuracy", rows, dict(rows), resamples=200, seed=1)
    assert delta.value == 0.0 and delta.interval == [0.0, 0.0] and delta.units == 6


def test_dacr_resamples_challenges_and_only_shared_records_are_paired():
    base = {f"c{c}/q{q}": {"correct": c == 0} for c in range(3) for q in range(2)}
    other = {**{f"c{c}/q{q}": {"correct": True} for c in range(3) for q in range(2)}, "c9/q0": {"correct": False}}
    delta = paired_delta("dacr", "accuracy", base, other, resamples=100)
    assert delta.units == 3 and delta.base == pytest.approx(1 / 3) and delta.value == pytest.approx(2 / 3)
    assert paired_delta("dacr", "pass_rate", base, other) is None  # not a per-record mean: unpaired fallback


def test_samples_are_read_beside_results(tmp_path):
    (tmp_path / "results.json").write_text("{}")
    (tmp_path / "samples.jsonl").write_text(json.dumps({"task": "mcq", "id": "q0", "correct": True}) + "\n")
    assert read_samples(tmp_path) == {"mcq": {"q0": {"task": "mcq", "id": "q0", "correct": True}}}
    assert read_samples(tmp_path / "results.json")["mcq"]["q0"]["correct"] is True
    assert read_samples(tmp_path / "elsewhere") is None
