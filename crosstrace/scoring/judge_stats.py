"""How far the IAScore judge itself can be trusted: its spread over repeats, and two judges' agreement.

    judge_spread(results)              # with --judge_repeats N: how much the judge moves on the same pairs
    judge_agreement(first, second)     # with --judge_model a,b: how closely two judges agree, pair by pair

Both read `JudgeResult`s and return plain dicts for results.json `extra`, None when there is
nothing to compare (one repeat, or no pair both judges scored).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Two judges "agree" on a pair when their scores are at most one step of the judge's scale apart.
AGREEMENT_TOLERANCE = 0.25


def judge_spread(results: Sequence[Any]) -> dict[str, Any] | None:
    """The judge's own variability: IAScore recomputed from each repeat alone, and the per-pair spread."""
    repeats = max((len(r.repeat_scores) for r in results), default=0)
    if repeats < 2:
        return None
    table = np.array([[np.nan if s is None else s for s in r.repeat_scores] for r in results], dtype=float)
    repeat_means = [float(np.nanmean(column)) if np.isfinite(column).any() else None for column in table.T]
    # Pairs scored 0 without a request (no idea in the output) cannot vary: left out of the per-pair spread.
    judged = np.array([r.note is None for r in results], dtype=bool)
    complete = table[np.isfinite(table).all(axis=1) & judged]
    defined = [m for m in repeat_means if m is not None]
    return {
        "repeats": repeats,
        "repeat_means": repeat_means,
        # The spread a reader compares with the model's interval: how much IAScore moves when only the judge's seed does.
        "repeat_means_range": [min(defined), max(defined)] if defined else None,
        "repeat_means_sd": float(np.std(defined, ddof=1)) if len(defined) > 1 else None,
        "pair_sd_mean": float(complete.std(axis=1, ddof=1).mean()) if len(complete) else None,
        "pairs_with_every_repeat": len(complete),
    }


def judge_agreement(first: Sequence[Any], second: Sequence[Any]) -> dict[str, Any] | None:
    """Two judges on the same pairs: mean absolute difference, share within AGREEMENT_TOLERANCE, Pearson r."""
    pairs = np.array(
        [
            (a.score, b.score)
            for a, b in zip(first, second, strict=True)
            # Both judges scored it, and it was judged (an output with no idea is 0 for both, unasked).
            if a.score is not None and b.score is not None and a.note is None and b.note is None
        ],
        dtype=float,
    ).reshape(-1, 2)
    if not len(pairs):
        return None
    left, right = pairs[:, 0], pairs[:, 1]
    differences = np.abs(left - right)
    constant = left.std() == 0 or right.std() == 0
    return {
        "pairs": len(pairs),
        "first_mean": float(left.mean()),
        "second_mean": float(right.mean()),
        "mean_abs_difference": float(differences.mean()),
        "within_tolerance": float((differences <= AGREEMENT_TOLERANCE + 1e-12).mean()),
        "tolerance": AGREEMENT_TOLERANCE,
        # Undefined when a judge gave every pair the same score (no variation to correlate).
        "pearson_r": None if constant or len(pairs) < 2 else float(np.corrcoef(left, right)[0, 1]),
    }
