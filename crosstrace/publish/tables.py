"""Markdown tables of evaluation results: the one code path behind every published number.

The model card, the results dataset's card and the README's results section all call these
functions on the runs in `dacr_results/`, so the three can never disagree (tests re-render and
compare). Values are printed as stored (fractions, three decimals); 95% bootstrap intervals in
brackets where the run recorded one.
"""

from __future__ import annotations

from collections.abc import Sequence

from crosstrace.publish.reference_figures import REFERENCE_SETS
from crosstrace.publish.runs import Comparison, tasks_of
from crosstrace.results_schema import Run, TaskResult
from crosstrace.sanitize import strip_local_paths_in_text

# Metrics every DACR result carries (the results contract), in the order the tables show them.
HEADLINE_METRICS = {"dacr": ("accuracy", "pass_rate", "cars", "trap_evasion", "ece")}
# The breakdown metric shown per dimension when a breakdown holds several.
PREFERRED_BREAKDOWN_METRIC = "accuracy"
NO_VALUE = "–"

TASK_TITLES = {
    "dacr": "DACR: document reasoning with planted conflicts",
    "crosstrace": "CrossTrace: hypothesis generation",
    "mcq": "Ten-option science questions",
}


def task_title(task: str) -> str:
    return TASK_TITLES.get(task, task)


def fmt(value: float | None, ci95: Sequence[float] | None = None) -> str:
    if value is None:
        return NO_VALUE
    text = f"{value:.3f}"
    return f"{text} [{ci95[0]:.3f}, {ci95[1]:.3f}]" if ci95 else text


def scoring_label(scoring: object) -> str:
    """How a task was scored, in a few words: DACR's mode, else the scalar settings recorded."""
    if isinstance(scoring, dict):
        if scoring.get("mode"):
            return str(scoring["mode"])
        parts = [
            f"{key} {value}"
            for key, value in scoring.items()
            if isinstance(value, str | int | float) and not isinstance(value, bool)
        ]
        return ", ".join(parts) or NO_VALUE
    return str(scoring) if scoring else NO_VALUE


def _cell(text: str) -> str:
    # A pipe would end the cell; a local path must not reach a published table.
    return strip_local_paths_in_text(text)[0].replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def metric_order(task: str, results: Sequence[TaskResult]) -> list[str]:
    """The task's headline metrics first, then every other metric in order of first appearance
    (metrics a run could not compute included: they show as a dash)."""
    names = [m for m in HEADLINE_METRICS.get(task, ()) if any(m in r.metrics or m in r.undefined for r in results)]
    for result in results:
        names += [m for m in (*result.metrics, *result.undefined) if m not in names]
    return names


def model_cell(run: Run) -> str:
    return f"`{run.model}` + `{run.adapter}`" if run.adapter else f"`{run.model}`"


def runs_table(runs: Sequence[Run], task: str) -> str:
    """One row per run that scored `task`: who it was, then each metric."""
    with_task = [run for run in runs if task in run.tasks]
    metrics = metric_order(task, [run.tasks[task] for run in with_task])
    first = metrics[0] if metrics else None
    header = ["run", "label", "model", "scoring", *[f"`{m}`" for m in metrics], f"n (`{first}`)" if first else "n"]
    rows = []
    for run in with_task:
        result = run.tasks[task]
        rows.append(
            [
                f"`{run.run_id}`",
                run.label,
                model_cell(run),
                scoring_label(result.scoring),
                *[fmt(result.metrics.get(m)) for m in metrics],
                str(result.n.get(first, NO_VALUE)) if first else NO_VALUE,
            ]
        )
    return markdown_table(header, rows)


def all_runs_section(runs: Sequence[Run], heading_level: int = 3) -> str:
    """Every run in the results folder, one table per task (the README's and the results card's section)."""
    if not runs:
        return (
            "No evaluation results are recorded yet: `dacr_results/` holds no `results.json`. "
            "`python evaluate.py ...` writes one per run; re-render this section afterwards."
        )
    hashes = "#" * heading_level
    parts = [f"{hashes} {task_title(task)} (`{task}`)\n\n{runs_table(runs, task)}" for task in tasks_of(runs)]
    return "\n\n".join(parts)


def comparison_table(comparison: Comparison) -> str:
    """Metrics as rows, the base model beside the adapter, with intervals and the difference."""
    runs = [run for run in (comparison.baseline, comparison.adapter) if run is not None]
    results = [run.tasks[comparison.task] for run in runs]
    header = ["metric", *[f"{run.label} (`{run.run_id}`)" for run in runs]]
    both = comparison.baseline is not None and comparison.adapter is not None
    if both:
        header.append("difference")
    header.append("n")
    rows = []
    for metric in metric_order(comparison.task, results):
        values = [result.metrics.get(metric) for result in results]
        row = [f"`{metric}`", *[fmt(r.metrics.get(metric), r.ci95.get(metric)) for r in results]]
        if both:
            row.append(NO_VALUE if None in values else f"{values[1] - values[0]:+.3f}")
        counts = sorted({str(r.n[metric]) for r in results if metric in r.n})
        row.append(" / ".join(counts) if counts else NO_VALUE)
        rows.append(row)
    return markdown_table(header, rows)


def _breakdown_metric(cells: Sequence[dict]) -> str | None:
    names = [name for cell in cells for name in (cell.get("metrics") or {})]
    if PREFERRED_BREAKDOWN_METRIC in names:
        return PREFERRED_BREAKDOWN_METRIC
    return names[0] if names else None


def breakdown_tables(comparison: Comparison, heading_level: int = 4) -> str:
    """One table per breakdown dimension (category, hops, split, ...), one metric, base beside adapter."""
    runs = [run for run in (comparison.baseline, comparison.adapter) if run is not None]
    dimensions: list[str] = []
    for run in runs:
        dimensions += [d for d in run.tasks[comparison.task].breakdowns if d not in dimensions]
    parts = []
    for dimension in dimensions:
        per_run = [run.tasks[comparison.task].breakdowns.get(dimension) or {} for run in runs]
        values: list[str] = []
        for cells in per_run:
            values += [v for v in cells if v not in values]
        metric = _breakdown_metric([cell for cells in per_run for cell in cells.values()])
        if metric is None:
            continue
        header = [dimension, *[f"{run.label}: `{metric}`" for run in runs], "n"]
        rows = []
        for value in values:
            cells = [per_run[i].get(value) or {} for i in range(len(runs))]
            scores = [fmt((c.get("metrics") or {}).get(metric), (c.get("ci95") or {}).get(metric)) for c in cells]
            counts = sorted({str((c.get("n") or {})[metric]) for c in cells if metric in (c.get("n") or {})})
            rows.append([str(value), *scores, " / ".join(counts) if counts else NO_VALUE])
        parts.append(f"{'#' * heading_level} By {dimension}\n\n{markdown_table(header, rows)}")
    return "\n\n".join(parts)


def reference_section(tasks: Sequence[str] | None = None, heading_level: int = 4) -> str:
    """Upstream's published figures, each set with its setting, labelled as a reference."""
    parts = []
    for ref in REFERENCE_SETS:
        if tasks is not None and ref.task not in tasks:
            continue
        rows = [[figure.metric, fmt(figure.base), fmt(figure.fine_tuned)] for figure in ref.figures]
        table = markdown_table(["metric (upstream's name)", "base model", "fine-tuned"], rows)
        parts.append(f"{'#' * heading_level} {ref.title}\n\n{ref.setting}.\n\n{table}")
    return "\n\n".join(parts)
