"""lm-evaluation-harness glue for our tasks: our prompts in, our scorers out.

Every YAML task in this folder reads its documents through `load_*` (lm-eval's `custom_dataset`),
which builds the very task `evaluate.py` runs (`crosstrace.evaluation.tasks`) and turns each of its
prompts into one document: the id, the system message (lm-eval's `description`, sent as the system
turn under `--apply_chat_template`) and the user message. Scoring goes through the same task's
`score()`, the code `evaluate.py score` runs on a file of {id, output}: `process_results` keeps each
document's (id, output) and each metric's aggregation scores the whole set once, so corpus-level
metrics (DACR's calibration error, per-question rates) are ours, not a mean of per-document values.

Where the data is: `--metadata '{"mcq_data": ...}'` (keys named as evaluate.py's flags), or the
environment variables in `_SOURCES`; see the README section "Our tasks in lm-evaluation-harness".
"""

from __future__ import annotations

import json
import math
import os
from functools import cache
from typing import Any

from datasets import Dataset, DatasetDict

from crosstrace.evaluation.arguments import split_list
from crosstrace.evaluation.tasks.base import Task
from crosstrace.evaluation.tasks.crosstrace import CrossTraceTask
from crosstrace.evaluation.tasks.dacr import DacrTask
from crosstrace.evaluation.tasks.mcq import McqTask
from crosstrace.jsonio import loads

# lm-eval reports the metrics; intervals are lm-eval's business (and `evaluate.py score` gives ours).
_NO_BOOTSTRAP = 0
# Each data setting: the --metadata key (as evaluate.py names the flag), its variable, its default.
_SOURCES = {
    "mcq_data": ("CROSSTRACE_MCQ_DATA", None),
    "mcq_config": ("CROSSTRACE_MCQ_CONFIG", None),
    "dacr_benchmarks": ("CROSSTRACE_DACR_BENCHMARKS", None),
    "crosstrace_data": ("CROSSTRACE_CROSSTRACE_DATA", None),
    "crosstrace_configs": ("CROSSTRACE_CROSSTRACE_CONFIGS", "all,hypogen"),
    "split": ("CROSSTRACE_SPLIT", "test"),
}


def _setting(metadata: dict[str, Any], key: str, required: bool = True) -> str | None:
    variable, default = _SOURCES[key]
    value = metadata.get(key) or os.environ.get(variable) or default
    if value is None and required:
        raise ValueError(f'no {key} given: pass lm_eval --metadata \'{{"{key}": "<path>"}}\' or set ${variable}')
    return value


@cache
def _task(kind: str, settings: str) -> Task:
    """The evaluate.py task for `kind` read from `settings` (JSON, so the task is built once per run)."""
    given = loads(settings)
    if kind in ("mcq", "mcq-loglik"):
        scoring = "loglik" if kind == "mcq-loglik" else "generate"
        return McqTask(
            given["mcq_data"], given["mcq_config"], given["split"], bootstrap=_NO_BOOTSTRAP, scoring=scoring
        )
    if kind == "dacr":
        return DacrTask(split_list(given["dacr_benchmarks"]), mode="strict", bootstrap=_NO_BOOTSTRAP)
    if kind == "crosstrace":
        return CrossTraceTask(
            given["crosstrace_data"], split_list(given["crosstrace_configs"]), given["split"], bootstrap=_NO_BOOTSTRAP
        )
    raise ValueError(f"unknown task kind {kind!r}")


def _documents(kind: str, settings: dict[str, Any]) -> DatasetDict:
    """One document per prompt of the task, in its order; `task` lets aggregation rebuild the task."""
    key = json.dumps(settings, sort_keys=True)
    rows = []
    for prompt in _task(kind, key).prompts():
        system = [m["content"] for m in prompt.messages[:-1] if m["role"] == "system"]
        if len(prompt.messages) - len(system) != 1 or prompt.messages[-1]["role"] != "user":
            raise ValueError(
                f"{kind} prompt {prompt.id}: lm-eval sends one optional system message then one user message"
            )
        rows.append(
            {
                "id": prompt.id,
                "system": system[0] if system else "",
                "user": prompt.messages[-1]["content"],
                "continuations": list((prompt.continuations or {}).values()),
                "letters": list((prompt.continuations or {}).keys()),
                "task": json.dumps([kind, key]),
            }
        )
    return DatasetDict({"test": Dataset.from_list(rows)})


