"""Terrain hazard at touchdown: the probability that a lander coming down at a uniformly random point of a
map bin ends up tilted beyond its operational limit or statically tipped, from the elevation model alone.

The touchdown-tilt model is the engine's (``riskengine.core.engine.finish``, ``core.terrain``,
``core.touchdown``), in NumPy:

* gradient ``g = grad + sigma_sub * z``, ``z ~ N(0, I2)``: ``grad`` the true model's slope across the footpad
  span (central differences over ``2 footprint_radius``) on the
  finest level containing the point (clamped at a level's edge exactly as ``core.elevation`` does),
  ``sigma_sub = sqrt(max(s(L)^2 - s(cell)^2, 0))`` with ``s(b) = tan(roughness_rms_slope_deg)
  (b / roughness_baseline_m)^(hurst_exponent - 1)``, ``L = 2 footprint_radius_m``, ``cell`` that level's step;
* tilt, deg, ``atan(|g|) + atan(rock / (2 footprint_radius_m))``, the rock uniform over the site-wide table
  ``rock_height_quantiles_m(terrain, footpad_diameter_m)`` (the engine draws its index uniformly);
* hazardous when ``tilt > max_slope_deg`` or ``tilt >= atan2(footprint_radius_m, cg_height_m)`` (static tip).

The speeds do not enter: this is the terrain's share of the touchdown hazard (the dynamic tip-over needs the
touchdown velocity, which only the Monte Carlo has; ``hazard_observed`` in the cube is what it saw).

Integration, all deterministic (no random draws): over ``z`` exactly, since ``P(|g0 + s z| > T)`` is the
Marcum function ``Q1(|g0| / s, T / s)`` (a non-central chi with 2 degrees of freedom), tabulated per level
on ``|g0|`` (:func:`exceedance`); over the rock table exactly (its mean); over the bin by the midpoint rule
on a fixed sub-grid of points (:func:`sub_points`, about two points per finest-level cell along each axis).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from riskengine.config.models import TerrainSpec
from riskengine.terrain._grid import ElevationModel, Grid

F64 = NDArray[np.float64]

#: Most sample points of one map (all bins); bins get fewer sub-points each beyond it (measured: 2.5 s for
#: 1.6e7 points, the default 100 x 100 map at Atlas, one core).
MAX_POINTS = 16_000_000
MAX_SUB_PER_AXIS = 64
_GAUSS_NODES = 96  # Gauss-Legendre nodes of the radial integral (error < 1e-9 against scipy's ncx2)
_REACH = 12.0  # standard deviations beyond which the Gaussian contributes nothing in float64
_TABLE = 1024  # uniform nodes of |g0| per table, plus dense nodes around each threshold


@dataclass(frozen=True)
class Roughness:
    """The site's sub-grid roughness (``TerrainSpec`` fields of the same names)."""

    rms_slope_deg: float
    baseline_m: float
    hurst_exponent: float


@dataclass(frozen=True)
class Lander:
    """The vehicle fields the touchdown tilt uses (``VehicleSpec`` fields of the same names)."""

    footprint_radius_m: float
    cg_height_m: float
    max_slope_deg: float

    @property
    def static_tip_deg(self) -> float:
        """``atan2(footprint_radius_m, cg_height_m)``, deg (``core.touchdown.static_tip_angle_deg``)."""
        return math.degrees(math.atan2(self.footprint_radius_m, self.cg_height_m))


# ---------------------------------------------------------------------- the per-point model
def subgrid_gradient_sigma(roughness: Roughness, cell_m: ArrayLike, span_m: float) -> F64:
    """Per-axis std of the ground gradient across ``span_m`` that cells of ``cell_m`` do not resolve
    (``core.terrain.subgrid_gradient_sigma``)."""

    def at(baseline: ArrayLike) -> F64:
        ratio = np.maximum(np.asarray(baseline, np.float64), 1e-3) / roughness.baseline_m
        return math.tan(math.radians(roughness.rms_slope_deg)) * ratio ** (roughness.hurst_exponent - 1.0)

    return np.sqrt(np.maximum(at(span_m) ** 2 - at(cell_m) ** 2, 0.0))


def _axis(coord: F64, origin: float, step: float, n: int) -> tuple[NDArray[np.int64], F64]:
    """Cell index and clamped fraction along one axis, as ``core.elevation._bilinear`` computes them."""
    u = (coord - origin) / step
    i = np.clip(np.floor(u), 0, n - 2)
    return i.astype(np.int64), np.clip(u - i, 0.0, 1.0)


