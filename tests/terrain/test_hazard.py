"""Terrain hazard at touchdown: closed forms on flat and tilted ground, the Marcum integral against scipy,
the per-point tilt against the engine's own functions, the bin integral against sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from terrain_helpers import small_terrain

from riskengine.terrain import ElevationModel, Grid, site_elevation
from riskengine.terrain._grid import make_grid
from riskengine.terrain.hazard import (
    Lander,
    Roughness,
    exceedance,
    hazard_map,
    hazardous,
    site_hazard_map,
    sub_per_axis,
    subgrid_gradient_sigma,
    touchdown_tilt_deg,
)

M1 = Lander(footprint_radius_m=1.3, cg_height_m=1.0, max_slope_deg=12.0)
NO_ROCKS = np.zeros(64)
ROUGH = Roughness(rms_slope_deg=6.0, baseline_m=25.0, hurst_exponent=0.8)
SMOOTH = Roughness(rms_slope_deg=0.0, baseline_m=25.0, hurst_exponent=0.8)


def plane(slope_x: float = 0.0, slope_y: float = 0.0) -> ElevationModel:
    """Two levels (40 m cells over +-2 km, 5 m cells over +-200 m) of the plane z = sx x + sy y."""

    def level(step: float, half: float) -> Grid:
        x = np.arange(-half, half + step / 2, step)
        return make_grid(-half, -half, step, slope_x * x[:, None] + slope_y * x[None, :])

    return ElevationModel((level(40.0, 2000.0), level(5.0, 200.0)))


def edges(half: float, n: int) -> np.ndarray:
    return np.linspace(-half, half, n + 1)


def sigma(r: Roughness, cell: float, lander: Lander = M1) -> float:
    """The brief's closed form of the sub-grid std, written out again (not the module's function)."""

    def s(b: float) -> float:
        return math.tan(math.radians(r.rms_slope_deg)) * (b / r.baseline_m) ** (r.hurst_exponent - 1)

    return math.sqrt(max(s(2 * lander.footprint_radius_m) ** 2 - s(cell) ** 2, 0.0))


# ---------------------------------------------------------------------- closed forms
def test_marcum_integral_matches_scipy_noncentral_chi2() -> None:
    a = np.array([0.0, 0.3, 1.0, 2.5, 4.0, 7.0, 15.0, 40.0, 300.0])
    for b in (0.05, 0.7, 1.0, 2.0, 3.9, 8.0, 40.0, 301.0):
        np.testing.assert_allclose(exceedance(a, b), stats.ncx2.sf(b * b, 2, a * a), atol=1e-9)
    np.testing.assert_allclose(exceedance(np.array([0.0]), 1.7), math.exp(-(1.7**2) / 2), rtol=1e-12)


def test_flat_ground_with_a_generous_limit_is_safe() -> None:
    easy = Lander(footprint_radius_m=2.0, cg_height_m=0.5, max_slope_deg=60.0)  # static tip at 76 deg
    h = hazard_map(plane(), ROUGH, easy, NO_ROCKS, edges(1000.0, 10), edges(1000.0, 10))
    assert h.shape == (10, 10) and np.all(h < 1e-12)


def test_flat_ground_sub_grid_roughness_alone_is_rayleigh_per_level() -> None:
    # Grid flat: |g| = s |z|, Rayleigh; P(atan(s |z|) > t) = exp(-tan^2 t / (2 s^2)). The bins inside the
    # 5 m level lack less roughness at the 2.6 m span than those on the 40 m level only.
    ex, ey = edges(1000.0, 5), edges(1000.0, 5)  # 400 m bins: the centre one is the 5 m level's
    h = hazard_map(plane(), ROUGH, M1, NO_ROCKS, ex, ey)
    t = math.tan(math.radians(M1.max_slope_deg))  # below the 52.4 deg static tip
    fine, coarse = sigma(ROUGH, 5.0), sigma(ROUGH, 40.0)
    assert 0.0 < fine < coarse
    expect = np.full((5, 5), math.exp(-(t**2) / (2 * coarse**2)))
    expect[2, 2] = math.exp(-(t**2) / (2 * fine**2))
    np.testing.assert_allclose(h, expect, rtol=1e-6, atol=1e-12)
    assert expect[2, 2] < 0.05 < expect[0, 0]  # the check can tell the levels apart


def test_sub_grid_sigma_matches_the_closed_form_and_vanishes_on_coarse_cells() -> None:
    for cell in (0.5, 2.0, 5.0, 25.0, 400.0):
        assert float(subgrid_gradient_sigma(ROUGH, cell, 2.6)) == pytest.approx(sigma(ROUGH, cell))
    assert float(subgrid_gradient_sigma(ROUGH, 5.0, 2.6)) > 0.0
    assert float(subgrid_gradient_sigma(ROUGH, 2.6, 2.6)) == 0.0
    assert float(subgrid_gradient_sigma(ROUGH, 1.0, 2.6)) == 0.0  # cells finer than the span


@pytest.mark.parametrize("rough", [SMOOTH, ROUGH])
def test_a_plane_steeper_than_the_limit_is_hazardous_everywhere(rough: Roughness) -> None:
    steep = math.tan(math.radians(30.0))  # 30 deg against a 12 deg limit, tilted towards a corner
    ex = edges(1000.0, 5)
    h = hazard_map(plane(0.6 * steep, 0.8 * steep), rough, M1, NO_ROCKS, ex, ex)
    if rough is SMOOTH:
        np.testing.assert_array_equal(h, 1.0)
    else:  # P(|g0 + s z| > t): the non-central chi (2 dof), scipy's ncx2 on the squares
        t = math.tan(math.radians(M1.max_slope_deg))
        expect = np.full(
            (5, 5), stats.ncx2.sf((t / sigma(rough, 40.0)) ** 2, 2, (steep / sigma(rough, 40.0)) ** 2)
        )
        expect[2, 2] = stats.ncx2.sf((t / sigma(rough, 5.0)) ** 2, 2, (steep / sigma(rough, 5.0)) ** 2)
        np.testing.assert_allclose(h, expect, atol=2e-6)  # float32 heights, the tabulated |g0|
        assert np.all(h > 0.98) and np.all(h < 1.0)
    gentle = math.tan(math.radians(8.0))
    h = hazard_map(plane(gentle, 0.0), SMOOTH, M1, NO_ROCKS, ex, ex)
    np.testing.assert_array_equal(h, 0.0)


def test_rocks_add_their_tilt_and_the_static_tip_counts_too() -> None:
    # No roughness: the hazard is the share of the rock table whose tilt, added to the slope, passes a limit.
    b = M1.footprint_radius_m
    rocks = np.zeros(64)
    rocks[:8] = 2 * b * math.tan(math.radians(13.0))  # alone beyond 12 deg
    rocks[8:24] = 2 * b * math.tan(math.radians(5.0))  # beyond only on a slope steeper than 7 deg
    flat = hazard_map(plane(), SMOOTH, M1, rocks, edges(500, 2), edges(500, 2))
    np.testing.assert_allclose(flat, 8 / 64)
    eight = hazard_map(plane(math.tan(math.radians(8.0))), SMOOTH, M1, rocks, edges(500, 2), edges(500, 2))
    # (the footpad-span differences of the bins at the plane model's clamped edge see a little less slope)
    np.testing.assert_allclose(eight, 24 / 64, atol=0.01)
    # A vehicle whose static tip (atan2(1, 2) = 26.6 deg) is below its "operational" limit tips first.
    tall = Lander(footprint_radius_m=1.0, cg_height_m=2.0, max_slope_deg=40.0)
    thirty = hazard_map(
        plane(math.tan(math.radians(30.0))), SMOOTH, tall, NO_ROCKS, edges(500, 2), edges(500, 2)
    )
    np.testing.assert_array_equal(thirty, 1.0)
    assert hazardous(tall, [tall.static_tip_deg]).all() and not hazardous(tall, [26.0]).any()
    assert not hazardous(M1, [12.0]).any() and hazardous(M1, [12.0001]).all()


# ---------------------------------------------------------------------- the engine's model, point by point
def test_per_point_tilt_is_the_engines() -> None:
    import jax.numpy as jnp

    from riskengine.config.scenario import ScenarioSpec, resolved_values
    from riskengine.config.site_terrain import terrain_params
    from riskengine.core import VehicleParams, touchdown
    from riskengine.core import elevation as core_elevation
    from riskengine.core import terrain as core_terrain
    from riskengine.core.outcomes import TouchdownMode

    spec = small_terrain(roughness_rms_slope_deg=4.0)
    model = site_elevation(spec, onboard=False)
    tp = terrain_params(spec, 0.3)
    values = resolved_values(ScenarioSpec(), "mare_frigoris")
    veh = VehicleParams(
        **{n: jnp.asarray(values[f"vehicle.{n}"], jnp.float32) for n in VehicleParams.__dataclass_fields__}
    )
    lander = Lander(float(veh.footprint_radius_m), float(veh.cg_height_m), float(veh.max_slope_deg))
    rough = Roughness(spec.roughness_rms_slope_deg, spec.roughness_baseline_m, spec.hurst_exponent)
    rng = np.random.default_rng(3)
    n = 400
    # Points on every level, on level edges, and beyond the coarsest level (clamped there).
    x = np.concatenate([rng.uniform(-1200, 1200, n), rng.uniform(-6e3, 3e3, n), [-1000.0, 1000.0, -7e4, 2e4]])
    y = np.concatenate([rng.uniform(-1200, 1200, n), rng.uniform(-3e3, 3e3, n), [1000.0, -1000.0, 3e3, -2e4]])
    z = rng.standard_normal((x.size, 2))
    rock = rng.choice(np.asarray(tp.rock_height_quantiles_m, np.float64), x.size) + rng.uniform(
        0, 0.4, x.size
    )

    span = 2.0 * veh.footprint_radius_m
    s, c = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    import jax

    half = veh.footprint_radius_m
    grad = jax.vmap(lambda a, b: core_terrain.footprint_gradient(tp, a, b, half))(s, c)  # (N, 2)
    cell = core_elevation.cell_size(tp.truth, s, c)
    sub = core_terrain.subgrid_gradient_sigma(tp, cell, span)
    gradient = grad + sub[:, None] * jnp.asarray(z, jnp.float32)
    rock_tilt = jnp.rad2deg(jnp.arctan(jnp.asarray(rock, jnp.float32) / span))
    engine = np.asarray(touchdown.tilt_deg(gradient, rock_tilt), np.float64)

    mine = touchdown_tilt_deg(model, rough, lander, x, y, z, rock)
    # The engine differences float32 heights over the 2.6 m span (a last-bit height error of ~3e-5 m at
    # hundreds of metres is ~1e-3 deg of slope); this is float64.
    np.testing.assert_allclose(mine, engine, rtol=0, atol=5e-3)
    assert np.ptp(engine) > 5.0  # a test over varied tilts, not one value

    # Classification: at rest with no speed, the engine's tilt modes are exactly ours.
    zero = jnp.zeros(x.size, jnp.float32)
    _, mode = touchdown.classify(
        veh, jnp.ones(x.size, bool), jnp.zeros(x.size, bool), zero, jnp.zeros((x.size, 2)), gradient,
        rock_tilt, jnp.float32(1.62),
    )  # fmt: skip
    modes = (TouchdownMode.TIPPED_STATIC, TouchdownMode.AT_REST_BEYOND_OPERATIONAL_TILT)
    theirs = np.isin(np.asarray(mode), [int(m) for m in modes])
    clear = np.abs(engine - lander.max_slope_deg) > 1e-3
    np.testing.assert_array_equal(hazardous(lander, mine)[clear], theirs[clear])
    assert 0 < theirs.sum() < x.size


def test_bin_integral_matches_sampling_the_per_point_model() -> None:
    # The analytic z integral, the rock mean and the sub-point rule against plain Monte Carlo of the tilt.
    spec = small_terrain(roughness_rms_slope_deg=3.0)
    model = site_elevation(spec, onboard=False)
    rough = Roughness(spec.roughness_rms_slope_deg, spec.roughness_baseline_m, spec.hurst_exponent)
    rocks = np.zeros(64)
    rocks[:6] = 0.25
    ex, ey = np.array([-900.0, -700.0, 880.0, 1080.0]), np.array([-100.0, 100.0])  # 5 m, 25 m, both
    lander = Lander(1.3, 1.0, 8.0)
    h = hazard_map(model, rough, lander, rocks, ex, ey, n_sub=80)
    rng = np.random.default_rng(11)
    n = 60_000
    for i in (0, 2):  # the 200 m bins; [-700, 880) is just a wide bin between them
        x = rng.uniform(ex[i], ex[i + 1], n)
        y = rng.uniform(ey[0], ey[1], n)
        tilt = touchdown_tilt_deg(
            model, rough, lander, x, y, rng.standard_normal((n, 2)), rng.choice(rocks, n)
        )
        p = hazardous(lander, tilt).mean()
        assert h[i, 0] == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n) + 2e-3), i
        assert 0.02 < p < 0.98


def test_site_map_is_deterministic_and_sub_points_follow_the_finest_cells() -> None:
    spec = small_terrain()
    ex, ey = edges(1000.0, 20), edges(500.0, 10)
    a = site_hazard_map(spec, M1, 0.3, ex, ey)
    b = site_hazard_map(spec, M1, 0.3, ex, ey)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (20, 10) and np.all((a >= 0) & (a <= 1)) and np.ptp(a) > 0
    model = site_elevation(spec, onboard=False)
    assert sub_per_axis(model, ex, ey) == 40  # 100 m bins, 5 m cells: two points per cell
    assert sub_per_axis(model, edges(200e3, 400), edges(200e3, 400)) == 10  # the point budget