def _mcq_settings(metadata: dict[str, Any]) -> dict[str, Any]:
    return {key: _setting(metadata, key, required=key == "mcq_data") for key in ("mcq_data", "mcq_config", "split")}


def load_mcq(**metadata) -> DatasetDict:
    return _documents("mcq", _mcq_settings(metadata))


def load_mcq_loglik(**metadata) -> DatasetDict:
    return _documents("mcq-loglik", _mcq_settings(metadata))


def load_dacr(**metadata) -> DatasetDict:
    return _documents("dacr", {"dacr_benchmarks": _setting(metadata, "dacr_benchmarks")})


def load_crosstrace(**metadata) -> DatasetDict:
    keys = ("crosstrace_data", "crosstrace_configs", "split")
    return _documents("crosstrace", {k: _setting(metadata, k) for k in keys})


# ----------------------------------------------------------------------------- per document


def mcq_target(doc: dict[str, Any]) -> int:
    """The gold option's index among the continuations (what lm-eval logs as the sample's target)."""
    task = _task(*loads(doc["task"]))
    return doc["letters"].index(task.records[task.ids.index(doc["id"])]["answer"])


def generated(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Keep the raw generated text under every metric the task's YAML lists; aggregation scores them."""
    item = (doc["task"], doc["id"], results[0])
    return {name: item for name in _metric_names(doc)}


def option_logprobs(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, Any]:
    """The loglik output as `evaluate.py` stores it: {letter: summed log-prob of "Answer: <letter>"}."""
    table = {letter: float(logprob) for letter, (logprob, _) in zip(doc["letters"], results, strict=True)}
    item = (doc["task"], doc["id"], json.dumps(table))
    return {name: item for name in _metric_names(doc)}


def _metric_names(doc: dict[str, Any]) -> tuple[str, ...]:
    return METRICS[loads(doc["task"])[0]]


# The metrics each kind reports to lm-eval (the names our scorers give them).
METRICS = {
    "mcq": ("accuracy", "answer_rate"),
    "mcq-loglik": ("accuracy", "answer_rate"),
    "dacr": ("accuracy", "citation", "coverage", "pass_rate", "trap_evasion", "ece", "brier", "cars"),
    "crosstrace": ("structural_compliance", "spark_cosine", "hypothesis_cosine", "rouge_l"),
}


# ----------------------------------------------------------------------------- aggregation


@cache  # every metric of one task aggregates the same items: scored once
def _scored(items: tuple[tuple[str, str, str], ...]) -> dict[str, float]:
    """Our task's metrics for these (task, id, output) items, as `evaluate.py score` computes them."""
    kinds = {task for task, _, _ in items}
    if len(kinds) != 1:
        raise ValueError(f"one lm-eval task's items come from {len(kinds)} task settings")
    task = _task(*loads(kinds.pop()))
    score = task.score({record_id: output for _, record_id, output in items})
    return {name: math.nan if value is None else float(value) for name, value in score.metrics.items()}


def _aggregate(metric: str):
    def aggregate(items: list[tuple[str, str, str]]) -> float:
        scores = _scored(tuple(tuple(item) for item in items))
        if metric not in scores:
            raise ValueError(f"our scorer reports no {metric!r} here (it reports {sorted(scores)})")
        return scores[metric]

    aggregate.__name__ = f"crosstrace_{metric}"
    return aggregate


# One aggregation per metric name, found by the YAML files as `!function crosstrace_lm_eval.<metric>`.
for _metric in sorted({name for names in METRICS.values() for name in names}):
    globals()[_metric] = _aggregate(_metric)
