"""The order fit, on exact power laws and on the core's RK4."""

from __future__ import annotations

import numpy as np
import pytest

from riskengine.validation.convergence import fit_order, rk4_order


def test_fit_order_recovers_exact_power_laws():
    dts = [0.8, 0.4, 0.2, 0.1]
    for order in (1.0, 2.0, 4.0):
        slope, pairwise = fit_order(dts, [3.0 * dt**order for dt in dts])
        assert slope == pytest.approx(order, abs=1e-9)
        assert pairwise == pytest.approx([order] * 3, abs=1e-9)
    with pytest.raises(ValueError):
        fit_order([0.1, 0.05], [1e-3, 0.0])


def test_rk4_shows_fourth_order_on_the_fixed_thrust_burn():
    rk4 = rk4_order([32.0, 16.0, 8.0, 4.0])
    assert rk4.fitted_order == pytest.approx(4.0, abs=0.2)
    assert np.all(np.diff(rk4.position_error_m) < 0)


def test_fit_order_tells_a_first_order_method_from_rk4():
    # Euler's global error on y' = -y over [0, 1]: |exp(-1) - (1 - dt)^(1/dt)|, first order.
    dts = [0.1, 0.05, 0.025, 0.0125]
    errors = [abs(np.exp(-1.0) - (1.0 - dt) ** round(1 / dt)) for dt in dts]
    slope, _ = fit_order(dts, errors)
    assert slope == pytest.approx(1.0, abs=0.1)
