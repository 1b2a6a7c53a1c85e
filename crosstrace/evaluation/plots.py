"""PNG plots of a run (matplotlib, Agg backend: no display needed).

- `<task>_<dimension>.png`: per-skill bars (DACR accuracy per question category, MCQ accuracy per
  discipline, CrossTrace metrics per subset) with 95% interval whiskers;
- `<task>_metrics.png`: the task's headline metrics with their intervals;
- plots a task adds (`Task.extra_plots`): `dacr_reliability.png`, the reliability diagram of stated
  confidence against accuracy over the ECE's ten bins (as the DACR scorer reports them), with the
  number of answers per bin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosstrace.evaluation.tasks import task_class


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: works on machines without a display
    import matplotlib.pyplot as plt

    return plt


def bar_chart(
    path: Path, title: str, labels: list[str], values: list[float], intervals: list[list[float] | None], ylabel: str
) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(labels) + 1.5), 3.8))
    # A percentile interval need not contain the point estimate (e.g. a ratio over resamples):
    # the whisker then stops at the bar rather than pointing backwards.
    lower = [max(v - i[0], 0.0) if i else 0.0 for v, i in zip(values, intervals, strict=True)]
    upper = [max(i[1] - v, 0.0) if i else 0.0 for v, i in zip(values, intervals, strict=True)]
    ax.bar(range(len(values)), values, yerr=[lower, upper], capsize=3, color="#4C72B0")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_ylim(
        min(0.0, *values) if values else 0.0,
        max(1.0, *(v + u for v, u in zip(values, upper, strict=True))) if values else 1.0,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _main_metric(groups: dict[str, Any]) -> str | None:
    for group in groups.values():
        metrics = group.get("metrics", {})
        if "accuracy" in metrics:
            return "accuracy"
        if metrics:
            return next(iter(metrics))
    return None


def reliability_points(body: dict[str, Any]) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) of each non-empty confidence bin the DACR scorer reported."""
    bins = ((body.get("extra") or {}).get("reliability") or {}).get("bins") or []
    return [
        (b["mean_confidence"], b["accuracy"], b["count"])
        for b in bins
        if b.get("count") and b.get("mean_confidence") is not None and b.get("accuracy") is not None
    ]


def reliability_diagram(path: Path, points: list[tuple[float, float, int]], title: str) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    if points:
        confidence, accuracy, _ = zip(*points, strict=True)
        ax.plot(confidence, accuracy, marker="o", color="#C44E52", label="answers")
        for x, y, n in points:
            ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("stated confidence (bin mean)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_plots(run_dir: Path, results: dict[str, Any]) -> list[Path]:
    """Every plot of the run, from results.json alone."""
    written = []
    label = results.get("label") or results["run_id"]
    for task, body in results["tasks"].items():
        metrics = body.get("metrics", {})
        if metrics:
            names = list(metrics)
            written.append(
                bar_chart(
                    run_dir / f"{task}_metrics.png",
                    f"{task}: {label}",
                    names,
                    [metrics[n] for n in names],
                    [body.get("ci95", {}).get(n) for n in names],
                    "score",
                )
            )
        dimension = task_class(task).skill_dimension
        groups = (body.get("breakdowns") or {}).get(dimension) if dimension else None
        metric = _main_metric(groups) if groups else None
        if groups and metric:
            kept = [(value, g) for value, g in groups.items() if metric in g.get("metrics", {})]
            written.append(
                bar_chart(
                    run_dir / f"{task}_{dimension}.png",
                    f"{task} {metric} by {dimension}: {label}",
                    [str(value) for value, _ in kept],
                    [g["metrics"][metric] for _, g in kept],
                    [g.get("ci95", {}).get(metric) for _, g in kept],
                    metric,
                )
            )
        written += task_class(task).extra_plots(run_dir, body, label)
    return written