def _level_heights(grid: Grid, x: F64, y: F64) -> F64:
    """Heights of one level on the tensor grid ``x (p,) x y (q,)``, (p, q): the engine's bilinear surface,
    clamped at the level's edge."""
    h = np.asarray(grid.heights_m)
    i, fu = _axis(x, grid.origin_downrange_m, grid.step_m, h.shape[0])
    j, fw = _axis(y, grid.origin_crossrange_m, grid.step_m, h.shape[1])
    lo, hi = int(j.min()), int(j.max()) + 2  # only the columns the points use
    sub = h[:, lo:hi].astype(np.float64)
    j = j - lo
    r0, r1 = sub[i], sub[i + 1]  # (p, hi - lo)
    a = r0[:, j] * (1.0 - fw)[None, :] + r0[:, j + 1] * fw[None, :]
    b = r1[:, j] * (1.0 - fw)[None, :] + r1[:, j + 1] * fw[None, :]
    return a * (1.0 - fu)[:, None] + b * fu[:, None]


def _level_gradient(grid: Grid, x: F64, y: F64, half_span_m: float) -> tuple[F64, F64]:
    """(dz/dx, dz/dy) of one level on the tensor grid ``x (p,) x y (q,)``, each (p, q), across the footpad
    span: central differences over ``2 half_span_m`` (``core.terrain.footprint_gradient``)."""
    d = 2.0 * half_span_m
    gx = (_level_heights(grid, x + half_span_m, y) - _level_heights(grid, x - half_span_m, y)) / d
    gy = (_level_heights(grid, x, y + half_span_m) - _level_heights(grid, x, y - half_span_m)) / d
    return gx, gy


def _point_heights(grid: Grid, x: F64, y: F64) -> F64:
    h = np.asarray(grid.heights_m, dtype=np.float64)
    i, fu = _axis(x, grid.origin_downrange_m, grid.step_m, h.shape[0])
    j, fw = _axis(y, grid.origin_crossrange_m, grid.step_m, h.shape[1])
    z00, z01, z10, z11 = h[i, j], h[i, j + 1], h[i + 1, j], h[i + 1, j + 1]
    return (z00 * (1.0 - fw) + z01 * fw) * (1.0 - fu) + (z10 * (1.0 - fw) + z11 * fw) * fu


def _inside(grid: Grid, x: F64, y: F64) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per-axis masks of the points on the level (edges included, as the engine)."""
    return (
        (x >= grid.origin_downrange_m) & (x <= grid.end_downrange_m),
        (y >= grid.origin_crossrange_m) & (y <= grid.end_crossrange_m),
    )


def _model_heights(model: ElevationModel, x: F64, y: F64) -> F64:
    """Heights on the finest level containing each point (``core.elevation.lookup``)."""
    z = _point_heights(model.levels[0], x, y)
    for g in model.levels[1:]:
        ix, iy = _inside(g, x, y)
        z = np.where(ix & iy, _point_heights(g, x, y), z)
    return z


def gradient_and_cell(
    model: ElevationModel, x: ArrayLike, y: ArrayLike, half_span_m: float
) -> tuple[F64, F64]:
    """((..., 2) footpad-span gradient, cell size m) at each point: central differences over
    ``2 half_span_m``, each of the four heights on the finest level containing it, as
    ``core.terrain.footprint_gradient``; the cell size of the finest level containing the point
    (``core.elevation.cell_size``; the coarsest level clamped at its edges). Points broadcast."""
    xb, yb = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
    d = 2.0 * half_span_m
    gx = (_model_heights(model, xb + half_span_m, yb) - _model_heights(model, xb - half_span_m, yb)) / d
    gy = (_model_heights(model, xb, yb + half_span_m) - _model_heights(model, xb, yb - half_span_m)) / d
    cell = np.full(xb.shape, model.levels[0].step_m)
    for g in model.levels[1:]:
        ix, iy = _inside(g, xb, yb)
        cell = np.where(ix & iy, g.step_m, cell)
    return np.stack([gx, gy], axis=-1), cell


def touchdown_tilt_deg(
    model: ElevationModel,
    roughness: Roughness,
    lander: Lander,
    x_m: ArrayLike,
    y_m: ArrayLike,
    z: ArrayLike,
    rock_m: ArrayLike,
) -> F64:
    """Tilt at rest, deg, of a touchdown at ``(x_m, y_m)`` (track frame) with the sub-grid draw ``z``
    (..., 2) and the rock ``rock_m`` under one pad: the engine's ``finish`` for the same draws."""
    grad, cell = gradient_and_cell(model, x_m, y_m, lander.footprint_radius_m)
    span = 2.0 * lander.footprint_radius_m
    g = grad + subgrid_gradient_sigma(roughness, cell, span)[..., None] * np.asarray(z, np.float64)
    rock_tilt = np.degrees(np.arctan(np.asarray(rock_m, np.float64) / span))
    return np.degrees(np.arctan(np.hypot(g[..., 0], g[..., 1]))) + rock_tilt


