"""What `evaluate.py` does: generate and score (`run_evaluation`), or score saved outputs (`run_scoring`).

Both write the same run folder (default `dacr_results/<run-id>/`): results.json,
samples.jsonl, report.md and plots; a generation run also keeps `generations/<task>.jsonl`
(the resumable raw outputs) and `run_config.json` (the settings its generations were made with).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from crosstrace import paths
from crosstrace.errors import DataError, ErrorPolicy, iter_jsonl
from crosstrace.evaluation.arguments import EvalArguments, ScoreArguments, split_list
from crosstrace.evaluation.backends import BackendError, create_backend, decoding_settings
from crosstrace.evaluation.prompts import Prompt, fit_to_context, prompts_hash
from crosstrace.evaluation.report import write_report
from crosstrace.evaluation.results import (
    DEFAULT_RESULTS_DIR,
    build_results,
    settings_hash,
    slug,
    task_result,
    write_results,
)
from crosstrace.evaluation.runner import GENERATIONS_DIR, generate_all, generations_path
from crosstrace.evaluation.tasks import CrossTraceTask, DacrTask, McqTask, Task
from crosstrace.scoring.types import TaskScore

logger = logging.getLogger(__name__)

RUN_CONFIG_NAME = "run_config.json"
# Where and how results are written: left out of the default run id.
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
    "seed",
    "batch_size",
)


# ----------------------------------------------------------------------------- tasks from arguments


def build_judges(args: EvalArguments | ScoreArguments) -> list:
    """The IAScore judge(s) when a judge model is named (flag or $CROSSTRACE_JUDGE_MODEL), else [].

    `--judge_model a,b` gives two judges (b's agreement with a is reported); `--judge_base_url` and
    `--judge_api_key_env` list one value per judge, or one for both. Each key is read from the
    judge's own variable: the model's key (`--api_key_env`) is never sent to a judge host.
    Replies are cached outside the results folder (they quote reference ideas): reruns cost nothing."""
    from crosstrace.scoring.judge import ENV_MODEL, Judge, JudgeConfig
    from crosstrace.tokenization import cache_dir

    models = split_list(args.judge_model or os.environ.get(ENV_MODEL))
    if not models:
        return []
    base_urls = split_list(args.judge_base_url) or [None]
    key_envs = split_list(args.judge_api_key_env)
    if len(models) > 2 or any(len(values) not in (1, len(models)) for values in (base_urls, key_envs)):
        raise BackendError(
            f"--judge_model names {len(models)} judge(s) (at most 2): give --judge_base_url and "
            "--judge_api_key_env once for all, or once per judge"
        )
    model_key_env = getattr(args, "api_key_env", None)
    judges = []
    for index, model in enumerate(models):
        key_env = key_envs[index % len(key_envs)]
        if key_env == model_key_env:
            logger.warning("the judge %s reads its key from %s, the model's own key variable", model, key_env)
        try:
            config = JudgeConfig.from_env(
                base_url=base_urls[index % len(base_urls)],
                model=model,
                api_key=os.environ.get(key_env),
                cache_dir=str(cache_dir() / "judge"),
                temperature=args.judge_temperature,
                seed=args.judge_seed,
                repeats=args.judge_repeats,
                max_tokens=args.judge_max_tokens,
                timeout_s=args.judge_timeout,
                max_retries=args.judge_max_retries,
                concurrency=args.judge_concurrency,
            )
        except ValueError as error:
            raise BackendError(str(error)) from None
        judges.append(Judge(config, seed=args.seed))
    return judges


def build_task(name: str, args: EvalArguments) -> Task:
    if name == "crosstrace":
        source = args.crosstrace_data or _default(
            "crosstrace", "--crosstrace_data", "a built CrossTrace folder, Hub id or the release folder"
        )
        return CrossTraceTask(
            source,
            split_list(args.crosstrace_configs),
            args.split,
            judges=build_judges(args),
            bootstrap=args.bootstrap,
            seed=args.seed,
        )
    if name == "dacr":
        files = split_list(args.dacr_benchmarks) or [_default("dacr", "--dacr_benchmarks", "DACR-Bench JSON files")]
        return DacrTask(files, args.dacr_split, args.prompt_template, args.scoring, args.bootstrap, args.seed)
    if not args.mcq_data:
        raise DataError(
            "--mcq_data",
            None,
            None,
            "the mcq task needs MCQ records: a WildSci-format .jsonl, a built MCQ dataset folder or its Hub id",
        )
    return McqTask(args.mcq_data, args.mcq_config, args.split, args.bootstrap, args.seed, scoring=args.mcq_scoring)


# Where a task's data is found when no flag names it: the public releases beside the checkout.
_DEFAULT_DATA = {"dacr": paths.dacr_bench_mini_file, "crosstrace": paths.crosstrace_release_dir, "mcq": lambda: None}


def _default(task: str, flag: str, what: str) -> str:
    found = _DEFAULT_DATA[task]()
    if found is None:
        raise DataError(flag, None, None, f"not given, and ../shared/data has no default here: pass {what}")
    return str(found)


# ----------------------------------------------------------------------------- the run folder


def generation_settings(args: EvalArguments) -> dict[str, Any]:
    return {k: v for k, v in asdict(args).items() if k not in _PLACEMENT_FIELDS}


def run_folder(args: EvalArguments) -> tuple[str, Path]:
    """(run id, folder). The default id is stable for the same settings, so rerunning resumes."""
    run_id = args.run_id
    if run_id is None:
        adapter = f"__{slug(args.adapter)}" if args.adapter else ""
        run_id = f"{slug(args.model)}{adapter}-{args.backend}-{settings_hash(generation_settings(args))}"
    return run_id, Path(args.output_dir) if args.output_dir else Path(DEFAULT_RESULTS_DIR) / run_id


def check_run_folder(run_dir: Path, settings: dict[str, Any], overwrite: bool) -> None:
    """Refuse to resume generations made with a different model or decoding (before loading anything).

    Other changes are safe: new tasks or samples are generated, a different scoring mode only
    rescores, and a changed prompt is caught per generation by its prompt hash."""
    config_path = run_dir / RUN_CONFIG_NAME
    if overwrite or not config_path.is_file() or not (run_dir / GENERATIONS_DIR).exists():
        return
    previous = json.loads(config_path.read_text(encoding="utf-8"))
    changed = [k for k in _OUTPUT_FIELDS if previous.get(k) != settings.get(k)]
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

    tasks = [build_task(name, args) for name in args.task_list]  # all data checked before the model loads
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
        generations = generate_all(
            task.name, kept, backend, generations_path(run_dir, task.outputs_name), args.batch_size, args.seed
        )
        outputs = {prompt_id: record["output"] for prompt_id, record in generations.items()}
        score = _score_outputs(task, outputs)
        results_tasks[task.name] = task_result(task, score, context.to_dict(), generations)
        results_tasks[task.name]["data"]["prompt_hash"] = hashes[task.name]
        mark_missing_metrics(task, results_tasks[task.name])
        samples += task.sample_rows(score, outputs)

    model = {"name_or_path": args.model, "adapter": args.adapter, "backend": backend.name, **backend.describe()}
    results = build_results(
        run_id, args.label, model, decoding_settings(args), hashes, results_tasks, *_versions(tasks)
    )
    _finish(run_dir, results, samples, args.plots, tasks)
    refuse_missing_metrics(results, run_dir, args.allow_missing_metrics)
    return run_dir


class MissingMetricsError(RuntimeError):
    """A metric that was asked for could not be measured (the run folder is written all the same)."""


def mark_missing_metrics(task: Task, body: dict[str, Any]) -> None:
    """Record, in the task's results, each metric asked for that has no value, and why.

    Asked for: IAScore when a judge is named. A metric with nothing to measure by its nature
    (CARS without trap questions) stays merely undefined."""
    if not isinstance(task, CrossTraceTask) or task.judge is None or "iascore" in body["metrics"]:
        return
    outcomes = (body.get("extra") or {}).get("judge_outcomes")
    if not outcomes:
        reason = "no output was scored, so nothing was sent to the judge"
    else:
        reason = (
            f"the judge scored none of {outcomes['pairs']} pair(s): {outcomes['failed']} request(s) failed, "
            f"{outcomes['unreadable']} reply(ies) had no readable score"
        )
        if outcomes.get("stopped_sending"):
            reason += f"; stopped sending because {outcomes['stopped_sending']}"
        if outcomes.get("first_error"):
            reason += f"; first error: {outcomes['first_error']}"
    body["missing_metrics"] = {"iascore": reason}


def refuse_missing_metrics(results: dict[str, Any], run_dir: Path, allowed: bool) -> None:
    """Warn about every metric asked for but not measured; fail the run unless --allow_missing_metrics."""
    missing = [
        f"{task}.{metric}: {reason}"
        for task, body in results["tasks"].items()
        for metric, reason in (body.get("missing_metrics") or {}).items()
    ]
    if not missing:
        return
    for line in missing:
        logger.warning("NOT MEASURED (asked for): %s", line)
    if not allowed:
        raise MissingMetricsError(
            f"{len(missing)} metric(s) asked for could not be measured ({'; '.join(missing)}). The results are in "
            f"{run_dir} (report.md says why); fix the cause and rerun (finished work is reused), "
            "or pass --allow_missing_metrics to accept the run without them"
        )


def _score_outputs(task: Task, outputs: dict[str, str]) -> TaskScore:
    """The task's score; with no output at all (every prompt skipped), no metric rather than zeros."""
    if not outputs:
        logger.warning("%s: nothing to score (no prompt was generated); its metrics are left undefined", task.name)
        return TaskScore(task=task.name, scoring={}, metrics={})
    return task.score(outputs)


def _versions(tasks: list[Task]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(datasets, benchmarks) for results.json `versions`."""
    datasets, benchmarks = {}, {}
    for task in tasks:
        info = task.data_info()
        if isinstance(task, DacrTask):
            benchmarks.update(info["benchmarks"])
        else:
            datasets[task.name] = info
    return datasets, benchmarks


JUDGE_LOG_NAME = "judge_outputs.jsonl"
SECOND_JUDGE_LOG_NAME = "judge_outputs_second.jsonl"


def _finish(
    run_dir: Path, results: dict[str, Any], samples: list[dict[str, Any]], plots: bool, tasks: list[Task]
) -> None:
    results_path, _ = write_results(run_dir, results, samples)
    for task in tasks:
        for index, judge in enumerate(task.judges if isinstance(task, CrossTraceTask) else []):
            if judge.log:  # every judge reply, beside the scores it gave (the second judge's in its own file)
                judge.write_log(run_dir / (JUDGE_LOG_NAME if index == 0 else SECOND_JUDGE_LOG_NAME))
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


def read_outputs(path: Path, policy: ErrorPolicy) -> dict[str, str]:
    """JSON Lines of {id, output} (any model's outputs, or a run's generations file) -> {id: output}."""
    outputs: dict[str, str] = {}
    for line, obj in iter_jsonl(path, policy):
        record_id, output = obj.get("id"), obj.get("output")
        if not isinstance(record_id, str) or not record_id:
            policy.handle(DataError(path, line, "id", f"expected a non-empty string, got {record_id!r}"))
        elif not isinstance(output, str):
            policy.handle(DataError(path, line, "output", f"expected a string, got {type(output).__name__}"))
        elif record_id in outputs:
            policy.handle(DataError(path, line, "id", f"{record_id!r} appears twice; the first is kept"))
        else:
            outputs[record_id] = output
    return outputs


def _is_raw_outputs_file(path: Path) -> bool:
    """A .jsonl of {id, output} (raw model text) rather than DACR answer objects."""
    if path.suffix != ".jsonl":
        return False
    with path.open("rb") as handle:
        first = next((line for line in handle if line.strip()), b"")
    try:
        obj = json.loads(first)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(obj, dict) and "output" in obj and "answers" not in obj


def _score_task(args: ScoreArguments) -> tuple[Task, Any, dict[str, Any], list[dict[str, Any]]]:
    """(task, score, what was not scored, samples) for the predictions file."""
    predictions_path = Path(args.predictions)
    if not predictions_path.is_file():
        raise DataError(predictions_path, None, None, "file not found")
    benchmark = args.benchmark or _default(args.task, "--benchmark", "the task's reference data")
    if args.task == "dacr":
        task: Task = DacrTask([benchmark], mode=args.scoring, bootstrap=args.bootstrap, seed=args.seed)
    elif args.task == "crosstrace":
        task = CrossTraceTask(
            benchmark,
            split_list(args.crosstrace_configs),
            args.split,
            judges=build_judges(args),
            bootstrap=args.bootstrap,
            seed=args.seed,
        )
    else:
        task = McqTask(benchmark, args.mcq_config, args.split, args.bootstrap, args.seed, scoring=args.mcq_scoring)

    if isinstance(task, DacrTask) and not _is_raw_outputs_file(predictions_path):
        from crosstrace.scoring.predictions import load_predictions

        # Parsed answers (upstream's list or our mapping) against every challenge: the scoring
        # mode decides what a challenge without a prediction counts as, and reports strays.
        predictions, problems = load_predictions(predictions_path)
        score = task.score_predictions(predictions)
        score.problems = list(problems) + list(score.problems)
        return task, score, {}, task.sample_rows(score, {})

    # Raw outputs keyed by prompt id: scored like a generation run's (prompts without an output
    # are counted as not scored, as prompts skipped for the context are).
    read_problems = ErrorPolicy("skip")
    outputs = read_outputs(predictions_path, read_problems)
    known = [p.id for p in task.prompts()]
    unknown = sorted(set(outputs) - set(known))
    outputs = {k: v for k, v in outputs.items() if k in set(known)}
    score = _score_outputs(task, outputs)
    score.problems = [{"id": i, "problem": "not an id of this task's data; ignored"} for i in unknown] + list(
        score.problems
    )
    without = [i for i in known if i not in outputs]
    skipped = {
        "no_prediction": {"count": len(without), "ids": without},
        "predictions_file": {"count": len(read_problems.skipped), "items": read_problems.report()},
    }
    return task, score, skipped, task.sample_rows(score, outputs)


def run_scoring(args: ScoreArguments) -> Path:
    """Score a predictions file (no model loaded) and write a run folder like a generation run's."""
    from crosstrace.hub_folder import sha256_file

    task, score, extra, samples = _score_task(args)
    predictions_path = Path(args.predictions)
    mode = {"dacr": args.scoring, "mcq": "loglik" if args.mcq_scoring == "loglik" else "default"}.get(
        args.task, "default"
    )
    run_id = args.run_id or f"score-{args.task}-{slug(predictions_path.stem)}-{mode}"
    run_dir = Path(args.output_dir) if args.output_dir else Path(DEFAULT_RESULTS_DIR) / run_id
    body = task_result(task, score, None, None, extra)
    body["data"]["predictions"] = {"file": predictions_path.name, "sha256": sha256_file(predictions_path)}
    mark_missing_metrics(task, body)
    model = {"name_or_path": args.model_name, "adapter": None, "backend": "predictions-file"}
    results = build_results(run_id, args.label, model, None, {}, {task.name: body}, *_versions([task]))
    _finish(run_dir, results, samples, args.plots, [task])
    refuse_missing_metrics(results, run_dir, args.allow_missing_metrics)
    return run_dir
