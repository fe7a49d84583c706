"""Halving the integration step does not move the answers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.config import ScenarioSpec, build_params, nominal_propellant_need_kg
from riskengine.core import Outcome, simulate_batch
from tests.core.test_invariants import DISPERSED


def _run(dt: float, n: int):
    scenario = ScenarioSpec(sim={"dt_s": dt, "max_time_s": 1800.0})
    params = build_params(scenario, "mare_frigoris", {"fuel_margin_pct": 10.0})
    return params, simulate_batch(params, DISPERSED, jax.random.key(11), jnp.arange(n, dtype=jnp.int32))


def test_nominal_propellant_need_converges():
    needs = [
        nominal_propellant_need_kg(ScenarioSpec(sim={"dt_s": dt, "max_time_s": 1800.0}), "mare_frigoris")
        for dt in (0.1, 0.05, 0.025)
    ]
    # Differences shrink as the step halves, and the 0.05 s answer is within 0.2 % of the 0.025 s one.
    assert abs(needs[1] - needs[2]) <= abs(needs[0] - needs[2]) + 1e-3
    assert abs(needs[1] - needs[2]) / needs[2] < 2e-3


def _assert_same_statistics(coarse, fine, n: int) -> None:
    landed_c = np.mean(np.asarray(coarse.outcome) == Outcome.LANDED)
    landed_f = np.mean(np.asarray(fine.outcome) == Outcome.LANDED)
    # Same dispersed parameters per sample (the dispersion draw does not depend on dt); per-step noise
    # differs, so allow the binomial spread of a difference of two proportions (~4 sigma).
    sigma = np.sqrt(2 * max(landed_c * (1 - landed_c), 0.02) / n)
    assert abs(landed_c - landed_f) < 4 * sigma + 1e-9
    prop_c = np.median(np.asarray(coarse.propellant_remaining_kg))
    prop_f = np.median(np.asarray(fine.propellant_remaining_kg))
    assert abs(prop_c - prop_f) < 1.0  # kg, of ~390 loaded
    vz_c = np.nanmedian(np.asarray(coarse.touchdown_vertical_speed_mps))
    vz_f = np.nanmedian(np.asarray(fine.touchdown_vertical_speed_mps))
    assert abs(vz_c - vz_f) < 0.05


def test_outcome_statistics_do_not_move_when_step_is_halved():
    n = 192
    _assert_same_statistics(_run(0.1, n)[1], _run(0.05, n)[1], n)
