"""Which evaluation runs are the release's results: per task, the base model with and without the adapter.

The runs themselves are read by `crosstrace.results_schema`; this module only chooses among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from crosstrace.results_schema import Run

# The release's base model; runs on it (with and without the adapter) are the release's results.
RELEASE_BASE_MODEL = "Qwen/Qwen2.5-7B-Instruct"


@dataclass(frozen=True)
class Comparison:
    """The runs one task of the release is reported with: the base model alone and with the adapter."""

    task: str
    baseline: Run | None
    adapter: Run | None


def release_comparisons(runs: Iterable[Run], base_model: str = RELEASE_BASE_MODEL) -> list[Comparison]:
    """Per task, the latest run of `base_model` without an adapter and the latest with one.

    Runs of other models (the offline demo's small model, say) are not the release's results
    and are left to the all-runs table.
    """
    latest: dict[tuple[str, bool], Run] = {}
    for run in runs:  # oldest first, so later runs replace earlier ones
        if not run.is_on_base(base_model):
            continue
        for task in run.tasks:
            latest[(task, run.adapter is not None)] = run
    tasks = sorted({task for task, _ in latest}, key=_task_order)
    return [Comparison(task, latest.get((task, False)), latest.get((task, True))) for task in tasks]


TASK_ORDER = ("dacr", "crosstrace", "mcq")


def _task_order(task: str) -> tuple[int, str]:
    return (TASK_ORDER.index(task) if task in TASK_ORDER else len(TASK_ORDER), task)


def tasks_of(runs: Iterable[Run]) -> list[str]:
    return sorted({task for run in runs for task in run.tasks}, key=_task_order)
