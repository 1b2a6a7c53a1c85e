"""Bootstrap 95% confidence intervals, seeded and vectorised.

Every interval in a `TaskScore` is a percentile bootstrap over *units*: challenges for DACR
(its ten questions share one document, so they are not independent and resampling questions
would give intervals that are too narrow), samples for hypothesis generation and MCQ.

A resample is a vector of multiplicities over the units (how many times each unit is drawn),
so any metric that is a ratio of sums over units is computed for all resamples at once as
`weights @ per_unit_sums`: one matrix product instead of a Python loop. Resamples in which a
metric is undefined (e.g. no trap question drawn) give NaN and are left out of its percentiles.

    boot = Bootstrap(n_units=27, n_resamples=1000, seed=0)
    sums = boot.resampled_sums(per_unit)          # (1000, k) column sums per resample
    interval(ratio(sums[:, 0], sums[:, 1]))       # [low, high]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

DEFAULT_RESAMPLES = 1000
# Resamples are generated this many at a time, so memory stays at chunk x units.
_CHUNK = 250
# Resamples whose multiplicities are counted together (the temporaries then stay in cache).
_COUNT_ROWS = 25


class Bootstrap:
    """Seeded resampling with replacement of `n_units` units, `n_resamples` times."""

    def __init__(self, n_units: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0):
        if n_resamples < 0:
            raise ValueError(f"n_resamples must be >= 0, got {n_resamples}")
        self.n_units = n_units
        self.n_resamples = n_resamples if n_units > 0 else 0
        self.seed = seed

    @property
    def enabled(self) -> bool:
        return self.n_resamples > 0

    def _weight_chunks(self):
        rng = np.random.default_rng(self.seed)
        n = self.n_units
        done = 0
        while done < self.n_resamples:
            size = min(_CHUNK, self.n_resamples - done)
            # int32 draws are an order of magnitude faster to generate than the default int64.
            # One call per chunk: the draws (hence the intervals) depend on how they are requested.
            draws = rng.integers(0, n, size=(size, n), dtype=np.int32)
            counts = np.empty((size, n), dtype=np.float32)
            # A few resamples at a time, one bincount over their draws offset by row * n: about
            # a third faster than the whole chunk at once (measured), and the same counts.
            for start in range(0, size, _COUNT_ROWS):
                block = draws[start : start + _COUNT_ROWS].astype(np.int64)
                rows = block.shape[0]
                block += (np.arange(rows, dtype=np.int64) * n)[:, None]
                counts[start : start + rows] = np.bincount(block.ravel(), minlength=rows * n).reshape(rows, n)
            yield counts
            done += size

    def resampled_sums(self, per_unit: np.ndarray) -> np.ndarray:
        """(n_resamples, k) sums of the columns of `per_unit` (n_units, k) in each resample.

        The same seed gives the same resamples for every call, so metrics computed from
        separate calls are paired (e.g. a difference of two metrics is resampled consistently).
        """
        per_unit = np.asarray(per_unit, dtype=np.float64)
        if per_unit.ndim == 1:
            per_unit = per_unit[:, None]
        if per_unit.shape[0] != self.n_units:
            raise ValueError(f"expected {self.n_units} rows (one per unit), got {per_unit.shape[0]}")
        if not self.enabled:
            return np.zeros((0, per_unit.shape[1]))
        # float32 halves the matrix product's cost; counts stay exact below 2**24 and the
        # relative error of sums (~1e-7) is far below what a 95% interval can show.
        as32 = per_unit.astype(np.float32)
        # One BLAS thread: these products are small (1000 x 10,000 x 200 for 100,000 DACR
        # answers), BLAS worker threads spin while they wait for a core, and on a busy 2-core
        # machine two threads cost 2-6x the CPU time of one (0.25-0.6 s against 0.08 s,
        # measured). A threaded product's summation order also depends on the thread count,
        # so with one thread the intervals no longer depend on how many cores there are.
        with threadpool_limits(limits=1, user_api="blas"):
            return np.concatenate([weights @ as32 for weights in self._weight_chunks()], axis=0).astype(np.float64)


def ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """Element-wise numerator / denominator, `empty` where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, empty, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def interval(estimates: np.ndarray, level: float = 0.95) -> list[float] | None:
    """Percentile interval of bootstrap estimates; None when no resample defines the metric."""
    estimates = np.asarray(estimates, dtype=np.float64)
    estimates = estimates[np.isfinite(estimates)]
    if estimates.size == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(estimates, [tail, 100.0 - tail])
    return [float(low), float(high)]


def mean_and_interval(
    values: Sequence[float], n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> tuple[float | None, list[float] | None]:
    """Mean of independent per-sample values (NaN = undefined, left out) and its bootstrap interval."""
    values = np.asarray(values, dtype=np.float64)
    defined = np.isfinite(values)
    if not defined.any():
        return None, None
    per_unit = np.stack([np.where(defined, values, 0.0), defined.astype(np.float64)], axis=1)
    boot = Bootstrap(len(values), n_resamples, seed)
    sums = boot.resampled_sums(per_unit)
    return float(values[defined].mean()), (interval(ratio(sums[:, 0], sums[:, 1])) if boot.enabled else None)
