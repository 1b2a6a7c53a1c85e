"""The learning curve: an adapter's structural compliance, and its training loss, during training.

    python evaluate.py curve --training_dir outputs/demo --curve_dir dacr_results/<demo>-run \\
        --baseline_run dacr_results/<baseline-run> --final_run dacr_results/<adapter-run> \\
        --model builtin:smollm2-135m-instruct --tasks crosstrace --crosstrace_data build/crosstrace \\
        --crosstrace_configs all --split validation --max_samples 16 --max_new_tokens 480 --batch_size 16

Every `checkpoint-<step>` folder that `train.py` left in `--training_dir` is evaluated like any
run (`run_evaluation`) on a small fixed sample (the first `--max_samples` records of `--split`,
the validation split in the demo: the test split is for the final figures only). Each point is
an ordinary resumable run folder under `<training_dir>/learning_curve/step-<step>/`, so an
interrupted curve resumes without generating any finished answer again.

The two ends are not generated again: step 0 is the base model's run (`--baseline_run`) and the
last step the final adapter's (`--final_run`), both on the test records, drawn with their own
markers. Their decoding must equal this command's, which is recorded in the curve.

Written to `--curve_dir`: `learning_curve.json` (each point's compliance, 95% interval, n,
answers cut at max_new_tokens, the training tokens seen by then; the logged training loss; the
training run's size) and `learning_curve.png`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import fields
from pathlib import Path
from statistics import fmean
from typing import Any

from crosstrace.errors import DataError
from crosstrace.evaluation.arguments import CurveArguments, EvalArguments
from crosstrace.evaluation.backends import decoding_settings
from crosstrace.jsonio import read_json_object
from crosstrace.results_schema import CURVE_JSON_NAME, CURVE_PNG_NAME, read_results

logger = logging.getLogger(__name__)

POINTS_DIR = "learning_curve"  # inside the training folder: the points' run folders (not published)
METRIC = "structural_compliance"
LOSS_WINDOW = 20  # updates in the trailing mean drawn over the per-update training loss
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# What a checkpoint folder must hold to be evaluated (train.py writes these at every save).
_ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def checkpoints(training_dir: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every complete checkpoint in `training_dir`, by step; incomplete ones are named and passed over."""
    found = []
    for folder in training_dir.iterdir() if training_dir.is_dir() else []:
        match = _CHECKPOINT.match(folder.name)
        if not match or not folder.is_dir():
            continue
        missing = [name for name in _ADAPTER_FILES if not (folder / name).is_file()]
        if missing:
            logger.warning("passing over %s: no %s (a save was interrupted)", folder, ", ".join(missing))
            continue
        found.append((int(match[1]), folder))
    return sorted(found)


def training_log(training_dir: Path) -> dict[str, Any]:
    """The run's size and its logged loss, from what train.py writes beside the adapter."""
    state_path = training_dir / "trainer_state.json"
    state = read_json_object(state_path)
    history = state.get("log_history")
    if not isinstance(history, list) or "global_step" not in state:
        raise DataError(state_path, None, "log_history/global_step", "not a finished Trainer state: train first")
    loss = [[entry["step"], entry["loss"]] for entry in history if "loss" in entry and "step" in entry]
    tokens = {entry["step"]: entry["num_tokens"] for entry in history if "num_tokens" in entry and "step" in entry}
    facts: dict[str, Any] = {
        "steps": state["global_step"],
        "epochs": state.get("num_train_epochs"),
        "tokens": max(tokens.values(), default=None),
    }
    results_path = training_dir / "train_results.json"
    if results_path.is_file():
        results = read_json_object(results_path)
        facts.update(
            train_loss=results.get("train_loss"),
            train_runtime_seconds=results.get("train_runtime"),
            rows=results.get("train_samples"),
        )
    return {"training": facts, "loss": loss, "tokens_by_step": tokens}


def _point(step: int, tokens: int | None, results: dict[str, Any], role: str, where: str) -> dict[str, Any]:
    task = results["tasks"].get("crosstrace")
    if task is None or METRIC not in task.get("metrics", {}):
        raise DataError(where, None, "tasks.crosstrace", "no CrossTrace structural compliance in this run")
    return {
        "step": step,
        "tokens": tokens,
        "role": role,
        "run_id": results["run_id"],
        "split": task["data"].get("split"),
        "compliance": task["metrics"][METRIC],
        "ci95": task.get("ci95", {}).get(METRIC),
        "n": task["n"][METRIC],
        "hit_max_new_tokens": task.get("generation", {}).get("hit_max_new_tokens"),
    }


def _same_decoding(decoding: dict[str, Any], results: dict[str, Any], where: str) -> None:
    if results.get("decoding") != decoding:
        raise DataError(
            where,
            None,
            "decoding",
            f"this run decoded with {results.get('decoding')}, the curve with {decoding}: a curve compares "
            "answers decoded alike, so evaluate the run again with the curve's settings",
        )


