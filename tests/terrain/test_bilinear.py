"""The NumPy bilinear reference: exact on bilinear functions, equal to an independent interpolator,
clamped at the edges; the model picks the finest level containing a point."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from riskengine.terrain import ElevationModel, Grid, bilinear
from riskengine.terrain._grid import bilinear_nodes, make_grid


def _grid(rng: np.random.Generator, n0: int = 17, n1: int = 11) -> Grid:
    return make_grid(-300.0, 120.0, 25.0, rng.normal(0.0, 40.0, (n0, n1)))


def test_reproduces_a_bilinear_function_and_its_gradient_exactly():
    x0, y0, step = -1000.0, 250.0, 10.0
    xs = x0 + step * np.arange(30)
    ys = y0 + step * np.arange(20)
    a, b, c, d = 3.0, 0.02, -0.05, 1e-4
    h = a + b * xs[:, None] + c * ys[None, :] + d * xs[:, None] * ys[None, :]
    g = make_grid(x0, y0, step, h)
    rng = np.random.default_rng(0)
    px = rng.uniform(xs[0], xs[-1], 500)
    py = rng.uniform(ys[0], ys[-1], 500)
    height, dx, dy = bilinear(g, px, py)
    exact = np.float32(1.0) * (a + b * px + c * py + d * px * py)
    np.testing.assert_allclose(height, exact, atol=2e-4)  # float32 storage of ~+-30 m
    np.testing.assert_allclose(dx, b + d * py, atol=1e-5)
    np.testing.assert_allclose(dy, c + d * px, atol=1e-5)


def test_matches_scipy_regular_grid_interpolator_and_finite_differences():
    rng = np.random.default_rng(1)
    g = _grid(rng)
    x, y = g.nodes()
    ref = RegularGridInterpolator((x, y), np.asarray(g.heights_m, dtype=np.float64), method="linear")
    px = rng.uniform(x[0], x[-1], 1000)
    py = rng.uniform(y[0], y[-1], 1000)
    height, dx, dy = bilinear(g, px, py)
    np.testing.assert_allclose(height, ref(np.stack([px, py], axis=-1)), atol=1e-9)
    eps = 1e-4  # inside a cell the surface is smooth: central differences give the derivatives
    inner = (np.abs(((px - x[0]) / g.step_m) % 1 - 0.5) < 0.49) & (
        np.abs(((py - y[0]) / g.step_m) % 1 - 0.5) < 0.49
    )
    fd_x = (bilinear(g, px + eps, py)[0] - bilinear(g, px - eps, py)[0]) / (2 * eps)
    fd_y = (bilinear(g, px, py + eps)[0] - bilinear(g, px, py - eps)[0]) / (2 * eps)
    np.testing.assert_allclose(dx[inner], fd_x[inner], atol=1e-6)
    np.testing.assert_allclose(dy[inner], fd_y[inner], atol=1e-6)
    np.testing.assert_allclose(
        bilinear_nodes(g, px[:7], py[:5]),
        ref(np.stack(np.meshgrid(px[:7], py[:5], indexing="ij"), -1)),
        atol=1e-9,
    )


def test_clamped_outside_with_zero_derivative_across_the_edge():
    rng = np.random.default_rng(2)
    g = _grid(rng)
    x, y = g.nodes()
    h = np.asarray(g.heights_m, dtype=np.float64)
    height, dx, dy = bilinear(g, np.array([x[0] - 500.0, x[-1] + 1e4]), np.array([y[3], y[-1] + 7.0]))
    np.testing.assert_allclose(height, [h[0, 3], h[-1, -1]])
    assert np.all(dx == 0.0)
    assert dy[0] == (h[0, 4] - h[0, 3]) / g.step_m  # along the edge the edge's own slope
    assert dy[1] == 0.0


def test_model_uses_the_finest_level_containing_the_point():
    coarse = make_grid(-1000.0, -1000.0, 100.0, np.zeros((21, 21)))
    fine = make_grid(-100.0, -100.0, 10.0, np.full((21, 21), 5.0))
    model = ElevationModel((coarse, fine))
    np.testing.assert_allclose(model.height_m([0.0, 50.0, 500.0], [0.0, -100.0, 0.0]), [5.0, 5.0, 0.0])
    assert not fine.heights_m.flags.writeable and fine.heights_m.dtype == np.float32
