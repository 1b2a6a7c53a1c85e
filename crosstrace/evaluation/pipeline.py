"""What `evaluate.py` does: generate and score (`run_evaluation`), or score saved outputs (`run_scoring`).

Both write the same run folder (default `dacr_results/<run-id>/`): results.json,
samples.jsonl, report.md and plots; a generation run also keeps `generations/<task>.jsonl`
(the resumable raw outputs) and `run_config.json` (the settings its generations were made with).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any

from crosstrace.errors import DataError
from crosstrace.evaluation.arguments import (
    BuiltDatasetArguments,
    DataArguments,
    EvalArguments,
    GenerationArguments,
    ScoreArguments,
    group_values,
)
from crosstrace.evaluation.backends import create_backend, decoding_settings
from crosstrace.evaluation.backends.base import backend_class
from crosstrace.evaluation.missing_metrics import note_missing, refuse_missing_metrics
from crosstrace.evaluation.predictions_format import resolve_predictions_format
from crosstrace.evaluation.prompts import Prompt, fit_to_context, prompts_hash
from crosstrace.evaluation.report import write_report
from crosstrace.evaluation.results import (
    build_results,
    settings_hash,
    slug,
    task_result,
    write_results,
)
from crosstrace.evaluation.runner import GENERATIONS_DIR, generate_all, generations_path
from crosstrace.evaluation.tasks import TASKS, Task
from crosstrace.jsonio import read_json_object
from crosstrace.results_schema import DEFAULT_RESULTS_DIR, RESULTS_NAME

logger = logging.getLogger(__name__)

RUN_CONFIG_NAME = "run_config.json"
# Where and how results are written: not settings of the generations (run_config.json leaves them out).
_PLACEMENT_FIELDS = ("output_dir", "run_id", "overwrite_output_dir", "plots", "label")
# What decides a prompt's output besides the prompt itself (whose hash each generation records):
# resuming with any of these changed would mix two models' outputs in one run.
_OUTPUT_FIELDS = (
    "model",
    "adapter",
    "backend",
    "tokenizer",
    "dtype",
    "device",
    "load_in_4bit",
    "trust_remote_code",
    "base_url",
    "max_new_tokens",
    "temperature",
    "top_p",
    "top_k",
    "repetition_penalty",
    "send_sampling_extras",
    "seed",
)
# On a backend whose outputs depend on batch composition (hf pads a batch to its longest prompt),
# these decide which prompts share a batch, so they decide outputs too.
_BATCH_COMPOSITION_FIELDS = ("batch_size", "max_samples")
_DEFAULTS = {f.name: f.default for f in fields(EvalArguments) if f.default is not MISSING}


# ----------------------------------------------------------------------------- the run folder


def generation_settings(args: EvalArguments) -> dict[str, Any]:
    """Every setting of the run but where its results go: recorded in run_config.json."""
    return {k: v for k, v in asdict(args).items() if k not in _PLACEMENT_FIELDS}


def _batch_sensitive(backend: str) -> bool:
    return not backend_class(backend).batch_invariant


def run_identity(args: EvalArguments) -> dict[str, Any]:
    """What the default run id hashes: what decides the generations, and nothing else.

    The generation group (model, backend, decoding, prompts, context) and the data selection (tasks,
    data, configs, split). batch_size and max_samples only on a batch-sensitive backend (hf): on vllm
    and openai batch_size changes no output, and a later run with more samples extends the earlier
    one in its folder (outputs are saved by prompt id, none twice, each the one an uninterrupted run
    gives), while on hf the first prompts' batches would differ from an uninterrupted run's. Engine
    settings (retries, timeouts, concurrency), scoring, bootstrap, judge and output settings never
    enter it: rerunning a finished run with another scoring or a judge generates nothing."""
    identity = {
        **group_values(args, GenerationArguments),
        **group_values(args, DataArguments),
        **group_values(args, BuiltDatasetArguments),
    }
    if not _batch_sensitive(args.backend):
        for name in _BATCH_COMPOSITION_FIELDS:
            identity.pop(name)
    return identity


def run_folder(args: EvalArguments) -> tuple[str, Path]:
    """(run id, folder). The default id is stable for the same generations, so rerunning resumes."""
    run_id = args.run_id
    if run_id is None:
        adapter = f"__{slug(args.adapter)}" if args.adapter else ""
        run_id = f"{slug(args.model)}{adapter}-{args.backend}-{settings_hash(run_identity(args))}"
    return run_id, Path(args.output_dir) if args.output_dir else Path(DEFAULT_RESULTS_DIR) / run_id


def check_run_folder(run_dir: Path, settings: dict[str, Any], overwrite: bool) -> None:
    """Refuse to resume generations made with a different model or decoding (before loading anything).

    Other changes are safe: new tasks or samples are generated, a different scoring mode only
    rescores, and a changed prompt is caught per generation by its prompt hash. A setting missing
    from an older run_config.json counts as its default (what that run applied)."""
    config_path = run_dir / RUN_CONFIG_NAME
    if overwrite or not config_path.is_file() or not (run_dir / GENERATIONS_DIR).exists():
        return
    previous = read_json_object(config_path)
    compared = _OUTPUT_FIELDS + (_BATCH_COMPOSITION_FIELDS if _batch_sensitive(settings["backend"]) else ())
    changed = [k for k in compared if previous.get(k, _DEFAULTS.get(k)) != settings.get(k)]
    if changed:
        raise DataError(
            config_path,
            None,
            ", ".join(changed),
            "this run folder holds generations made with other settings: pass another --output_dir, or --overwrite_output_dir to discard them",
        )
    logger.info("resuming in %s: finished prompts are skipped", run_dir)


def record_run_folder(run_dir: Path, settings: dict[str, Any], overwrite: bool) -> None:
    """Create the folder and record the settings (once the model has loaded, so a failed start leaves nothing)."""
    if overwrite and (run_dir / GENERATIONS_DIR).exists():
        logger.info("--overwrite_output_dir: discarding %s", run_dir / GENERATIONS_DIR)
        shutil.rmtree(run_dir / GENERATIONS_DIR)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / RUN_CONFIG_NAME).write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- generate and score


def _select(prompts: list[Prompt], max_samples: int | None) -> list[Prompt]:
    return prompts if max_samples is None else prompts[:max_samples]


def _room_after_prompt(prompts: list[Prompt], max_new_tokens: int) -> int:
    """Context kept free after each prompt: max_new_tokens for a reply; for scored continuations
    the longest one's UTF-8 length, a bound on its tokens (a byte-level BPE token covers at least a byte)."""
    continuations = [text for p in prompts for text in (p.continuations or {}).values()]
    return max(len(text.encode("utf-8")) for text in continuations) if continuations else max_new_tokens