def hazardous(lander: Lander, tilt_deg: ArrayLike) -> NDArray[np.bool_]:
    """Beyond the operational tilt or statically tipped (``core.touchdown.classify``'s two tilt tests)."""
    t = np.asarray(tilt_deg, np.float64)
    return (t > lander.max_slope_deg) | (t >= lander.static_tip_deg)


# ---------------------------------------------------------------------- integrating z and the rocks
def _i0e(x: F64) -> F64:
    """``exp(-x) I0(x)`` for x >= 0 (``np.i0`` overflows past ~700; the asymptotic series is exact there)."""
    small = x < 500.0
    xs = np.where(small, x, 0.0)
    xl = np.where(small, 500.0, x)
    big = (1.0 + 1.0 / (8.0 * xl) + 9.0 / (128.0 * xl * xl)) / np.sqrt(2.0 * np.pi * xl)
    return np.where(small, np.i0(xs) * np.exp(-xs), big)


@functools.cache
def _legendre() -> tuple[F64, F64]:
    return np.polynomial.legendre.leggauss(_GAUSS_NODES)


def exceedance(a: ArrayLike, b: float) -> F64:
    """``P(|a e + z| > b)`` for ``z ~ N(0, I2)``, a unit vector ``e``, ``a >= 0``, ``b >= 0``: the Marcum
    ``Q1(a, b)``, as ``1 - int_0^b r exp(-(r^2 + a^2) / 2) I0(a r) dr`` by Gauss-Legendre on the part of
    ``[0, b]`` within ``_REACH`` of ``a`` (the integrand is a unit-width bump around ``r ~ a``)."""
    a = np.asarray(a, np.float64)
    lo = np.clip(a - _REACH, 0.0, b)
    hi = np.clip(a + _REACH, 0.0, b)
    t, w = _legendre()
    half = 0.5 * (hi - lo)[..., None]
    r = 0.5 * (hi + lo)[..., None] + half * t
    f = r * np.exp(-0.5 * (r - a[..., None]) ** 2) * _i0e(a[..., None] * r)
    inside = np.sum(f * w, axis=-1) * half[..., 0]
    return np.clip(1.0 - inside, 0.0, 1.0)


def _rock_tilts_deg(rocks_m: ArrayLike, lander: Lander) -> tuple[F64, F64]:
    """Distinct rock tilts, deg, and their weights (shares of the table)."""
    tilt = np.degrees(np.arctan(np.asarray(rocks_m, np.float64) / (2.0 * lander.footprint_radius_m)))
    values, counts = np.unique(tilt, return_counts=True)
    return values, counts / counts.sum()


@dataclass(frozen=True)
class HazardTable:
    """P(hazard) of a touchdown on one level against ``|grad|``, averaged over ``z`` and the rock table:
    ``np.interp(|grad|, slope_nodes, p)`` (exact at ``sigma == 0``: a step function)."""

    sigma: float  # sub-grid gradient std on this level
    slope_nodes: F64
    p: F64
    thresholds: F64  # tan of the tilt left to the ground slope, per distinct rock
    weights: F64
    exact: tuple[tuple[float, float], ...] = ()  # sigma == 0: per rock (max_slope - rock, tip - rock), deg

    def __call__(self, slope: F64) -> F64:
        if self.sigma > 0.0:
            return np.interp(slope, self.slope_nodes, self.p)
        ground = np.degrees(np.arctan(slope))
        out = np.zeros(np.shape(slope))
        for (op, tip), w in zip(self.exact, self.weights, strict=True):
            # tilt > max_slope or tilt >= tip, with tilt = ground + rock
            out += w * ((ground > op) | (ground >= tip))
        return out


def hazard_table(sigma: float, lander: Lander, rocks_m: ArrayLike) -> HazardTable:
    """The :class:`HazardTable` of a level whose sub-grid gradient std is ``sigma``."""
    tilts, weights = _rock_tilts_deg(rocks_m, lander)
    limit = min(lander.max_slope_deg, lander.static_tip_deg)
    left = limit - tilts  # ground slope, deg, that the rock leaves before the limit
    thresholds = np.where(left <= 0.0, 0.0, np.tan(np.radians(np.clip(left, 0.0, 89.999))))
    exact = tuple((lander.max_slope_deg - t, lander.static_tip_deg - t) for t in tilts.tolist())
    if sigma <= 0.0:
        return HazardTable(0.0, np.zeros(1), np.zeros(1), thresholds, weights, exact)
    top = float(thresholds.max()) + _REACH * sigma
    dense = (thresholds[:, None] + sigma * np.linspace(-_REACH, _REACH, 257)[None, :]).reshape(-1)
    nodes = np.unique(np.clip(np.concatenate([np.linspace(0.0, top, _TABLE), dense]), 0.0, top))
    p = np.zeros(nodes.shape)
    for th, w in zip(thresholds, weights, strict=True):
        p += w * (1.0 if th <= 0.0 else exceedance(nodes / sigma, th / sigma))
    return HazardTable(sigma, nodes, p, thresholds, weights, exact)