def run_curve(args: CurveArguments) -> Path:
    """Evaluate every checkpoint (resuming), then write the curve's JSON and PNG. Returns the curve folder."""
    from crosstrace.evaluation.pipeline import run_evaluation

    if args.task_list != ["crosstrace"]:
        raise DataError(
            "--tasks", None, None, "the learning curve measures CrossTrace compliance: use --tasks crosstrace"
        )
    training_dir, curve_dir = Path(args.training_dir), Path(args.curve_dir)
    log = training_log(training_dir)
    final_step, tokens_at = log["training"]["steps"], log["tokens_by_step"]
    decoding = decoding_settings(args)
    ends = []
    for role, step, run in (("base model", 0, args.baseline_run), ("final adapter", final_step, args.final_run)):
        results = read_results(run)
        _same_decoding(decoding, results, run)
        ends.append(_point(step, tokens_at.get(step, 0 if step == 0 else None), results, role, run))

    points = []
    for step, folder in checkpoints(training_dir):
        if step >= final_step:
            continue  # the final adapter's own run is the last point
        point_dir = training_dir / POINTS_DIR / f"step-{step:05d}"
        logger.info("learning curve: step %d of %d (%s)", step, final_step, folder)
        # An ordinary run's arguments: the curve's own fields stay out of the point's run_config.json.
        shared = {f.name: getattr(args, f.name) for f in fields(EvalArguments)}
        point_args = EvalArguments(
            **{
                **shared,
                "adapter": str(folder),
                "output_dir": str(point_dir),
                "run_id": f"{curve_dir.name}-step-{step}",
                "label": f"checkpoint at step {step}",
                "plots": False,
            }
        )
        run_evaluation(point_args)
        points.append(_point(step, tokens_at.get(step), read_results(point_dir), "checkpoint", str(point_dir)))

    curve = {
        "metric": METRIC,
        "decoding": decoding,
        "checkpoint_sample": {"split": args.split, "records": args.max_samples, "configs": args.crosstrace_configs},
        "points": [ends[0], *points, ends[1]],
        **{key: log[key] for key in ("training", "loss")},
    }
    curve_dir.mkdir(parents=True, exist_ok=True)
    (curve_dir / CURVE_JSON_NAME).write_text(json.dumps(curve, indent=2) + "\n", encoding="utf-8")
    plot_curve(curve, curve_dir / CURVE_PNG_NAME)
    logger.info("wrote %s and %s", curve_dir / CURVE_JSON_NAME, curve_dir / CURVE_PNG_NAME)
    for point in curve["points"]:
        logger.info(
            "step %5d  %-13s %s: compliance %.3f (n=%d)",
            point["step"],
            point["role"],
            point["split"],
            point["compliance"],
            point["n"],
        )
    return curve_dir


def plot_curve(curve: dict[str, Any], path: Path) -> Path:
    """Compliance with its 95% interval at each point (checkpoints on the validation sample, the two
    ends on the test records) and the logged training loss on a second axis, against the update step."""
    from crosstrace.evaluation.plots import pyplot

    plt = pyplot()
    fig, left = plt.subplots(figsize=(7.0, 4.0))
    right = left.twinx()
    if curve["loss"]:
        steps, losses = zip(*curve["loss"], strict=True)
        right.plot(steps, losses, color="#CCCCCC", linewidth=0.8, label="training loss (each update)")
        # One packed bin per update makes the raw loss jump with each bin's content; the trailing
        # mean shows the trend under it.
        window = min(LOSS_WINDOW, len(losses))
        trailing = [fmean(losses[max(0, i + 1 - window) : i + 1]) for i in range(len(losses))]
        right.plot(steps, trailing, color="#555555", linewidth=1.2, label=f"training loss (mean of the last {window})")
    right.set_ylabel("training loss")

    points = curve["points"]
    left.plot([p["step"] for p in points], [p["compliance"] for p in points], color="#4C72B0", linewidth=1.5)
    sample = curve["checkpoint_sample"]
    for role, marker, label in (
        ("checkpoint", "o", f"checkpoints: first {sample['records']} {sample['split']} records"),
        ("base model", "s", "base model and final adapter: the test records"),
        ("final adapter", "s", None),
    ):
        chosen = [p for p in points if p["role"] == role]
        if not chosen:
            continue
        values = [p["compliance"] for p in chosen]
        lower = [max(p["compliance"] - p["ci95"][0], 0.0) if p["ci95"] else 0.0 for p in chosen]
        upper = [max(p["ci95"][1] - p["compliance"], 0.0) if p["ci95"] else 0.0 for p in chosen]
        left.errorbar(
            [p["step"] for p in chosen],
            values,
            yerr=[lower, upper],
            fmt=marker,
            color="#4C72B0" if role == "checkpoint" else "#C44E52",
            capsize=3,
            label=label,
        )
    left.set_ylim(-0.02, 1.02)
    left.set_xlabel("optimizer update")
    left.set_ylabel("structural compliance")
    left.set_zorder(right.get_zorder() + 1)  # points over the loss line
    left.patch.set_visible(False)
    handles = [*left.get_legend_handles_labels()[0], *right.get_legend_handles_labels()[0]]
    labels = [*left.get_legend_handles_labels()[1], *right.get_legend_handles_labels()[1]]
    left.legend(handles, labels, loc="center right", fontsize=8)
    left.set_title("Structural compliance during training (95% intervals)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
