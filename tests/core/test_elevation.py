"""Elevation lookups and ray casts against independent answers: SciPy's grid interpolator and closed-form
intersections of rays with a sphere (the reference surface), a step and a spherical-cap crater."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

from riskengine.config.models import AltimeterSpec
from riskengine.core import AltimeterParams, ElevationGrid, ElevationModel, elevation, sensors

R = 1737400.0


def _grid(s0: float, c0: float, step: float, heights: np.ndarray) -> ElevationGrid:
    return ElevationGrid(
        origin_m=jnp.asarray([s0, c0], jnp.float32),
        step_m=jnp.float32(step),
        heights_m=jnp.asarray(heights, jnp.float32),
    )


def _model(*grids: ElevationGrid) -> ElevationModel:
    return elevation.model_of(tuple(grids))


def _site_point(s: float, c: float, h: float) -> jnp.ndarray:
    """Site-frame position at track coordinates (s, c) and height h above the sphere."""
    a, b = s / R, c / R
    q = (R + h) * np.array([np.sin(a) * np.cos(b), np.sin(b), np.cos(a) * np.cos(b)])
    return jnp.asarray(q - np.array([0.0, 0.0, R]), jnp.float32)


def _direction(p: jnp.ndarray, off_vertical_deg: float, towards: np.ndarray) -> jnp.ndarray:
    """Unit ray from ``p``: ``off_vertical_deg`` from straight down, tilted towards unit ``towards``."""
    up = np.asarray(p, np.float64) + np.array([0.0, 0.0, R])
    up /= np.linalg.norm(up)
    t = towards - (towards @ up) * up
    t /= np.linalg.norm(t)
    a = np.deg2rad(off_vertical_deg)
    return jnp.asarray(-np.cos(a) * up + np.sin(a) * t, jnp.float32)


def test_bilinear_matches_scipy_on_a_random_grid():
    rng = np.random.default_rng(3)
    h = rng.normal(0.0, 50.0, (40, 30)).astype(np.float32)
    g = _grid(-1000.0, -700.0, 50.0, h)
    s = rng.uniform(-1000.0, -1000.0 + 39 * 50.0, 200)
    c = rng.uniform(-700.0, -700.0 + 29 * 50.0, 200)
    ref = RegularGridInterpolator((-1000.0 + 50.0 * np.arange(40), -700.0 + 50.0 * np.arange(30)), h)
    z, grad = jax.vmap(lambda a, b: elevation.lookup(_model(g), a, b))(jnp.asarray(s), jnp.asarray(c))
    np.testing.assert_allclose(np.asarray(z), ref(np.stack([s, c], axis=1)), atol=2e-3)
    eps = 1e-2
    ds = (ref(np.stack([s + eps, c], 1)) - ref(np.stack([s - eps, c], 1))) / (2 * eps)
    dc = (ref(np.stack([s, c + eps], 1)) - ref(np.stack([s, c - eps], 1))) / (2 * eps)
    np.testing.assert_allclose(np.asarray(grad), np.stack([ds, dc], 1), atol=2e-3)


def test_finest_level_that_contains_the_point_wins():
    coarse = _grid(-5000.0, -5000.0, 1000.0, np.zeros((11, 11)))
    fine = _grid(-100.0, -100.0, 10.0, np.full((21, 21), 7.0))
    model = _model(coarse, fine)
    assert float(elevation.lookup(model, jnp.float32(0.0), jnp.float32(0.0))[0]) == pytest.approx(7.0)
    assert float(elevation.lookup(model, jnp.float32(300.0), jnp.float32(0.0))[0]) == pytest.approx(0.0)


def _flat(extent: float = 60000.0, step: float = 500.0) -> ElevationModel:
    n = int(2 * extent / step) + 1
    return _model(_grid(-extent, -extent, step, np.zeros((n, n))))


@pytest.mark.parametrize("tilt_deg", [0.0, 30.0, 60.0, 70.0])
def test_ray_meets_the_reference_sphere_where_the_quadratic_says(tilt_deg: float):
    h = 3000.0
    p = _site_point(-20000.0, 500.0, h)
    u = _direction(p, tilt_deg, np.array([1.0, 0.3, 0.0]))
    t, _, _, hit = elevation.raycast(_flat(), p, u, jnp.float32(R), jnp.float32(50000.0))
    q = np.asarray(p, np.float64) + np.array([0.0, 0.0, R])
    uu = np.asarray(u, np.float64)
    b = q @ uu
    exact = -b - np.sqrt(b * b - (q @ q - R * R))
    assert bool(hit)
    assert float(t) == pytest.approx(exact, abs=0.05)


def test_ray_above_the_horizon_or_beyond_range_has_no_hit():
    p = _site_point(0.0, 0.0, 3000.0)
    up = _direction(p, 180.0 - 10.0, np.array([1.0, 0.0, 0.0]))  # 10 deg above the horizon
    assert not bool(elevation.raycast(_flat(), p, up, jnp.float32(R), jnp.float32(5e4))[3])
    down = _direction(p, 0.0, np.array([1.0, 0.0, 0.0]))
    assert not bool(elevation.raycast(_flat(), p, down, jnp.float32(R), jnp.float32(2000.0))[3])


def test_vertical_beam_over_a_step_jumps_by_the_step_height():
    s = -2000.0 + 10.0 * np.arange(401)
    h = np.where(s[:, None] >= 0.0, 500.0, 0.0) * np.ones((1, 21))
    model = _model(_grid(-2000.0, -100.0, 10.0, h))
    ranges = []
    for s0 in (-50.0, 50.0):
        p = _site_point(s0, 0.0, 1500.0)
        u = _direction(p, 0.0, np.array([1.0, 0.0, 0.0]))
        ranges.append(float(elevation.raycast(model, p, u, jnp.float32(R), jnp.float32(5000.0))[0]))
    assert ranges[0] == pytest.approx(1500.0, abs=0.05)
    assert ranges[1] == pytest.approx(1000.0, abs=0.05)


def test_slanted_beam_meets_the_wall_of_a_step_ahead():
    """A beam at 60 deg from the vertical over flat ground 1 km below, 1 km before a 600 m cliff whose
    face (one 10 m cell) it meets: it reads the cliff, much shorter than the 2 km the flat ground gives."""
    s = -3000.0 + 10.0 * np.arange(601)
    h = np.where(s[:, None] >= 0.0, 600.0, 0.0) * np.ones((1, 21))
    model = _model(_grid(-3000.0, -100.0, 10.0, h))
    p = _site_point(-1000.0, 0.0, 1000.0)
    u = _direction(p, 60.0, np.array([1.0, 0.0, 0.0]))
    t, _, _, hit = elevation.raycast(model, p, u, jnp.float32(R), jnp.float32(5000.0))
    # The ray's horizontal reach to the face is 1000 m; at 60 deg it has dropped 1000 / tan(60) = 577 m,
    # so 423 m above the flat ground, below the 600 m cliff top: it meets the face at range 1000 / sin 60.
    assert bool(hit)
    assert float(t) == pytest.approx(1000.0 / np.sin(np.deg2rad(60.0)), abs=8.0)


@pytest.mark.parametrize(("offset_m", "tilt_deg"), [(0.0, 0.0), (150.0, 0.0), (-100.0, 20.0), (-200.0, 25.0)])
def test_ray_into_a_spherical_cap_crater(offset_m: float, tilt_deg: float):
    """A bowl crater 600 m across and 120 m deep (depth/diameter 0.2, a fresh simple crater) whose floor is
    a sphere of radius rho; the ray's exact intersection with that sphere is the reference."""
    a, depth = 300.0, 120.0
    rho = (a * a + depth * depth) / (2 * depth)
    step = 5.0
    s = -500.0 + step * np.arange(201)
    ss, cc = np.meshgrid(s, s, indexing="ij")
    r2 = ss * ss + cc * cc
    bowl = np.where(r2 < a * a, (rho - depth) - np.sqrt(np.maximum(rho * rho - r2, 0.0)), 0.0)
    model = _model(_grid(-500.0, -500.0, step, bowl))
    h = 800.0
    p = _site_point(offset_m, 0.0, h)
    u = _direction(p, tilt_deg, np.array([1.0, 0.0, 0.0]))
    t, _, _, hit = elevation.raycast(model, p, u, jnp.float32(R), jnp.float32(5000.0))
    # Exact: the cap sphere's centre sits rho - depth above the site (flat-Earth geometry: the Moon's
    # curvature over 300 m is 2.6 cm).
    centre = np.array([0.0, 0.0, rho - depth])
    q = np.array([offset_m, 0.0, h]) - centre
    uu = np.asarray(u, np.float64)
    b = q @ uu
    exact = -b + np.sqrt(b * b - (q @ q - rho * rho))  # the far (lower) side of the sphere: the bowl
    assert bool(hit)
    assert float(t) == pytest.approx(exact, abs=0.3)


