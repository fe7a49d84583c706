"""The report's statistics against hand values and scipy (a dev dependency; the runtime code has none)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskengine.validation import stats

scipy_stats = pytest.importorskip("scipy.stats")
scipy_special = pytest.importorskip("scipy.special")


def test_mcnemar_on_a_hand_made_table():
    # 10 pairs: 5 both succeed, 3 succeed only in A (b), 1 only in B (c), 1 both fail.
    a = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], bool)
    b = np.array([1, 1, 1, 1, 1, 0, 0, 0, 1, 0], bool)
    m = stats.mcnemar(a, b)
    assert (m.b, m.c) == (3, 1)
    assert m.z == pytest.approx((1 - 3) / math.sqrt(4))  # -1.0
    assert m.p_exact == pytest.approx(0.625)  # 2 * P(Bin(4, 1/2) <= 1) = 2 * 5/16
    assert stats.mcnemar_z(0, 0) == 0.0
    assert stats.mcnemar_z(0, 9) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        stats.mcnemar(a, b[:5])


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (0, 5, 0.5),
        (3, 10, 0.5),
        (7, 10, 0.5),
        (40, 100, 0.5),
        (50, 100, 0.5),
        (1, 30, 0.5),
        (12, 2000, 0.5),
        (3, 10, 0.3),
        (40, 100, 0.3),
        (600, 1000, 0.62),
        (0, 0, 0.5),
    ],
)
def test_exact_binomial_p_value_matches_scipy(k, n, p):
    expected = 1.0 if n == 0 else scipy_stats.binomtest(k, n, p).pvalue
    assert stats.binomial_test_two_sided(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_wilson_interval_against_a_hand_value():
    # 8 of 10, z = 1.96: centre (0.8 + 0.19208) / 1.38416 = 0.71679, half 0.22653 (worked by hand).
    lo, hi = stats.wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)
    lo, hi = stats.wilson_interval(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)


@pytest.mark.parametrize(
    ("k", "n"), [(1, 1), (5, 10), (496, 512), (507, 512), (1990, 2000), (2000, 2000), (10, 2000)]
)
def test_clopper_pearson_lower_bound_matches_scipy_beta_ppf(k, n):
    assert stats.clopper_pearson_lower(k, n) == pytest.approx(
        scipy_stats.beta.ppf(0.05, k, n - k + 1), rel=1e-9
    )


def test_clopper_pearson_edges_and_misuse():
    assert stats.clopper_pearson_lower(0, 10) == 0.0
    # All 299 of 299: the "rule of three" lower bound 1 - 3/n, exactly 0.05^(1/n).
    assert stats.clopper_pearson_lower(299, 299) == pytest.approx(0.05 ** (1 / 299), rel=1e-12)
    with pytest.raises(ValueError):
        stats.clopper_pearson_lower(3, 2)


@pytest.mark.parametrize(
    ("a", "b", "x"), [(0.5, 0.5, 0.3), (2.0, 3.0, 0.9), (500.0, 13.0, 0.97), (1.0, 1.0, 0.25)]
)
def test_regularized_incomplete_beta_matches_scipy(a, b, x):
    assert stats.betainc(a, b, x) == pytest.approx(scipy_special.betainc(a, b, x), rel=1e-10)


@pytest.mark.parametrize("dof", [10, 32, 64, 128, 1000, 12345])
@pytest.mark.parametrize("q", [0.025, 0.5, 0.975])
def test_wilson_hilferty_chi2_quantile_within_one_percent(dof, q):
    assert stats.chi2_ppf(q, dof) == pytest.approx(scipy_stats.chi2.ppf(q, dof), rel=0.01)


def test_chi2_band_for_a_mean():
    lo, hi = stats.chi2_mean_band(2, 64)
    assert lo == pytest.approx(scipy_stats.chi2.ppf(0.025, 128) / 64, rel=0.01)
    assert hi == pytest.approx(scipy_stats.chi2.ppf(0.975, 128) / 64, rel=0.01)
    assert lo < 2.0 < hi
