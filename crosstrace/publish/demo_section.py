"""The README's demo figures, generated from the demo's record in `dacr_results/<run>-run/`.

`scripts/demo.sh` writes there `stages.jsonl` (each stage's wall time and load average, see
`crosstrace.stage_times`) and `learning_curve.json` / `learning_curve.png` (see
`crosstrace.evaluation.learning_curve`). This module turns them into the markdown that
`python -m crosstrace.publish.readme_results` puts between the README's demo markers: the stage
times, the training run's size, the curve's picture and its points. Nothing here is typed by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosstrace.jsonio import read_json_object
from crosstrace.publish.tables import NO_VALUE, markdown_table
from crosstrace.results_schema import CURVE_JSON_NAME, CURVE_PNG_NAME, STAGES_NAME
from crosstrace.stage_times import StageTime, stage_summary

DEMO_RECORD = "demo-smollm2-135m-run"  # scripts/demo.sh's record of the release demo


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _load_cell(entry: StageTime) -> str:
    """The 1-minute load average at each counted start and end, e.g. '0.12 → 1.95'."""
    return " → ".join(f"{load[0]:.2f}" for load in entry.loads if load) or NO_VALUE


def _stage_cell(entry: StageTime) -> str:
    if entry.skipped and not entry.attempts:
        return f"skipped ({entry.skipped})"
    notes = [] if entry.completed else ["not completed"]
    if entry.attempts > 1:
        notes.append(f"{entry.attempts} runs: interrupted, then resumed")
    if entry.killed:
        notes.append(f"{entry.killed} killed run(s) of unknown length not counted")
    return _minutes(entry.seconds) + (f" ({'; '.join(notes)})" if notes else "")


def stages_table(stages: list[StageTime]) -> str:
    rows = [
        [
            entry.stage,
            _stage_cell(entry),
            _minutes(entry.cpu_seconds) if entry.attempts else NO_VALUE,
            _load_cell(entry),
        ]
        for entry in stages
    ]
    cpus = next((entry.cpus for entry in stages if entry.cpus), None)
    total, cpu = sum(entry.seconds for entry in stages), sum(entry.cpu_seconds for entry in stages)
    rows.append(["total", _minutes(total), _minutes(cpu), f"{cpus} CPUs" if cpus else NO_VALUE])
    return markdown_table(["stage", "wall time", "CPU time (all threads)", "1-min load average, start → end"], rows)


def _percent(value: float | None, ci95: list[float] | None = None) -> str:
    if value is None:
        return NO_VALUE
    text = f"{100 * value:.1f}%"
    return f"{text} [{100 * ci95[0]:.1f}, {100 * ci95[1]:.1f}]" if ci95 else text


def training_sentence(training: dict[str, Any]) -> str:
    def number(key: str, spec: str = ",") -> str:
        value = training.get(key)
        return NO_VALUE if value is None else format(value, spec)

    return (
        f"Training: {number('rows')} rows of the train split, {number('epochs', 'g')} pass(es), "
        f"{number('steps')} optimizer updates, {number('tokens', ',.0f')} tokens, final training loss "
        f"{number('train_loss', '.3f')} (`train_results.json`, `trainer_state.json`)."
    )


def curve_table(curve: dict[str, Any]) -> str:
    rows = [
        [
            str(point["step"]),
            NO_VALUE if point.get("tokens") is None else f"{point['tokens']:,.0f}",
            point["role"],
            f"{point['split']}, {point['n']}",
            _percent(point["compliance"], point.get("ci95")),
            NO_VALUE if point.get("hit_max_new_tokens") is None else str(point["hit_max_new_tokens"]),
        ]
        for point in curve["points"]
    ]
    header = ["update", "tokens seen", "model", "records", "structural compliance [95%]", "cut at max_new_tokens"]
    return markdown_table(header, rows)


def decoding_sentence(decoding: dict[str, Any]) -> str:
    shown = ", ".join(f"{key} {value}" for key, value in decoding.items())
    return f"Decoding, identical for every point and both test runs: {shown}."


def render_demo_section(results_dir: str | Path, record: str = DEMO_RECORD) -> str:
    """The markdown for the demo record `results_dir/record` (a note when the demo has not written one)."""
    folder = Path(results_dir) / record
    stages_path, curve_path = folder / STAGES_NAME, folder / CURVE_JSON_NAME
    if not stages_path.is_file() and not curve_path.is_file():
        return f"No demo record in `dacr_results/{record}/` yet: `bash scripts/demo.sh` writes it."
    parts = []
    if stages_path.is_file():
        parts.append(
            f"Stage times of the run behind the figures (`dacr_results/{record}/{STAGES_NAME}`):\n\n"
            + stages_table(stage_summary(stages_path))
        )
    if curve_path.is_file():
        curve = read_json_object(curve_path)
        parts += [
            training_sentence(curve.get("training", {})),
            f"![Structural compliance and training loss during training](dacr_results/{record}/{CURVE_PNG_NAME})",
            curve_table(curve),
            decoding_sentence(curve.get("decoding", {})),
        ]
    return "\n\n".join(parts)
