"""DACR metrics from per-question results: aggregation, breakdowns and bootstrap intervals.

Metrics (fractions in [0, 1]; None when undefined, or the mode's value: `DacrRules.undefined`):
- `accuracy`: correct answers / questions; `pass_rate`: challenges with accuracy >= 0.6;
- `cars`: accuracy on trap-targeted questions (category `trap_targeted`, v1.0 `conflict_targeted`);
- `trap_evasion`: among trap-targeting questions whose answer takes a side in the planted
  conflict, the share that took the authoritative side;
- `confidence_weighted_accuracy`: sum of confidence over correct answers / sum over all;
- `ece`: expected calibration error over 10 confidence bins (`DacrRules.ece_bins`): the sum over
  bins of |correct - confidence| summed in the bin, divided by all questions (unbinned included);
- `brier`: mean (confidence - correct)²;
- `citation`: mean citation score over the questions it is defined for;
- `transfer_gap`: |accuracy on real documents - accuracy on synthetic ones|;
- `mean_confidence`, `coverage` (questions with an answer entry).
Breakdowns by category, hops, difficulty and answer format (each question's own) and by split
and domain (the challenge's, with pass rate; split also with trap evasion): accuracy and mean
confidence, each with n and interval. `reliability`: per ECE bin, count, mean confidence, accuracy.

Every metric is a ratio of sums over challenges, so each is computed from one matrix of
per-challenge sums (`_Matrix`), and its 95% interval from the same sums resampled over
challenges (a percentile bootstrap, `stats.Bootstrap`): all metrics are paired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from crosstrace.scoring.dacr_rules import ECE_BINS, DacrRules
from crosstrace.scoring.dacr_strict import ANSWER_FORMATS
from crosstrace.scoring.stats import Bootstrap, interval, ratio

if TYPE_CHECKING:
    from crosstrace.scoring.dacr_prepare import PreparedChallenge, PreparedQuestion

TRAP_CATEGORIES = frozenset({"trap_targeted", "conflict_targeted"})
BREAKDOWN_DIMENSIONS = ("category", "hops", "split", "domain", "difficulty", "answer_format")
CHALLENGE_LEVEL_DIMENSIONS = ("split", "domain")
PASS_THRESHOLD = 0.6
HEADLINE_METRICS = (
    "accuracy",
    "pass_rate",
    "cars",
    "trap_evasion",
    "confidence_weighted_accuracy",
    "ece",
    "brier",
    "citation",
    "transfer_gap",
    "mean_confidence",
    "coverage",
)


class RowArrays:
    """Per-question results as arrays, with the question and challenge of each row."""

    def __init__(
        self,
        unit,
        question,
        correct,
        confidence,
        answered,
        trap_state,
        citation,
        questions: list[PreparedQuestion],
        challenges: list[PreparedChallenge],
    ):
        self.unit = np.asarray(unit, dtype=np.int64)
        self.question = np.asarray(question, dtype=np.int64)
        self.correct = np.asarray(correct, dtype=np.float64)
        self.confidence = np.asarray(confidence, dtype=np.float64)
        self.answered = np.asarray(answered, dtype=np.float64)
        self.trap_state = np.asarray(trap_state, dtype=np.float64)
        self.citation = np.asarray(citation, dtype=np.float64)
        self.questions = questions
        self.challenges = challenges
        self.n_units = len(challenges)

    def codes(self, dimension: str) -> tuple[np.ndarray, list[str]]:
        """Each row's group under `dimension` as integer codes, and the groups. Labels are
        read once per distinct question (or challenge) and spread to rows by indexing."""
        if dimension in CHALLENGE_LEVEL_DIMENSIONS:
            codes, found = _factorize([getattr(c, dimension) for c in self.challenges])
            return (codes[self.unit] if self.unit.size else self.unit), found
        codes, found = _factorize([getattr(q, dimension) for q in self.questions])
        return (codes[self.question] if self.question.size else self.question), found

    def per_unit(self, weights: np.ndarray) -> np.ndarray:
        return np.bincount(self.unit, weights=weights, minlength=self.n_units)

    def per_unit_group(self, codes: np.ndarray, size: int, weights: np.ndarray) -> np.ndarray:
        """(n_units, size) sums of `weights` per challenge and group, in one pass."""
        flat = np.bincount(self.unit * size + codes, weights=weights, minlength=self.n_units * size)
        return flat.reshape(self.n_units, size)


class _Matrix:
    """Named columns of per-challenge sums, resampled together so all metrics are paired."""

    def __init__(self, n_units: int):
        self.n_units = n_units
        self.names: dict[str, int] = {}
        self.columns: list[np.ndarray] = []

    def add(self, name: str, per_unit: np.ndarray) -> None:
        self.names[name] = len(self.columns)
        self.columns.append(per_unit)

    def add_block(self, names: list[str], block: np.ndarray) -> None:
        for index, name in enumerate(names):
            self.add(name, block[:, index])

    def stack(self) -> np.ndarray:
        return np.stack(self.columns, axis=1) if self.columns else np.zeros((self.n_units, 0))


def aggregate(rows: RowArrays, rules: DacrRules, n_resamples: int, seed: int):
    """(metrics, n, ci95, breakdowns, reliability) of the rows under `rules`."""
    undefined = {name: rules.undefined.get(name, np.nan) for name in HEADLINE_METRICS}
    matrix = _Matrix(rows.n_units)
    ones = np.ones_like(rows.correct)
    trap_category = np.array([q.category in TRAP_CATEGORIES for q in rows.questions], dtype=np.float64)
    is_trap_question = trap_category[rows.question] if rows.question.size else np.zeros(0)
    trap_defined = np.isfinite(rows.trap_state)
    citation_defined = np.isfinite(rows.citation)
    bins = rules.ece_bins(rows.confidence)

    matrix.add("questions", rows.per_unit(ones))
    matrix.add("correct", rows.per_unit(rows.correct))
    matrix.add("answered", rows.per_unit(rows.answered))
    matrix.add("confidence", rows.per_unit(rows.confidence))
    matrix.add("confident_correct", rows.per_unit(rows.confidence * rows.correct))
    matrix.add("squared_error", rows.per_unit((rows.confidence - rows.correct) ** 2))
    matrix.add("trap_questions", rows.per_unit(is_trap_question))
    matrix.add("trap_correct", rows.per_unit(is_trap_question * rows.correct))
    matrix.add("trap_defined", rows.per_unit(trap_defined.astype(np.float64)))
    matrix.add("trap_evaded", rows.per_unit(np.where(trap_defined, rows.trap_state, 0.0)))
    matrix.add("citation_defined", rows.per_unit(citation_defined.astype(np.float64)))
    matrix.add("citation_sum", rows.per_unit(np.where(citation_defined, rows.citation, 0.0)))
    binned = bins >= 0
    bin_codes = np.where(binned, bins, 0)
    for suffix, weights in (
        ("count", binned * 1.0),
        # NaN (a confidence upstream's scorer reads as NaN) falls in no bin, and must not make the sums NaN.
        ("confidence", np.where(binned, rows.confidence, 0.0)),
        ("correct", binned * rows.correct),
    ):
        matrix.add_block(
            [f"bin{b}_{suffix}" for b in range(ECE_BINS)], rows.per_unit_group(bin_codes, ECE_BINS, weights)
        )
    unit_questions = matrix.columns[matrix.names["questions"]]
    unit_accuracy = ratio(matrix.columns[matrix.names["correct"]], unit_questions, 0.0)
    matrix.add("units", np.ones(rows.n_units))
    matrix.add("passed", (unit_accuracy >= PASS_THRESHOLD).astype(np.float64))
    splits = np.asarray([c.split for c in rows.challenges], dtype=object)
    for split in ("real", "synthetic"):
        in_split = (splits == split).astype(np.float64)
        matrix.add(f"{split}_questions", unit_questions * in_split)
        matrix.add(f"{split}_correct", matrix.columns[matrix.names["correct"]] * in_split)

    breakdown_groups = _add_breakdown_columns(matrix, rows)

    per_unit = matrix.stack()
    totals = per_unit.sum(axis=0)
    boot = Bootstrap(rows.n_units, n_resamples, seed)
    resampled = boot.resampled_sums(per_unit)
    col = matrix.names

    def headline(t: np.ndarray) -> dict[str, np.ndarray]:
        get = lambda name: t[..., col[name]]  # noqa: E731
        questions = get("questions")
        corr_minus_conf = sum(np.abs(get(f"bin{b}_correct") - get(f"bin{b}_confidence")) for b in range(ECE_BINS))
        real_acc = ratio(get("real_correct"), get("real_questions"))
        synthetic_acc = ratio(get("synthetic_correct"), get("synthetic_questions"))
        return {
            "accuracy": ratio(get("correct"), questions, undefined["accuracy"]),
            "pass_rate": ratio(get("passed"), get("units"), undefined["pass_rate"]),
            "cars": ratio(get("trap_correct"), get("trap_questions"), undefined["cars"]),
            "trap_evasion": ratio(get("trap_evaded"), get("trap_defined"), undefined["trap_evasion"]),
            "confidence_weighted_accuracy": ratio(
                get("confident_correct"), get("confidence"), undefined["confidence_weighted_accuracy"]
            ),
            "ece": ratio(corr_minus_conf, questions, undefined["ece"]),
            "brier": ratio(get("squared_error"), questions, undefined["brier"]),
            "citation": ratio(get("citation_sum"), get("citation_defined"), undefined["citation"]),
            "transfer_gap": np.abs(real_acc - synthetic_acc),
            "mean_confidence": ratio(get("confidence"), questions, undefined["mean_confidence"]),
            "coverage": ratio(get("answered"), questions, undefined["coverage"]),
        }

    point = headline(totals)
    boot_values = headline(resampled) if boot.enabled else {}
    metrics = {name: _scalar(point[name]) for name in HEADLINE_METRICS}
    n = {
        "accuracy": int(totals[col["questions"]]),
        "pass_rate": int(totals[col["units"]]),
        "cars": int(totals[col["trap_questions"]]),
        "trap_evasion": int(totals[col["trap_defined"]]),
        "confidence_weighted_accuracy": int(totals[col["questions"]]),
        "ece": int(totals[col["questions"]]),
        "brier": int(totals[col["questions"]]),
        "citation": int(totals[col["citation_defined"]]),
        "transfer_gap": int(min(totals[col["real_questions"]], totals[col["synthetic_questions"]])),
        "mean_confidence": int(totals[col["questions"]]),
        "coverage": int(totals[col["questions"]]),
    }
    ci95 = _intervals(metrics, boot_values)
    breakdowns = _breakdowns(breakdown_groups, totals, resampled, col, boot.enabled, undefined["trap_evasion"])
    reliability = [
        {
            "bin": b,
            "lower": b / ECE_BINS,
            "upper": (b + 1) / ECE_BINS,
            "count": int(totals[col[f"bin{b}_count"]]),
            "mean_confidence": _scalar(ratio(totals[col[f"bin{b}_confidence"]], totals[col[f"bin{b}_count"]])),
            "accuracy": _scalar(ratio(totals[col[f"bin{b}_correct"]], totals[col[f"bin{b}_count"]])),
        }
        for b in range(ECE_BINS)
    ]
    return (
        metrics,
        n,
        ci95,
        breakdowns,
        {"bins": reliability, "unbinned": int(n["ece"] - sum(r["count"] for r in reliability))},
    )


def _scalar(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _intervals(metrics: dict[str, float | None], boot_values: dict[str, np.ndarray]) -> dict[str, list[float]]:
    out = {}
    for name, value in metrics.items():
        if value is None or name not in boot_values:
            continue
        bounds = interval(boot_values[name])
        if bounds is not None:
            out[name] = bounds
    return out


def _factorize(labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Integer codes of `labels` and the distinct labels, in order of first appearance."""
    index: dict[str, int] = {}
    codes = [index.setdefault(label, len(index)) for label in labels]
    return np.asarray(codes, dtype=np.int64), list(index)


