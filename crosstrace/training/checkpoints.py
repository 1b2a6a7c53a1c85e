"""Which checkpoint a rerun resumes from: the newest COMPLETE one.

A process killed while the Trainer writes `checkpoint-N` leaves a folder holding part of the
model, optimizer and RNG files. `transformers.trainer_utils.get_last_checkpoint` picks the folder
with the highest N whatever it holds, so one kill would make the run unresumable for good. The
Trainer writes `trainer_state.json` last (transformers 5.23, `Trainer._save_checkpoint`), so a
checkpoint is complete when that file parses and records the folder's own step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from crosstrace.errors import DataError
from crosstrace.jsonio import read_json

TRAINER_STATE = "trainer_state.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


@dataclass
class CheckpointChoice:
    """The checkpoint to resume from (None: start afresh) and the incomplete ones passed over, newest first."""

    resume_from: Path | None
    passed_over: list[tuple[Path, str]] = field(default_factory=list)


def incompleteness(folder: Path, step: int) -> str | None:
    """Why `folder` is not a whole checkpoint of `step`, or None when it is."""
    state_file = folder / TRAINER_STATE
    if not state_file.is_file():
        return f"no {TRAINER_STATE} (the save was interrupted)"
    try:
        state = read_json(state_file)
    except (OSError, DataError) as error:
        return f"{TRAINER_STATE} is unreadable ({error.reason if isinstance(error, DataError) else error}; the save was interrupted)"
    if not isinstance(state, dict) or state.get("global_step") != step:
        return f"{TRAINER_STATE} does not record step {step}"
    return None


def newest_complete_checkpoint(output_dir: str | Path) -> CheckpointChoice:
    """The complete `checkpoint-N` with the highest N in `output_dir`, and every newer incomplete one."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return CheckpointChoice(None)
    numbered = []
    for child in output_dir.iterdir():
        match = _CHECKPOINT.match(child.name)
        if match and child.is_dir():
            numbered.append((int(match.group(1)), child))
    choice = CheckpointChoice(None)
    for step, folder in sorted(numbered, reverse=True):
        reason = incompleteness(folder, step)
        if reason is None:
            choice.resume_from = folder
            break
        choice.passed_over.append((folder, reason))
    return choice
