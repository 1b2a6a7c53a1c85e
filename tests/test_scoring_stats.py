"""Bootstrap intervals: seeded, paired across metrics, NaN-aware."""

from __future__ import annotations

import numpy as np
import pytest

from crosstrace.scoring.stats import Bootstrap, interval, mean_and_interval, ratio
from crosstrace.scoring.types import TaskScore


def test_resamples_are_seeded_and_keep_the_unit_count():
    per_unit = np.arange(20, dtype=float)[:, None]
    a = Bootstrap(20, 50, seed=3).resampled_sums(np.ones((20, 1)))
    assert np.all(a == 20)  # each resample draws 20 units
    assert np.array_equal(
        Bootstrap(20, 50, seed=3).resampled_sums(per_unit), Bootstrap(20, 50, seed=3).resampled_sums(per_unit)
    )
    assert not np.array_equal(
        Bootstrap(20, 50, seed=3).resampled_sums(per_unit), Bootstrap(20, 50, seed=4).resampled_sums(per_unit)
    )


def test_resampled_sums_count_the_seeded_draws_whatever_the_blas_threads():
    from threadpoolctl import threadpool_limits

    from crosstrace.scoring import stats

    n = 300
    per_unit = np.random.default_rng(1).random((n, 3))
    boot = Bootstrap(n, 2 * stats._CHUNK + 100, seed=5)  # three chunks of draws
    sums = boot.resampled_sums(per_unit)
    # The same draws, summed the slow way: unit indices drawn chunk by chunk, as int32.
    rng = np.random.default_rng(5)
    expected = []
    for size in (stats._CHUNK, stats._CHUNK, 100):
        expected += [per_unit[draws].sum(axis=0) for draws in rng.integers(0, n, size=(size, n), dtype=np.int32)]
    assert np.allclose(sums, expected, rtol=1e-5)  # float32 products
    with threadpool_limits(limits=2, user_api="blas"):  # the product runs on one thread regardless
        assert np.array_equal(boot.resampled_sums(per_unit), sums)


def test_interval_of_a_known_mean():
    rng = np.random.default_rng(0)
    values = rng.binomial(1, 0.3, size=2000).astype(float)
    mean, (low, high) = mean_and_interval(values, 1000, seed=0)
    # Normal approximation: half-width 1.96 * sqrt(p(1-p)/n) ~ 0.020.
    assert low < mean < high
    assert (high - low) / 2 == pytest.approx(1.96 * np.sqrt(mean * (1 - mean) / 2000), rel=0.15)


def test_undefined_values_are_left_out():
    assert mean_and_interval([np.nan, np.nan]) == (None, None)
    mean, bounds = mean_and_interval([1.0, np.nan, 0.0, np.nan], 200)
    assert mean == 0.5 and 0.0 <= bounds[0] <= bounds[1] <= 1.0
    assert interval(np.array([np.nan, np.nan])) is None
    assert ratio(np.array([1.0, 2.0]), np.array([0.0, 4.0]), empty=7.0).tolist() == [7.0, 0.5]


def test_no_resamples_means_no_interval():
    assert mean_and_interval([1.0, 0.0], 0) == (0.5, None)
    assert Bootstrap(0, 100).resampled_sums(np.zeros((0, 2))).shape == (0, 2)


def test_task_score_to_dict_is_strict_json():
    import json

    score = TaskScore(
        task="t",
        scoring={},
        metrics={"a": float("nan"), "b": np.float32(0.5)},
        n={"a": np.int64(3)},
        breakdowns={"x": {1: {"metrics": {"a": np.inf}}}},
    )
    data = score.to_dict()
    assert data["metrics"] == {"a": None, "b": 0.5} and data["n"] == {"a": 3}
    assert data["breakdowns"]["x"]["1"]["metrics"]["a"] is None
    json.dumps(data, allow_nan=False)
    assert "samples" not in score.to_dict(include_samples=False)
