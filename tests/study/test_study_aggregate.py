"""Mergeable aggregates: exact merging, Wilson intervals, histogram quantiles, stopping checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from riskengine.study.aggregate import (
    histogram,
    histogram_edges,
    quantiles_from_hist,
    stop_point,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("k", "n"), [(0, 10), (1, 10), (5, 10), (10, 10), (37, 200), (999, 1000), (500, 1000)]
)
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson_interval(k, n)
    assert float(lo) == pytest.approx(ci.low, abs=1e-12)
    assert float(hi) == pytest.approx(ci.high, abs=1e-12)


def test_wilson_empty_cell_is_nan() -> None:
    lo, hi = wilson_interval(0, 0)
    assert np.isnan(lo) and np.isnan(hi)


def test_histogram_counts_everything_but_nan() -> None:
    v = np.array([-1.0, 0.0, 1e-5, 0.5, 1e7, np.inf, np.nan])
    h = histogram(v)
    assert h.sum() == 6
    assert h[0] == 1  # negative
    assert h[-1] == 2  # beyond 1e6


def test_histograms_merge_exactly() -> None:
    rng = np.random.default_rng(0)
    v = rng.exponential(3.0, 1000)
    assert np.array_equal(histogram(v), histogram(v[:333]) + histogram(v[333:]))


@pytest.mark.parametrize("dist", ["uniform", "lognormal", "exponential"])
def test_quantiles_within_bin_resolution(dist: str) -> None:
    rng = np.random.default_rng(1)
    v = {
        "uniform": rng.uniform(0, 3, 20000),
        "lognormal": rng.lognormal(3, 1, 20000),
        "exponential": rng.exponential(0.5, 20000),
    }[dist]
    levels = [0.05, 0.5, 0.95]
    got = quantiles_from_hist(histogram(v), levels)
    want = np.quantile(v, levels)
    ratio = histogram_edges()[3] / histogram_edges()[2]
    np.testing.assert_allclose(got, want, rtol=ratio - 1)


def test_quantiles_of_nothing_are_nan() -> None:
    assert np.isnan(quantiles_from_hist(histogram(np.array([np.nan])), [0.5])).all()


def test_stop_point_only_at_checkpoints() -> None:
    success = np.ones(250, bool)
    # All successes: Wilson width at n=100 is ~0.037, at 200 ~0.019.
    assert stop_point(success, 0, 0, 0.03, 100) == 200
    assert stop_point(success, 0, 0, 0.05, 100) == 100
    assert stop_point(success, 0, 0, 0.001, 100) is None
    # A piece starting mid-cell uses the prior counts and absolute checkpoints.
    assert stop_point(success[:150], 50, 50, 0.03, 100) == 200
    assert stop_point(success[:40], 50, 50, 0.03, 100) is None  # no checkpoint inside [50, 90)
