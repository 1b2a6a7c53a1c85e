"""The one rule for a run part of which could not be measured: write everything, warn loudly, exit non-zero.

A task body in results.json may carry `missing_metrics: {metric: why}`: metrics that were asked
for (IAScore when a judge is named, say) but have no value. That is not the same as
`undefined_metrics` (nothing to measure by the data's nature, e.g. CARS without trap questions),
which is no failure. After the run folder is written (so finished work and report.md are kept),
`refuse_missing_metrics` logs each one and raises `MissingMetricsError`, which `evaluate.py`
(both `run` and `score`) turns into exit status `EXIT_NOT_MEASURED`; `--allow_missing_metrics`
accepts the run instead (exit 0). Any other part of a run that could not be measured uses the same
pair: `note_missing(body, metric, why)` when building the body, then the one check at the end.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# 1 is an error before anything was written, 2 a bad command line (argparse); 3: the run folder
# is written, but something that was asked for is not in it.
EXIT_NOT_MEASURED = 3
MISSING_KEY = "missing_metrics"


class MissingMetricsError(RuntimeError):
    """A metric that was asked for could not be measured (the run folder is written all the same)."""

    def __init__(self, message: str, run_dir: Path):
        super().__init__(message)
        self.run_dir = run_dir


def note_missing(body: dict[str, Any], metric: str, why: str) -> None:
    """Record in a task's results.json body that `metric` was asked for and could not be measured."""
    body.setdefault(MISSING_KEY, {})[metric] = why


def refuse_missing_metrics(results: dict[str, Any], run_dir: Path, allowed: bool) -> None:
    """Warn about every metric asked for but not measured; raise MissingMetricsError unless `allowed`."""
    missing = [
        f"{task}.{metric}: {why}"
        for task, body in results["tasks"].items()
        for metric, why in (body.get(MISSING_KEY) or {}).items()
    ]
    for line in missing:
        logger.warning("NOT MEASURED (asked for): %s", line)
    if missing and not allowed:
        raise MissingMetricsError(
            f"{len(missing)} metric(s) asked for could not be measured ({'; '.join(missing)}). The results are in "
            f"{run_dir} (report.md says why); fix the cause and rerun (finished work is reused), "
            "or pass --allow_missing_metrics to accept the run without them",
            run_dir,
        )