def _add_breakdown_columns(matrix: _Matrix, rows: RowArrays) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    passed = matrix.columns[matrix.names["passed"]]
    trap_defined = np.isfinite(rows.trap_state)
    for dimension in BREAKDOWN_DIMENSIONS:
        codes, found = rows.codes(dimension)
        values = sorted(found, key=_sort_key(dimension))
        groups[dimension] = values
        names = [f"{dimension}={value}" for value in found]
        size = len(found)
        matrix.add_block(
            [f"{n}:questions" for n in names], rows.per_unit_group(codes, size, np.ones_like(rows.correct))
        )
        matrix.add_block([f"{n}:correct" for n in names], rows.per_unit_group(codes, size, rows.correct))
        matrix.add_block([f"{n}:confidence" for n in names], rows.per_unit_group(codes, size, rows.confidence))
        if dimension in CHALLENGE_LEVEL_DIMENSIONS:
            unit_codes, _ = _factorize([getattr(c, dimension) for c in rows.challenges])
            in_unit = np.zeros((matrix.n_units, size))
            in_unit[np.arange(matrix.n_units), unit_codes] = 1.0
            matrix.add_block([f"{n}:units" for n in names], in_unit)
            matrix.add_block([f"{n}:passed" for n in names], in_unit * passed[:, None])
        if dimension == "split":
            matrix.add_block(
                [f"{n}:trap_defined" for n in names], rows.per_unit_group(codes, size, trap_defined * 1.0)
            )
            matrix.add_block(
                [f"{n}:trap_evaded" for n in names],
                rows.per_unit_group(codes, size, np.where(trap_defined, rows.trap_state, 0.0)),
            )
    return groups