# ---------------------------------------------------------------------- over the map
def sub_points(edges: ArrayLike, n_sub: int) -> F64:
    """Midpoints of ``n_sub`` equal parts of every bin of ``edges`` (nb + 1,), flattened (nb * n_sub,)."""
    e = np.asarray(edges, np.float64)
    f = (np.arange(n_sub) + 0.5) / n_sub
    return (e[:-1, None] + f[None, :] * np.diff(e)[:, None]).reshape(-1)


def sub_per_axis(model: ElevationModel, edges_x: ArrayLike, edges_y: ArrayLike) -> int:
    """Sub-points per bin and axis: two per finest-level cell, at most :data:`MAX_SUB_PER_AXIS` and
    within :data:`MAX_POINTS` over the map."""
    ex, ey = np.asarray(edges_x), np.asarray(edges_y)
    bin_m = float(max(np.max(np.diff(ex)), np.max(np.diff(ey))))
    finest = min(g.step_m for g in model.levels)
    want = math.ceil(2.0 * bin_m / finest - 1e-9)
    budget = math.isqrt(MAX_POINTS // max((len(ex) - 1) * (len(ey) - 1), 1))
    return max(1, min(want, MAX_SUB_PER_AXIS, budget))


def hazard_map(
    model: ElevationModel,
    roughness: Roughness,
    lander: Lander,
    rocks_m: ArrayLike,
    edges_x: ArrayLike,
    edges_y: ArrayLike,
    n_sub: int | None = None,
) -> F64:
    """float64 (nx, ny): per map bin ``[edges_x[i], edges_x[i+1]) x [edges_y[j], edges_y[j+1])`` (track
    frame, m), the probability that a touchdown uniformly within it is hazardous (module docstring).

    ``rocks_m``: the rock table (heights, m; each entry equally likely). ``n_sub``: sub-points per bin and
    axis (default :func:`sub_per_axis`). Deterministic; every bin is covered (the coarsest level is
    clamped at its edges, as in the engine)."""
    ex, ey = np.asarray(edges_x, np.float64), np.asarray(edges_y, np.float64)
    nx, ny = len(ex) - 1, len(ey) - 1
    n = n_sub or sub_per_axis(model, ex, ey)
    span = 2.0 * lander.footprint_radius_m
    tables = [
        hazard_table(float(subgrid_gradient_sigma(roughness, g.step_m, span)), lander, rocks_m)
        for g in model.levels
    ]
    ys = sub_points(ey, n)
    out = np.empty((nx, ny))
    # Bins along x per block: at most ~2e6 points or gathered grid rows (tens of MB of temporaries).
    width = max(len(ys), *(g.shape[1] for g in model.levels))
    per_block = max(1, 2_000_000 // (width * n))
    for start in range(0, nx, per_block):
        stop = min(nx, start + per_block)
        xs = sub_points(ex[start : stop + 1], n)
        p = np.empty((len(xs), len(ys)))
        todo = np.ones(p.shape, bool)
        # Finest level first; a coarser one only where no finer level holds the point (often nowhere).
        for k in reversed(range(len(model.levels))):
            g = model.levels[k]
            ix, iy = _inside(g, xs, ys)
            need = todo & (ix[:, None] & iy[None, :]) if k else todo
            rows, cols = need.any(axis=1), need.any(axis=0)
            if not rows.any():
                continue
            gx, gy = _level_gradient(g, xs[rows], ys[cols], lander.footprint_radius_m)
            block = np.ix_(rows, cols)
            p[block] = np.where(need[block], tables[k](np.hypot(gx, gy)), p[block])
            todo &= ~need
        out[start:stop] = p.reshape(stop - start, n, ny, n).mean(axis=(1, 3))
    return out


def site_hazard_map(
    terrain: TerrainSpec,
    lander: Lander,
    footpad_diameter_m: float,
    edges_x: ArrayLike,
    edges_y: ArrayLike,
) -> F64:
    """:func:`hazard_map` of a site: its true elevation model, its roughness and the site-wide rock table
    for footpads of ``footpad_diameter_m`` (what ``config.site_terrain.terrain_params`` gives the engine)."""
    from riskengine.terrain import rock_height_quantiles_m, site_elevation

    roughness = Roughness(
        terrain.roughness_rms_slope_deg, terrain.roughness_baseline_m, terrain.hurst_exponent
    )
    return hazard_map(
        site_elevation(terrain, onboard=False),
        roughness,
        lander,
        rock_height_quantiles_m(terrain, footpad_diameter_m),
        edges_x,
        edges_y,
    )
