"""The paper-style comparison table: baseline, fine-tuned, delta, per skill, with intervals.

    python evaluate.py compare dacr_results/<baseline-run> dacr_results/<fine-tuned-run>

The first run is the baseline; every other run gets a column and a delta against it. Each cell
shows the value and its bootstrap 95% interval. A delta is a paired bootstrap of the difference
over the records both runs scored, from their samples.jsonl (`paired.py`: the same resampled
records for both runs), clipped to the metric's range. A metric that is not a mean of per-record
scores (DACR's pass rate, CARS, ECE), or a run without samples.jsonl, falls back to adding the two
intervals' half-widths in quadrature (independent samples: conservative), also clipped; such
deltas are marked with `*`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from crosstrace.evaluation.paired import PairedDelta, clip_delta, paired_delta, read_samples
from crosstrace.evaluation.report import fmt_with_interval, is_percent, table
from crosstrace.evaluation.tasks import task_class
from crosstrace.results_schema import read_results

Samples = dict[str, dict[str, dict[str, Any]]] | None  # {task: {id: samples.jsonl row}} of one run


def _signed(metric: str, value: float) -> str:
    value = round(value, 6) + 0.0  # no "-0.000" for equal values
    return f"{100 * value:+.1f}" if is_percent(metric) else f"{value:+.3f}"


def delta_cell(
    metric: str,
    base: float | None,
    other: float | None,
    base_ci: list[float] | None,
    other_ci: list[float] | None,
    paired: PairedDelta | None = None,
) -> str:
    """The delta and its interval: paired when per-record scores allow it, else unpaired and marked `*`."""
    unit = " pts" if is_percent(metric) else ""
    if paired is not None:
        text = _signed(metric, paired.value) + unit
        return text + (
            f" [{_signed(metric, paired.interval[0])}, {_signed(metric, paired.interval[1])}]"
            if paired.interval
            else ""
        )
    if base is None or other is None:
        return "–"
    delta = other - base
    text = _signed(metric, delta) + unit
    if base_ci and other_ci:
        half = math.hypot((base_ci[1] - base_ci[0]) / 2, (other_ci[1] - other_ci[0]) / 2)
        low, high = clip_delta(metric, base, delta - half, delta + half)
        text += f" [{_signed(metric, low)}, {_signed(metric, high)}]*"
    return text


def _row(
    metric: str, label: str, cells: list[tuple[float | None, list[float] | None]], paired: list[PairedDelta | None]
) -> list[str]:
    (base, base_ci), others = cells[0], cells[1:]
    row = [label, fmt_with_interval(metric, base, base_ci)]
    for (value, ci), delta in zip(others, paired, strict=True):
        row += [fmt_with_interval(metric, value, ci), delta_cell(metric, base, value, base_ci, ci, delta)]
    return row


def _paired(
    task: str, metric: str, samples: list[Samples], group: tuple[str, str] | None, resamples: int, seed: int
) -> list[PairedDelta | None]:
    """Each other run's paired delta against the baseline (None where samples.jsonl cannot give one)."""
    if samples[0] is None or task not in samples[0]:
        return [None] * (len(samples) - 1)
    return [
        paired_delta(task, metric, samples[0][task], other[task], group, resamples, seed)
        if other is not None and task in other
        else None
        for other in samples[1:]
    ]


def compare_tables(
    runs: list[dict[str, Any]], samples: list[Samples] | None = None, resamples: int = 1000, seed: int = 0
) -> str:
    """Markdown: per task, headline metrics then per-skill rows, one column per run plus deltas."""
    samples = samples or [None] * len(runs)
    labels = [f"{r.get('label')} (`{r['run_id']}`)" for r in runs]
    header = ["", labels[0]]
    for label in labels[1:]:
        header += [label, "Δ vs baseline"]
    sections = []
    task_names = [t for t in runs[0]["tasks"] if all(t in r["tasks"] for r in runs[1:])]
    for task in task_names:
        bodies = [r["tasks"][task] for r in runs]
        rows = []
        for metric in bodies[0]["metrics"]:
            cells = [(b["metrics"].get(metric), b.get("ci95", {}).get(metric)) for b in bodies]
            rows.append(_row(metric, metric, cells, _paired(task, metric, samples, None, resamples, seed)))
        dimension = task_class(task).skill_dimension
        groups = [(b.get("breakdowns") or {}).get(dimension) or {} for b in bodies]
        for value, group in groups[0].items():
            metric = (
                "accuracy" if "accuracy" in group.get("metrics", {}) else next(iter(group.get("metrics", {})), None)
            )
            if metric is None:
                continue
            cells = [
                (g.get(value, {}).get("metrics", {}).get(metric), g.get(value, {}).get("ci95", {}).get(metric))
                for g in groups
            ]
            paired = _paired(task, metric, samples, (dimension, str(value)), resamples, seed)
            rows.append(_row(metric, f"{dimension} {value} ({metric})", cells, paired))
        n = bodies[0].get("n", {})
        sizes = f" (n: {', '.join(f'{k} {v}' for k, v in list(n.items())[:3])})" if n else ""
        sections.append(f"## {task}{sizes}\n\n{table(header, rows)}")
    missing = sorted({t for r in runs for t in r["tasks"]} - set(task_names))
    note = f"\n\nTasks not in every run (left out): {', '.join(missing)}." if missing else ""
    footer = (
        f"\n\nIntervals: bootstrap 95%. Δ: paired bootstrap ({resamples} resamples, seed {seed}) of the difference over "
        "the records both runs scored (samples.jsonl; DACR resamples challenges), clipped to the metric's range. "
        "Δ marked * had no per-record scores: the runs' half-widths added in quadrature (conservative), clipped."
    )
    return "\n\n".join(sections) + note + footer + "\n"


def run_compare(run_dirs: list[str], output: str | None = None, bootstrap: int = 1000, seed: int = 0) -> str:
    if len(run_dirs) < 2:
        raise ValueError(
            "compare needs at least two run folders: the baseline first, then the run(s) to compare with it"
        )
    runs = [read_results(path) for path in run_dirs]
    # A lone surrogate in a label (not encodable) is shown as \ud800: the table is printed and written.
    text = compare_tables(runs, [read_samples(path) for path in run_dirs], bootstrap, seed)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if output:
        Path(output).write_text(text, encoding="utf-8")
    return text