def _altimeter(divergence_mrad: float, max_incidence_deg: float = 70.0) -> AltimeterParams:
    spec = AltimeterSpec(
        max_range_m=10000.0,
        noise_floor_m=0.0,
        noise_fraction=0.0,
        period_s=0.5,
        beam_divergence_mrad=divergence_mrad,
        max_incidence_deg=max_incidence_deg,
    )
    values = {k: jnp.float32(float(v)) for k, v in spec.model_dump().items() if isinstance(v, int | float)}
    return AltimeterParams(
        **values,
        beam_directions=jnp.zeros((1, 3), jnp.float32),
        beam_ranges=jnp.ones(1, jnp.float32),
        beam_velocities=jnp.ones(1, jnp.float32),
    )


def test_footprint_leaves_a_plane_and_averages_a_bowl():
    p = _site_point(0.0, 0.0, 2000.0)
    u = _direction(p, 25.0, np.array([1.0, 0.0, 0.0]))
    v = jnp.zeros(3, jnp.float32)
    narrow = sensors.beam_geometry(_altimeter(0.0), _flat(), p, v, u, jnp.float32(R))
    wide = sensors.beam_geometry(_altimeter(100.0), _flat(), p, v, u, jnp.float32(R))
    assert float(wide.range_m) == pytest.approx(float(narrow.range_m), abs=0.05)
    # Over a bowl (a lower point than its surroundings) a wide spot reads the mean, which is higher: shorter.
    step = 5.0
    s = -1500.0 + step * np.arange(601)
    ss, cc = np.meshgrid(s, s, indexing="ij")
    bowl = -100.0 * np.exp(-(ss * ss + cc * cc) / (2 * 200.0**2))
    model = _model(_grid(-1500.0, -1500.0, step, bowl))
    q = _site_point(0.0, 0.0, 2000.0)
    down = _direction(q, 0.0, np.array([1.0, 0.0, 0.0]))
    sharp = sensors.beam_geometry(_altimeter(0.0), model, q, v, down, jnp.float32(R))
    blurred = sensors.beam_geometry(_altimeter(100.0), model, q, v, down, jnp.float32(R))
    assert float(sharp.range_m) == pytest.approx(2100.0, abs=0.1)
    assert float(blurred.range_m) < float(sharp.range_m) - 5.0


