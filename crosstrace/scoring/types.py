"""`TaskScore`: what every scorer returns, and what `evaluate.py` writes under `tasks.<name>`.

    score = score_dacr(challenges, predictions)
    score.metrics["accuracy"], score.n["accuracy"], score.ci95["accuracy"]
    json.dumps(score.to_dict())

Metrics are fractions in [0, 1] where the quantity is a fraction. A metric that is undefined on
the data it was given (e.g. CARS when no question targets a trap) is `None`, written as JSON
`null`, never NaN; its interval is absent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """numpy scalars/arrays to Python, NaN/inf to None, dict keys to str: `json.dumps` strict-safe."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


@dataclass
class TaskScore:
    """Scores of one task: headline metrics with n and 95% intervals, breakdowns, per-sample rows.

    - `metrics[name]`: float or None (undefined); `n[name]`: how many samples the metric averages
      (plus a few counts such as `questions`, `challenges`);
    - `ci95[name]`: `[low, high]` percentile-bootstrap interval (stats.py says how it resamples);
    - `breakdowns[dimension][value] = {"metrics": {...}, "n": {...}, "ci95": {...}}`;
    - `samples`: one row per scored sample, with the model's output and the verdict but no
      third-party reference text (gold answers, questions, documents stay in their files);
    - `problems`: bad input found while scoring, one dict per problem (path/line/field/reason
      or ids), never raised;
    - `scoring`: how it was scored (mode and definition version), `extra`: task-specific tables.
    """

    task: str
    scoring: dict[str, Any]
    metrics: dict[str, float | None]
    n: dict[str, int] = field(default_factory=dict)
    ci95: dict[str, list[float]] = field(default_factory=dict)
    breakdowns: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, include_samples: bool = True) -> dict[str, Any]:
        """A JSON-safe dict (samples optional: results.json keeps them in samples.jsonl)."""
        out = {
            "task": self.task,
            "scoring": self.scoring,
            "metrics": self.metrics,
            "n": self.n,
            "ci95": self.ci95,
            "breakdowns": self.breakdowns,
            "problems": self.problems,
            "extra": self.extra,
        }
        if include_samples:
            out["samples"] = self.samples
        return json_safe(out)
