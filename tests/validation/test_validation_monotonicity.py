"""The paired monotonicity check on synthetic paired tables."""

from __future__ import annotations

import numpy as np
import pytest

from riskengine.validation.monotonicity import (
    NON_DECREASING,
    NON_INCREASING,
    paired_monotonicity,
    worst_wrong_z,
)


def _paired(n: int, p_values: list[float], seed: int = 0) -> np.ndarray:
    """(cells, n) success, coupled through one uniform per sample: sample i succeeds where u_i < p."""
    u = np.random.default_rng(seed).random(n)
    return np.stack([u < p for p in p_values])


def test_wrong_direction_with_large_z_is_flagged():
    # P(success) rising with latency, 0.80 -> 0.90 on 1000 paired samples: c ~ 100, b = 0, z ~ 10.
    rows = paired_monotonicity([0.0, 20.0], _paired(1000, [0.80, 0.90]), NON_INCREASING)
    (row,) = rows
    assert row.b == 0 and row.c > 50
    assert row.wrong_direction and row.violation
    assert row.z > 3.0 and row.p_exact < 1e-10
    assert worst_wrong_z(rows) == pytest.approx(row.z)


def test_right_direction_passes():
    success = _paired(1000, [0.95, 0.90, 0.70])
    rows = paired_monotonicity([0.0, 20.0, 40.0], success, NON_INCREASING)
    assert not any(r.wrong_direction or r.violation for r in rows)
    assert all(r.z < -3.0 for r in rows)  # strongly in the expected direction
    assert worst_wrong_z(rows) == 0.0
    # The same table read as a fuel-margin axis (expected non-decreasing) is a violation.
    assert all(r.violation for r in paired_monotonicity([0.0, 5.0, 10.0], success, NON_DECREASING))


def test_small_wrong_direction_difference_is_not_a_violation():
    # Independent noise between the cells: a few discordant pairs each way, |z| well below 3.
    a = np.ones(200, bool)
    b = np.ones(200, bool)
    a[:3] = False  # A fails where B succeeds: c = 3
    b[3:5] = False  # B fails where A succeeds: b = 2
    (row,) = paired_monotonicity([5.0, 10.0], np.stack([a, b]), NON_INCREASING)
    assert (row.b, row.c) == (2, 3)
    assert row.wrong_direction and not row.violation
    assert row.z == pytest.approx(1 / np.sqrt(5))


def test_misuse_is_refused():
    with pytest.raises(ValueError):
        paired_monotonicity([0.0, 1.0, 2.0], _paired(10, [0.5, 0.5]), NON_INCREASING)
    with pytest.raises(ValueError):
        paired_monotonicity([0.0, 1.0], _paired(10, [0.5, 0.5]), 0)