def run_evaluation(args: EvalArguments) -> Path:
    """Generate with the model for every task, score, and write the run folder. Returns the folder."""
    from tqdm.auto import tqdm

    tasks = [TASKS[name].for_run(args) for name in args.task_list]  # all data checked before the model loads
    run_id, run_dir = run_folder(args)
    check_run_folder(run_dir, generation_settings(args), args.overwrite_output_dir)
    backend = create_backend(args)
    record_run_folder(run_dir, generation_settings(args), args.overwrite_output_dir)
    logger.info("run %s -> %s", run_id, run_dir)
    results_tasks, samples, hashes = {}, [], {}
    for task in tasks:
        selected = _select(task.prompts(), args.max_samples)
        with tqdm(total=len(selected), desc=f"{task.name}: fitting prompts to the context", unit="prompt") as bar:
            room = _room_after_prompt(selected, args.max_new_tokens)
            kept, context = fit_to_context(
                selected,
                backend.count_tokens,
                backend.context_length,
                room,
                args.long_documents,
                backend.token_count,
                bar.update,
            )
        if context.skipped or context.truncated:
            logger.warning(
                "%s: %d prompt(s) skipped and %d truncated for the context of %s tokens (--long_documents %s)",
                task.name,
                len(context.skipped),
                len(context.truncated),
                context.max_context_tokens,
                args.long_documents,
            )
        hashes[task.name] = prompts_hash(kept)
        generated = generate_all(
            task.name, kept, backend, generations_path(run_dir, task.outputs_name), args.batch_size, args.seed
        )
        outputs = {prompt_id: record["output"] for prompt_id, record in generated.records.items()}
        score = task.score(outputs)
        failed = {"failed_requests": {"count": len(generated.failed), "items": generated.failed}}
        body = results_tasks[task.name] = task_result(task, score, context.to_dict(), generated.records, failed)
        body["data"]["prompt_hash"] = hashes[task.name]
        _note_failed_prompts(body, generated.failed, len(kept))
        _warn_if_counted_short(task.name, body["generation"], backend.token_count)
        samples += task.sample_rows(score, outputs)

    model = {"name_or_path": args.model, "adapter": args.adapter, "backend": backend.name, **backend.describe()}
    results = build_results(
        run_id, args.label, model, decoding_settings(args), hashes, results_tasks, *_versions(tasks)
    )
    _finish(run_dir, results, samples, args.plots, tasks)
    refuse_missing_metrics(results, run_dir, args.allow_missing_metrics)
    return run_dir


