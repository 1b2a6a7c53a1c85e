"""The paper-style comparison table: baseline, fine-tuned, delta, per skill, with intervals.

    python evaluate.py compare dacr_results/<baseline-run> dacr_results/<fine-tuned-run>

The first run is the baseline; every other run gets a column and a delta against it. Each cell
shows the value and its bootstrap 95% interval. The delta's interval combines the two runs'
intervals as if they were independent (half-widths added in quadrature): when both runs answer
the same questions their errors are positively correlated, so this interval is wider than a
paired one — a conservative reading.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from crosstrace.evaluation.report import fmt_with_interval, is_percent, table
from crosstrace.evaluation.tasks import task_class
from crosstrace.results_schema import read_results


def delta_cell(
    metric: str, base: float | None, other: float | None, base_ci: list[float] | None, other_ci: list[float] | None
) -> str:
    if base is None or other is None:
        return "–"
    delta = round(other - base, 6) + 0.0  # no "-0.000" for equal values
    scale, unit = (100.0, " pts") if is_percent(metric) else (1.0, "")
    text = f"{scale * delta:+.1f}{unit}" if is_percent(metric) else f"{delta:+.3f}"
    if base_ci and other_ci:
        half = math.hypot((base_ci[1] - base_ci[0]) / 2, (other_ci[1] - other_ci[0]) / 2)
        text += (
            f" [{scale * (delta - half):+.1f}, {scale * (delta + half):+.1f}]"
            if is_percent(metric)
            else f" [{delta - half:+.3f}, {delta + half:+.3f}]"
        )
    return text


def _row(metric: str, label: str, cells: list[tuple[float | None, list[float] | None]]) -> list[str]:
    (base, base_ci), others = cells[0], cells[1:]
    row = [label, fmt_with_interval(metric, base, base_ci)]
    for value, ci in others:
        row += [fmt_with_interval(metric, value, ci), delta_cell(metric, base, value, base_ci, ci)]
    return row


def compare_tables(runs: list[dict[str, Any]]) -> str:
    """Markdown: per task, headline metrics then per-skill rows, one column per run plus deltas."""
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
            rows.append(
                _row(metric, metric, [(b["metrics"].get(metric), b.get("ci95", {}).get(metric)) for b in bodies])
            )
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
            rows.append(_row(metric, f"{dimension} {value} ({metric})", cells))
        n = bodies[0].get("n", {})
        sizes = f" (n: {', '.join(f'{k} {v}' for k, v in list(n.items())[:3])})" if n else ""
        sections.append(f"## {task}{sizes}\n\n{table(header, rows)}")
    missing = sorted({t for r in runs for t in r["tasks"]} - set(task_names))
    note = f"\n\nTasks not in every run (left out): {', '.join(missing)}." if missing else ""
    footer = "\n\nIntervals: bootstrap 95%. Δ intervals add the runs' half-widths in quadrature (independent samples): conservative for runs over the same questions."
    return "\n\n".join(sections) + note + footer + "\n"


def run_compare(run_dirs: list[str], output: str | None = None) -> str:
    if len(run_dirs) < 2:
        raise ValueError(
            "compare needs at least two run folders: the baseline first, then the run(s) to compare with it"
        )
    runs = [read_results(path) for path in run_dirs]
    # A lone surrogate in a label (not encodable) is shown as \ud800: the table is printed and written.
    text = compare_tables(runs).encode("utf-8", "backslashreplace").decode("utf-8")
    if output:
        Path(output).write_text(text, encoding="utf-8")
    return text
