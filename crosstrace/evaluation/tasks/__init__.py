"""The evaluation tasks, one module each, behind one interface (`base.Task`).

base.py         the interface: construction, prompts, parse, score, results pieces, predictions files
built_split.py  rows of one config/split of a built dataset (folder or Hub id)
crosstrace.py   hypothesis generation (release files or a built CrossTrace dataset), optional judge
dacr.py         DACR-Bench document reasoning: one prompt per challenge, answers parsed and scored
mcq.py          WildSci-format multiple choice: final letter (generate) or option log-probs (loglik)

Each task turns the model's raw outputs into a `TaskScore` through `crosstrace.scoring` and
gives the per-sample rows for `samples.jsonl`. No row carries third-party reference text
(documents, gold answers, reference hypotheses): only ids, the model's output, what was parsed
from it, and its score. Everything outside this package reaches a task through `task_class`.

May import the core modules, `scoring/`, `sources/`, `mcq.format` and, within evaluation,
`arguments`, `prompts`, `predictions_format`, `plots` and `backends`; never the pipeline.
"""

from crosstrace.evaluation.tasks.base import Task, sample_row
from crosstrace.evaluation.tasks.crosstrace import CrossTraceTask
from crosstrace.evaluation.tasks.dacr import DacrTask
from crosstrace.evaluation.tasks.mcq import McqTask

TASKS: dict[str, type[Task]] = {task.name: task for task in (CrossTraceTask, DacrTask, McqTask)}


def task_class(name: str) -> type[Task]:
    """The task named `name` (as in --tasks and results.json). A name this version does not know, from
    another version's results, gets the interface's defaults: no per-skill breakdown, no extra plots."""
    return TASKS.get(name, Task)


__all__ = [
    "TASKS",
    "CrossTraceTask",
    "DacrTask",
    "McqTask",
    "Task",
    "sample_row",
    "task_class",
]