def _sort_key(dimension: str):
    if dimension == "answer_format":
        return lambda v: (ANSWER_FORMATS.index(v) if v in ANSWER_FORMATS else len(ANSWER_FORMATS), v)
    if dimension == "difficulty":
        order = ("easy", "medium", "hard")
        return lambda v: (order.index(v) if v in order else len(order), v)
    if dimension == "hops":
        return lambda v: (int(v.rstrip("+")) if v.rstrip("+").isdigit() else 99, v)
    return lambda v: v


def _breakdowns(
    groups, totals, resampled, col, enabled: bool, trap_evasion_undefined: float
) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for dimension, values in groups.items():
        out[dimension] = {}
        for value in values:
            prefix = f"{dimension}={value}"

            def compute(t: np.ndarray, prefix: str = prefix) -> dict[str, np.ndarray]:
                get = lambda suffix: t[..., col[f"{prefix}:{suffix}"]]  # noqa: E731
                result = {
                    "accuracy": ratio(get("correct"), get("questions")),
                    "mean_confidence": ratio(get("confidence"), get("questions")),
                }
                if f"{prefix}:units" in col:
                    result["pass_rate"] = ratio(get("passed"), get("units"))
                if f"{prefix}:trap_defined" in col:
                    result["trap_evasion"] = ratio(get("trap_evaded"), get("trap_defined"), trap_evasion_undefined)
                return result

            point = compute(totals)
            metrics = {name: _scalar(v) for name, v in point.items()}
            n = {"questions": int(totals[col[f"{prefix}:questions"]])}
            n["accuracy"] = n["mean_confidence"] = n["questions"]
            if f"{prefix}:units" in col:
                n["pass_rate"] = int(totals[col[f"{prefix}:units"]])
            if f"{prefix}:trap_defined" in col:
                n["trap_evasion"] = int(totals[col[f"{prefix}:trap_defined"]])
            out[dimension][str(value)] = {
                "metrics": metrics,
                "n": n,
                "ci95": _intervals(metrics, compute(resampled) if enabled else {}),
            }
    return out