def test_grazing_incidence_gives_no_return_and_range_rate_is_the_closing_speed():
    p = _site_point(0.0, 0.0, 1000.0)
    v = jnp.asarray([30.0, 0.0, -20.0], jnp.float32)
    steep = _direction(p, 75.0, np.array([1.0, 0.0, 0.0]))
    assert not bool(sensors.beam_geometry(_altimeter(0.0, 70.0), _flat(), p, v, steep, jnp.float32(R)).ok)
    down = _direction(p, 0.0, np.array([1.0, 0.0, 0.0]))
    geo = sensors.beam_geometry(_altimeter(0.0), _flat(), p, v, down, jnp.float32(R))
    assert bool(geo.ok)
    assert float(geo.range_rate_mps) == pytest.approx(-20.0, abs=1e-3)


def test_a_lander_flown_over_a_cliff_sees_the_range_change_the_geometry_predicts():
    """Fly a lander 2000 m up across a 600 m cliff: a vertical beam's range drops by 600 m within one
    cell of the face; a beam 30 deg forward starts to shorten 2000 tan 30 = 1155 m before the face and
    reaches (2000 - 600) / cos 30 after a further 600 tan 30 = 346 m (it climbs the face)."""
    step = 5.0
    s = -4000.0 + step * np.arange(1601)
    h = np.where(s[:, None] >= 0.0, 600.0, 0.0) * np.ones((1, 21))
    model = _model(_grid(-4000.0, -50.0, step, h))
    v = jnp.zeros(3, jnp.float32)
    alt = _altimeter(0.0, 89.0)

    def reading(x: float, tilt: float) -> float:
        p = _site_point(x, 0.0, 2000.0)
        u = _direction(p, tilt, np.array([1.0, 0.0, 0.0]))
        geo = sensors.beam_geometry(alt, model, p, v, u, jnp.float32(R))
        assert bool(geo.ok)
        return float(geo.range_m)

    assert reading(-10.0, 0.0) == pytest.approx(2000.0, abs=0.1)
    assert reading(10.0, 0.0) == pytest.approx(1400.0, abs=0.1)
    c30 = np.cos(np.deg2rad(30.0))
    ahead = 2000.0 * np.tan(np.deg2rad(30.0))
    climb = 600.0 * np.tan(np.deg2rad(30.0))
    assert reading(-ahead - 20.0, 30.0) == pytest.approx(2000.0 / c30, abs=0.5)
    assert reading(-ahead + climb / 2, 30.0) == pytest.approx((2000.0 - 300.0) / c30, rel=0.01)
    assert reading(-ahead + climb + 20.0, 30.0) == pytest.approx(1400.0 / c30, abs=0.5)


def test_onboard_map_resolution_is_a_cell_parameter():
    """A load-time terrain field set per cell (an axis value) rebuilds the onboard map, not the truth."""
    from riskengine.config import ScenarioSpec, build_params

    base = build_params(ScenarioSpec(), "mare_frigoris")
    coarse = build_params(ScenarioSpec(), "mare_frigoris", {"terrain.map_resolution_m": 400.0})
    fine_truth = [np.asarray(g.heights_m) for g in base.terrain.truth.levels]
    assert all(
        np.array_equal(a, np.asarray(b.heights_m))
        for a, b in zip(fine_truth, coarse.terrain.truth.levels, strict=True)
    )
    a = np.asarray(base.terrain.onboard.levels[-1].heights_m)
    b = np.asarray(coarse.terrain.onboard.levels[-1].heights_m)
    # A 400 m map has no 5-25 m craters: its landing-area relief is smoother.
    assert np.std(np.diff(b, axis=0)) < 0.5 * np.std(np.diff(a, axis=0))
