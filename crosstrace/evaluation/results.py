"""results.json and samples.jsonl: what a run measured, and exactly how.

`results.json` (schema 2, see `results_schema.py` for what changed; read by `evaluate.py compare`, upload.py and the model card):

    {"schema_version": 2, "run_id", "timestamp", "label",
     "model": {"name_or_path", "adapter", "backend", ...backend details},
     "decoding": {...}, "prompt_hash",
     "versions": {"benchmarks": {...}, "datasets": {...}, "libraries": {...}, "git_commit"},
     "tasks": {"dacr" | "crosstrace" | "mcq": {
         "scoring", "data", "metrics", "n", "ci95", "breakdowns", "skipped", "problems", "generation"}}}

Metrics that are fractions are in [0, 1]. Local absolute paths are rewritten (the same rule
publishing checks) so a results folder can be shared as it is. `samples.jsonl` has one row per
scored item (a DACR question, a CrossTrace record, an MCQ): task, id, the model's raw output,
what was parsed from it and its score; never the document, the question or the reference.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import platform
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crosstrace.evaluation.missing_metrics import note_missing
from crosstrace.jsonio import dumps
from crosstrace.provenance import git_commit, library_versions
from crosstrace.results_schema import RESULTS_NAME, SAMPLES_NAME, SCHEMA_VERSION
from crosstrace.sanitize import strip_local_paths
from crosstrace.scoring.types import json_safe

logger = logging.getLogger(__name__)


# The libraries that decide what an evaluation run computes; those not installed are left out.
_LIBRARIES = (
    "torch",
    "transformers",
    "peft",
    "tokenizers",
    "accelerate",
    "datasets",
    "bitsandbytes",
    "vllm",
    "sentence-transformers",
    "rouge-score",
    "nltk",
    "numpy",
)


def installed_versions() -> dict[str, str]:
    installed = {name: found for name, found in library_versions(_LIBRARIES).items() if found is not None}
    return {"python": platform.python_version(), **installed}


def utc_timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def slug(name_or_path: str) -> str:
    """`Qwen/Qwen2.5-7B-Instruct` -> `Qwen2.5-7B-Instruct`; safe as a folder name."""
    last = name_or_path.rstrip("/").replace("\\", "/").rsplit("/", 1)[-1].split(":")[-1]
    return re.sub(r"[^A-Za-z0-9._-]+", "-", last).strip("-") or "model"


def settings_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:8]


def combined_hash(hashes: dict[str, str]) -> str:
    """One prompt hash for the run: over each task's hash of exactly what the model was shown."""
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode("utf-8")).hexdigest()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def task_result(
    task,
    score,
    context: dict[str, Any] | None,
    generations: dict[str, dict[str, Any]] | None,
    extra_skipped: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One entry of results.json `tasks`: a task's scoring, data and metrics with n and intervals."""
    skipped: dict[str, Any] = {
        "input_records": {"count": len(task.input_problems.skipped), "items": task.input_problems.report()},
    }
    if context is not None:
        skipped["long_documents"] = context
    skipped.update(extra_skipped or {})
    # A metric with nothing to measure (CARS without trap questions, say) is None: it is listed
    # as undefined rather than written among the numbers, so readers never average a null.
    metrics = {name: value for name, value in score.metrics.items() if _is_number(value)}
    result = {
        "scoring": {**task.scoring_info(), **score.scoring},
        "data": task.data_info(),
        "metrics": metrics,
        "undefined_metrics": sorted(set(score.metrics) - set(metrics)),
        "n": dict(score.n),
        "ci95": {
            name: list(pair)
            for name, pair in score.ci95.items()
            if name in metrics and pair and all(_is_number(v) for v in pair)
        },
        "breakdowns": score.breakdowns,
        "skipped": skipped,
        "extra": score.extra,
        "problems": {"count": len(score.problems), "items": list(score.problems)},
    }
    for metric, why in task.missing_metrics(score).items():
        note_missing(result, metric, why)
    if generations is not None:
        result["generation"] = {
            "outputs": len(generations),
            "hit_max_new_tokens": sum(g.get("finish_reason") == "length" for g in generations.values()),
            "output_tokens_total": sum(g.get("output_tokens") or 0 for g in generations.values()),
            **server_prompt_tokens(generations),
        }
    return result


def server_prompt_tokens(generations: dict[str, dict[str, Any]]) -> dict[str, int]:
    """The server's exact prompt counts (`usage.prompt_tokens`, openai), and how many prompts it counted
    longer than the count made before sending: those the context check may have let through wrongly.
    Empty when no server reported a count."""
    pairs = [
        (g.get("prompt_tokens"), g["server_prompt_tokens"])
        for g in generations.values()
        if isinstance(g.get("server_prompt_tokens"), int)
    ]
    if not pairs:
        return {}
    return {
        "server_prompt_tokens_total": sum(exact for _, exact in pairs),
        "server_prompt_tokens_max": max(exact for _, exact in pairs),
        "prompts_counted_below_server": sum(counted is not None and exact > counted for counted, exact in pairs),
    }


def build_results(
    run_id: str,
    label: str,
    model: dict[str, Any],
    decoding: dict[str, Any] | None,
    prompt_hashes: dict[str, str],
    tasks: dict[str, dict[str, Any]],
    datasets: dict[str, Any],
    benchmarks: dict[str, Any],
) -> dict[str, Any]:
    results = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "timestamp": utc_timestamp(),
        "label": label,
        "model": model,
        "decoding": decoding,
        "prompt_hash": combined_hash(prompt_hashes) if prompt_hashes else None,
        "prompt_hashes": prompt_hashes,
        "versions": {
            "benchmarks": benchmarks,
            "datasets": datasets,
            "libraries": installed_versions(),
            "git_commit": git_commit(),
        },
        "tasks": tasks,
    }
    cleaned, rewritten = strip_local_paths(json_safe(results))
    if rewritten:
        logger.info(
            "results.json: %d local absolute path(s) rewritten as repository-relative or <local>/<name>", rewritten
        )
    return cleaned


def write_results(run_dir: Path, results: dict[str, Any], samples: list[dict[str, Any]]) -> tuple[Path, Path]:
    """Write results.json and samples.jsonl (each replaced atomically: a reader never sees half a file)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    results_path, samples_path = run_dir / RESULTS_NAME, run_dir / SAMPLES_NAME
    _write_atomic(results_path, dumps(results, indent=2, allow_nan=False) + "\n")
    _write_atomic(
        samples_path,
        "".join(dumps(json_safe(row), allow_nan=False) + "\n" for row in samples),
    )
    return results_path, samples_path


def _write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
