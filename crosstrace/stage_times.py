"""Run one stage of a script, print its wall time with the load average beside it, and record both.

    python -m crosstrace.stage_times --record <folder>/stages.jsonl --stage train -- python train.py ...
    python -m crosstrace.stage_times --record <folder>/stages.jsonl --stage build --skipped "already built"
    python -m crosstrace.stage_times --record <folder>/stages.jsonl --summary

Wall-clock times mean little without the machine's load: a 2-core machine shared with other jobs
runs a stage several times slower than a quiet one. So each stage prints, and appends to the
record (JSON Lines, one line when it starts and one when it ends), its wall time, the CPU time of
its processes (user + system, all threads: on a quiet machine about the wall time times the cores
kept busy; threads that spin-wait for a busy core inflate it), the 1-, 5- and 15-minute load
averages at its start and end, and the number of CPUs. The command's exit status is
passed on. A stage that ended without an end line (killed) is reported as such, never dropped.

`stage_summary` reads a record back: per stage, the time it took to complete, counting every
attempt up to the first that succeeded (an interrupted demo resumed later spends both), and the
load averages of those attempts. Attempts after a stage has completed (a rerun of a finished demo
that finds nothing left to do) do not change its time.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crosstrace.cli import make_parser, parse
from crosstrace.errors import DataError
from crosstrace.jsonio import iter_jsonl


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages (runnable processes; above the CPU count means contention)."""
    return [round(value, 2) for value in os.getloadavg()]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _append(record: Path, event: dict[str, Any]) -> None:
    record.parent.mkdir(parents=True, exist_ok=True)
    with record.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(event) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _children_cpu_seconds() -> float:
    """User + system CPU time of the finished child processes so far (the stage's command and its children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load_text(load: list[float]) -> str:
    return " ".join(f"{value:.2f}" for value in load)


def run_stage(record: Path, stage: str, command: list[str]) -> int:
    """Run `command`, timing it; returns its exit status (130 when interrupted with Ctrl-C)."""
    cpus = os.cpu_count()
    start_load = load_average()
    _append(record, {"event": "start", "stage": stage, "at": _now(), "load": start_load, "cpus": cpus})
    print(f"[stage {stage}] started; load average {_load_text(start_load)} on {cpus} CPUs", flush=True)
    started, cpu_started = time.monotonic(), _children_cpu_seconds()
    try:
        status = subprocess.call(command)
    except KeyboardInterrupt:
        status = 130
    seconds = round(time.monotonic() - started, 1)
    cpu_seconds = round(_children_cpu_seconds() - cpu_started, 1)
    end_load = load_average()
    _append(
        record,
        {
            "event": "end",
            "stage": stage,
            "at": _now(),
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "load": end_load,
            "exit_code": status,
        },
    )
    outcome = "done" if status == 0 else f"exit status {status}"
    print(
        f"[stage {stage}] {outcome} in {seconds:.0f} s ({seconds / 60:.1f} min) wall, {cpu_seconds:.0f} s CPU; "
        f"load average {_load_text(start_load)} at the start, {_load_text(end_load)} at the end, {cpus} CPUs",
        flush=True,
    )
    return status


def skip_stage(record: Path, stage: str, reason: str) -> None:
    _append(record, {"event": "skipped", "stage": stage, "at": _now(), "reason": reason, "load": load_average()})
    print(f"[stage {stage}] skipped: {reason}", flush=True)


@dataclass
class StageTime:
    """What a stage cost until it first completed."""

    stage: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # user + system time of the stage's processes, over all its threads
    attempts: int = 0  # runs counted in `seconds` (more than one: it was interrupted and resumed)
    killed: int = 0  # runs that started and never recorded an end (their time is unknown)
    completed: bool = False
    skipped: str | None = None  # why it did no work, when every run so far was skipped
    loads: list[list[float]] = field(default_factory=list)  # load averages at each counted start and end
    cpus: int | None = None


def stage_summary(record: Path) -> list[StageTime]:
    """The stages in the order they first appear in `record` (see the module docstring)."""
    stages: dict[str, StageTime] = {}
    open_starts: dict[str, int] = {}
    for line, event in iter_jsonl(record):
        name, kind = event.get("stage"), event.get("event")
        if not isinstance(name, str) or kind not in ("start", "end", "skipped"):
            raise DataError(record, line, "stage/event", "expected a stage name and an event start, end or skipped")
        entry = stages.setdefault(name, StageTime(name))
        if entry.completed:
            continue
        if kind == "skipped":  # nothing left to do: complete, and without work when no run was counted before
            entry.skipped = None if entry.attempts else event.get("reason")
            entry.completed = True
            continue
        if kind == "start":
            entry.killed += open_starts.get(name, 0)  # a start followed by another start: the first was killed
            open_starts[name] = 1
            entry.loads.append(event.get("load"))
            entry.cpus = event.get("cpus", entry.cpus)
            continue
        open_starts[name] = 0
        entry.attempts += 1
        entry.seconds += float(event.get("seconds", 0.0))
        entry.cpu_seconds += float(event.get("cpu_seconds", 0.0))
        entry.loads.append(event.get("load"))
        entry.completed = event.get("exit_code") == 0
    for name, still_open in open_starts.items():
        stages[name].killed += still_open if not stages[name].completed else 0
    return list(stages.values())


def format_summary(stages: list[StageTime]) -> str:
    lines = []
    for entry in stages:
        if entry.skipped and not entry.attempts:
            lines.append(f"{entry.stage:>10}: skipped ({entry.skipped})")
            continue
        peak = max((load[0] for load in entry.loads if load), default=0.0)
        state = "" if entry.completed else " (not completed)"
        extra = f", {entry.attempts} runs" if entry.attempts > 1 else ""
        extra += f", {entry.killed} killed run(s) of unknown length" if entry.killed else ""
        lines.append(
            f"{entry.stage:>10}: {entry.seconds / 60:6.1f} min wall, {entry.cpu_seconds / 60:6.1f} min CPU{state}{extra}; "
            f"highest 1-min load average {peak:.2f}"
        )
    total, cpu = sum(entry.seconds for entry in stages), sum(entry.cpu_seconds for entry in stages)
    lines.append(f"{'total':>10}: {total / 60:6.1f} min wall, {cpu / 60:6.1f} min CPU")
    return "\n".join(lines)


@dataclass
class StageArguments:
    """`python -m crosstrace.stage_times`: the record, and the stage to run, skip or summarise."""

    record: Path = field(metadata={"help": "the stages' JSON Lines record (appended to)"})
    stage: str | None = field(default=None, metadata={"help": "the stage's name, e.g. train"})
    skipped: str | None = field(
        default=None, metadata={"help": "record the stage as skipped (nothing to do), with this reason"}
    )
    summary: bool = field(default=False, metadata={"help": "print each stage's time from the record, run nothing"})


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)  # the stage's own command follows "--"
    parser = make_parser(StageArguments, prog="python -m crosstrace.stage_times", description=__doc__)
    (args,), _ = parse(parser, argv[:split])
    command = argv[split + 1 :]
    if args.summary:
        try:
            print(format_summary(stage_summary(args.record)))
        except DataError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    if not args.stage:
        parser.error("--stage is required to run or skip a stage")
    if args.skipped is not None:
        skip_stage(args.record, args.stage, args.skipped)
        return 0
    if not command:
        parser.error("give the stage's command after --")
    return run_stage(args.record, args.stage, command)


if __name__ == "__main__":
    sys.exit(main())