def _note_failed_prompts(body: dict[str, Any], failed: list[dict[str, str]], prompts: int) -> None:
    """Prompts the server refused are part of the run that could not be measured: the run's one rule
    (missing_metrics.py) then warns and exits EXIT_NOT_MEASURED unless --allow_missing_metrics. Their
    failures are not saved, so a rerun of the same command sends only them again."""
    if failed:
        note_missing(
            body,
            "generations",
            f"{len(failed)} of {prompts} prompt(s) failed and are left out of every metric (first: {failed[0]['id']}: "
            f"{failed[0]['error']}); all are listed under skipped.failed_requests. Fix the cause (a prompt over the "
            "server's context: --max_context_tokens with --long_documents) and rerun: only they are sent again",
        )


def _warn_if_counted_short(task: str, generation: dict[str, Any], token_count: str) -> None:
    short = generation.get("prompts_counted_below_server")
    if short:
        logger.warning(
            "%s: the server counted %d prompt(s) longer than the count made before sending (%s): the context check "
            "may have let them through; results.json has the server's counts",
            task,
            short,
            token_count,
        )


def _versions(tasks: list[Task]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(datasets, benchmarks) for results.json `versions`."""
    sections: dict[str, dict[str, Any]] = {"datasets": {}, "benchmarks": {}}
    for task in tasks:
        section, entries = task.versions()
        sections[section].update(entries)
    return sections["datasets"], sections["benchmarks"]


def _finish(
    run_dir: Path, results: dict[str, Any], samples: list[dict[str, Any]], plots: bool, tasks: list[Task]
) -> None:
    results_path, _ = write_results(run_dir, results, samples)
    for task in tasks:
        for path in task.write_side_files(run_dir):
            logger.info("%s: wrote %s", task.name, path)
    pictures = []
    if plots:
        from crosstrace.evaluation.plots import write_plots

        pictures = write_plots(run_dir, results)
    write_report(run_dir, results, pictures)
    logger.info(
        "wrote %s, samples.jsonl, report.md%s", results_path, f" and {len(pictures)} plot(s)" if pictures else ""
    )
    for name, body in results["tasks"].items():
        headline = ", ".join(f"{metric} {value:.3f}" for metric, value in list(body["metrics"].items())[:6])
        logger.info("%s: %s", name, headline)


# ----------------------------------------------------------------------------- score saved outputs


def _score_task(args: ScoreArguments) -> tuple[Task, Any, dict[str, Any], list[dict[str, Any]], str]:
    """(task, score, what was not scored, samples, the predictions format read) for the predictions file."""
    predictions_path = Path(args.predictions)
    if not predictions_path.is_file():
        raise DataError(predictions_path, None, None, "file not found")
    task_type = TASKS[args.task]
    task = task_type.for_score(
        args, task_type.data_or_default(args.benchmark, "--benchmark", "the task's reference data")
    )
    predictions_format, how = resolve_predictions_format(
        predictions_path, args.predictions_format, task.name, task.predictions_formats
    )
    logger.info("%s: read as predictions format %s (%s)", predictions_path, predictions_format, how)
    score, skipped, samples = task.score_predictions_file(predictions_path, predictions_format)
    return task, score, skipped, samples, predictions_format


def run_scoring(args: ScoreArguments) -> Path:
    """Score a predictions file (no model loaded) and write a run folder like a generation run's."""
    from crosstrace.hub_folder import sha256_file

    task, score, extra, samples, predictions_format = _score_task(args)
    predictions_path = Path(args.predictions)
    run_id = args.run_id or f"score-{args.task}-{slug(predictions_path.stem)}-{task.scoring_variant}"
    run_dir = Path(args.output_dir) if args.output_dir else Path(DEFAULT_RESULTS_DIR) / run_id
    body = task_result(task, score, None, None, extra)
    body["data"]["predictions"] = {
        "file": predictions_path.name,
        "sha256": sha256_file(predictions_path),
        "format": predictions_format,
    }
    model = {"name_or_path": args.model_name, "adapter": None, "backend": "predictions-file"}
    results = build_results(run_id, args.label, model, None, {}, {task.name: body}, *_versions([task]))
    _finish(run_dir, results, samples, args.plots, [task])
    summary = unusable_summary(task.name, extra, body["problems"]["count"], run_dir)
    if summary:
        print(summary, file=sys.stderr)  # printed, not only logged: a partial file must not pass unnoticed
    refuse_missing_metrics(results, run_dir, args.allow_missing_metrics)
    return run_dir


def unusable_summary(task: str, skipped: dict[str, Any], problems: int, run_dir: Path) -> str | None:
    """One line saying what of a predictions file was not scored, or None when it was all used cleanly."""
    unusable = skipped["predictions_file"]["count"] + skipped["unknown_ids"]["count"]
    without = skipped["no_prediction"]["count"]
    if not (unusable or without or problems):
        return None
    return (
        f"{task}: scored with {unusable} unusable prediction record(s) left out, {without} item(s) without a "
        f"prediction and {problems} problem(s) in all: see {run_dir / RESULTS_NAME} (tasks.{task}.skipped, .problems)"
    )
