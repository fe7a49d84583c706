"""Hazard detection and avoidance: the candidate grid, the choice on ground of known slope, and a descent
that comes to rest beyond the operational tilt without it and lands with it."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.config import ScenarioSpec, build_params
from riskengine.core import Event, Outcome, TouchdownMode, elevation, hazard_avoidance, simulate
from riskengine.core.params import ElevationGrid, Params

STEP, HALF = 2.0, 300.0  # a 2 m grid over +-300 m around the point below


def _ground(height) -> Params:
    """Frigoris parameters with the true ground replaced by ``height(x, y)`` (site-frame metres)."""
    p = build_params(ScenarioSpec(), "mare_frigoris", {"fuel_margin_pct": 10.0})
    x = np.arange(-HALF, HALF + STEP / 2, STEP)
    z = height(x[:, None], x[None, :]).astype(np.float32)
    grid = ElevationGrid(
        origin_m=jnp.asarray([-HALF, -HALF], jnp.float32), step_m=jnp.float32(STEP), heights_m=jnp.asarray(z)
    )
    return p.replace(terrain=p.terrain.replace(truth=elevation.model_of((grid,))))


def _hazard(p: Params, **values: float) -> Params:
    h = p.hazard_detection.replace(**{k: jnp.float32(v) for k, v in values.items()})
    return p.replace(hazard_detection=h)


def _choose(p: Params, z: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    noise = jnp.zeros(hazard_avoidance.N_CANDIDATES) if z is None else jnp.asarray(z, jnp.float32)
    offset, tilt = hazard_avoidance.choose_spot(p, jnp.asarray([0.0, 0.0, 100.0], jnp.float32), noise)
    return np.asarray(offset), float(tilt)


def test_candidates_cover_the_divert_disk_nearest_first():
    d = np.asarray(hazard_avoidance.candidate_offsets(jnp.float32(100.0)))
    r = np.hypot(d[:, 0], d[:, 1])
    assert d.shape == (hazard_avoidance.N_CANDIDATES, 2) == (81, 2)
    assert r[0] == 0.0 and np.all(np.diff(r) >= 0.0) and r.max() <= 100.0 + 1e-4
    assert len({(round(a, 3), round(b, 3)) for a, b in d}) == 81  # no spot twice


def test_the_nearest_safe_spot_is_chosen_on_ground_of_known_slope():
    tan15 = math.tan(math.radians(15.0))
    # A 15 deg plane with one level terrace 40 m downrange (radius 12 m): every spot nearer is unsafe.
    terrace = lambda x, y: np.where(np.hypot(x - 40.0, y) <= 12.0, tan15 * 40.0, tan15 * x)  # noqa: E731
    p = _hazard(_ground(terrace), divert_radius_m=100.0, safe_slope_deg=8.0, slope_noise_deg=1.0)
    offset, tilt = _choose(p)
    np.testing.assert_allclose(offset, [40.0, 0.0], atol=1e-3)
    assert tilt < 0.5
    # The measured tilt is the footpad plane's: 15 deg on the plane, as the touchdown classification sees it.
    tilts = hazard_avoidance.measured_tilts_deg(
        p, jnp.float32(0.0), jnp.float32(0.0), hazard_avoidance.candidate_offsets(jnp.float32(100.0)), 0.0
    )
    assert abs(float(tilts[0]) - 15.0) < 0.01
    # A measurement error that makes the terrace look steep sends the lander to the next-best spot: none is
    # safe, so the least tilted as measured, which is still the terrace (measured 0 + 10 = 10 deg < 15).
    z = np.zeros(hazard_avoidance.N_CANDIDATES)
    z[int(np.argmin(np.hypot(*(np.asarray(hazard_avoidance.candidate_offsets(100.0)) - [40.0, 0.0]).T)))] = (
        10.0
    )
    offset, tilt = _choose(p, z)
    np.testing.assert_allclose(offset, [40.0, 0.0], atol=1e-3)
    assert abs(tilt - 10.0) < 0.5


def test_safe_ground_below_means_no_divert_and_no_safe_spot_means_the_least_tilted():
    flat = _hazard(_ground(lambda x, y: 0.0 * x + 0.0 * y), safe_slope_deg=8.0)
    offset, _ = _choose(flat)
    np.testing.assert_array_equal(offset, [0.0, 0.0])
    # Slope rising with x from 10 deg: nothing within 100 m is safe at 8 deg; the least tilted spot is the
    # farthest uphill-side spot at -100 m, where the gradient is smallest.
    g0, b = math.tan(math.radians(20.0)), 0.0005
    ramp = _hazard(
        _ground(lambda x, y: g0 * x + b * x * x + 0.0 * y), safe_slope_deg=8.0, divert_radius_m=100.0
    )
    offset, tilt = _choose(ramp)
    np.testing.assert_allclose(offset, [-100.0, 0.0], atol=1e-3)
    assert abs(tilt - math.degrees(math.atan(g0 - 2 * b * 100.0))) < 0.05


def test_a_descent_at_rest_beyond_the_tilt_limit_lands_with_hazard_detection():
    # Atlas Crater, smoke scenario defaults, key 3: without the scan it comes to rest on 15 deg ground 139 m
    # from the target; with a scan at 100 m it diverts 20 m and lands on ~5 deg, ~2 kg of propellant later.
    runs = {}
    for scan in (0.0, 100.0):
        p = build_params(
            ScenarioSpec(overrides={"hazard_detection.scan_height_m": scan}),
            "atlas_crater",
            {"fuel_margin_pct": 10.0},
        )
        runs[scan] = jax.device_get(jax.jit(simulate)(p, jax.random.key(3)))
    off, on = runs[0.0], runs[100.0]
    assert TouchdownMode(int(off.touchdown_mode)) is TouchdownMode.AT_REST_BEYOND_OPERATIONAL_TILT
    assert math.isnan(float(off.hazard_divert_m)) and np.isnan(off.events[Event.HAZARD_SCAN]).all()
    assert Outcome(int(on.outcome)) is Outcome.LANDED
    assert 0.0 < float(on.hazard_divert_m) <= 100.0
    assert float(on.slope_deg) <= 12.0 < float(off.slope_deg)
    scan = on.events[Event.HAZARD_SCAN]
    assert scan[2] <= 100.0 and scan[0] > on.events[Event.TERMINAL_DESCENT_START][0]
    # The divert costs hover propellant, and it comes out of the margin.
    assert 0.0 < float(off.propellant_remaining_kg) - float(on.propellant_remaining_kg) < 10.0
