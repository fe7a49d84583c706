"""The NumPy twin's geometry: site-frame helpers, 2-D elevation models, ray casting and altimeter beams.

An independent coding of ``riskengine.core.frames``, ``core.elevation``, ``core.terrain`` and the beam
parts of ``core.sensors`` for B trajectories at once (read them beside it). Terrain is a stack of levels in
track coordinates (downrange, crossrange), looked up bilinearly on the finest level containing the point.
The ray cast is coded differently from the engine's fixed-count one: a conservative march (the same slope
bound, the sensor model's assumption about the steepest ground) run until each lane has converged or
crossed the ground, then Illinois false position inside the bracket until the ray is within a millimetre
of the ground, and one Newton step. Float32 throughout, as the engine.

Shapes: per-trajectory scalars ``(B,)``, vectors ``(B, 3)`` in the site frame, gradients ``(B, 2)``
``(dz/ds, dz/dc)``; a level's heights ``(n_downrange, n_crossrange)``, shared by all trajectories.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

F = np.float32
A = np.ndarray
_E_Y = np.array([0, 1, 0], F)
_E_Z = np.array([0, 0, 1], F)

# Ray casting: the march's slope bound (k in t += f / (descent + k |u_h|): ground up to 45 deg is never
# stepped through), the descent below which a ray is taken as never meeting the ground (engine's
# MIN_DESCENT), and the convergence targets (float32 heights above the ground are good to ~1e-4 m here).
_SLOPE_BOUND = F(1.0)
MIN_DESCENT = F(0.02)
_TOL_M = F(1e-3)
_MAX_MARCH, _MAX_REFINE = 400, 80

Surface = Callable[[A, A], tuple[A, A]]  # (s, c) (B,) -> (height m (B,), gradient (B, 2))


# ------------------------------------------------------------------------------------- small vector helpers
def _c(x: Any) -> Any:
    """Column view of a (B,) array (or a scalar) to scale (B, n) vectors."""
    return np.asarray(x)[..., None]


def _dot(a: A, b: A) -> A:
    return np.einsum("...i,...i->...", a, b)


def _norm(a: A) -> A:
    return np.sqrt(_dot(a, a))


def _unit(a: A) -> A:
    return a / _c(_norm(a))


def _vec(x: Any, y: Any, z: Any) -> A:
    out = np.empty((*np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z)), 3), F)
    out[..., 0], out[..., 1], out[..., 2] = x, y, z
    return out


def _cross(a: A, b: A) -> A:
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return _vec(a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0)


def _mv(m: A, v: A) -> A:
    """``m @ v`` per lane: (B, n, k) by (B, k)."""
    return (m * v[..., None, :]).sum(axis=-1)


def _mtv(m: A, v: A) -> A:
    """``m.T @ v`` per lane: (B, k, n) by (B, k)."""
    return (m * v[..., :, None]).sum(axis=-2)


def _skew(v: A) -> A:
    """(B, 3, 3) cross-product matrices."""
    zero = np.zeros_like(v[..., 0])
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.stack(
        [np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], axis=-2
    )


# ------------------------------------------------------------------------------------------------ frames
def _height(p: A, r: Any) -> A:
    q = p + _c(r) * _E_Z
    return (_dot(p, p) + F(2.0) * r * p[..., 2]) / (_norm(q) + r)


def _up(p: A, r: Any) -> A:
    return _unit(p + _c(r) * _E_Z)


def _along(up: A) -> A:
    return _unit(_cross(np.broadcast_to(_E_Y, up.shape), up))


def _arctan(t: A) -> A:
    """The float32 arctangent the engine's downrange uses (Cephes ``atanf``, ``frames.arctan``): numpy's
    ``arctan2`` differs from it by an ulp in a third of the downranges, 0.03-0.125 m at the grid's range."""
    a = np.abs(t)
    big, mid = a > F(2.414213562373095), a > F(0.41421356237309503)  # tan(3 pi / 8), tan(pi / 8)
    x = np.where(big, F(-1) / np.maximum(a, F(1)), np.where(mid, (a - F(1)) / (a + F(1)), a))
    offset = np.where(big, F(np.pi / 2), np.where(mid, F(np.pi / 4), F(0)))
    z = x * x
    poly = (((F(8.05374449538e-2) * z - F(1.38776856032e-1)) * z + F(1.99777106478e-1)) * z
            - F(3.33329491539e-1)) * z  # fmt: skip
    return np.sign(t) * (offset + (poly * x + x))


def _downrange(p: A, r: Any) -> A:
    return r * _arctan(p[..., 0] / (r + p[..., 2]))


def track(p: A, r: Any) -> tuple[A, A]:
    """(downrange, crossrange) arc lengths below ``p``: the angles about the site's y axis and out of the
    track plane, times ``R``."""
    return _downrange(p, r), r * _arctan(p[..., 1] / np.hypot(p[..., 0], r + p[..., 2]))


def horizontal_axes(up: A) -> tuple[A, A]:
    """(along-track, crossrange) local horizontal unit vectors at local vertical ``up``."""
    along = _along(up)
    return along, _cross(up, along)


# ------------------------------------------------------------------------------------------ elevation
def _level(g: Any, s: A, c: A) -> tuple[A, A, A]:
    """(height, (B, 2) gradient, inside) of one level, bilinear in its cell, clamped at its edges."""
    h = g.heights_m
    n, m = h.shape
    u = np.nan_to_num((s - g.origin_m[0]) / g.step_m)  # a NaN lane must not index the grid
    w = np.nan_to_num((c - g.origin_m[1]) / g.step_m)
    i = np.clip(np.floor(u), 0, n - 2).astype(np.int64)
    j = np.clip(np.floor(w), 0, m - 2).astype(np.int64)
    a = np.clip(u - i.astype(F), F(0), F(1))  # float32 - int stays float32 (numpy would promote)
    b = np.clip(w - j.astype(F), F(0), F(1))
    z00, z01, z10, z11 = h[i, j], h[i, j + 1], h[i + 1, j], h[i + 1, j + 1]
    na, nb = F(1) - a, F(1) - b
    z = nb * (na * z00 + a * z10) + b * (na * z01 + a * z11)
    ds = (nb * (z10 - z00) + b * (z11 - z01)) / g.step_m
    dc = (na * (z01 - z00) + a * (z11 - z10)) / g.step_m
    inside = (u >= 0) & (u <= n - 1) & (w >= 0) & (w <= m - 1)
    return z.astype(F), np.stack([ds, dc], -1).astype(F), inside


def lookup(model: Any, s: A, c: A) -> tuple[A, A]:
    """(height m, (B, 2) gradient) on the finest level of ``model`` containing ``(s, c)``."""
    z, grad, _ = _level(model.levels[0], s, c)
    for g in model.levels[1:]:
        z_g, grad_g, inside = _level(g, s, c)
        z, grad = np.where(inside, z_g, z), np.where(_c(inside), grad_g, grad)
    return z, grad


def cell_m(model: Any, s: A, c: A) -> A:
    """Cell size of the finest level containing ``(s, c)``."""
    step = np.zeros(np.shape(s), F) + model.levels[0].step_m
    for g in model.levels[1:]:
        step = np.where(_level(g, s, c)[2], g.step_m, step)
    return step


def truth_surface(terrain: Any) -> Surface:
    return lambda s, c: lookup(terrain.truth, s, c)


def map_surface(terrain: Any) -> Surface:
    """The onboard map with its per-sample errors: ``fidelity * map(s - shift_s, c - shift_c) + offset``."""

    def surface(s: A, c: A) -> tuple[A, A]:
        z, grad = lookup(
            terrain.onboard, s - terrain.map_shift_downrange_m, c - terrain.map_shift_crossrange_m
        )
        return terrain.map_fidelity * z + terrain.map_offset_m, _c(terrain.map_fidelity) * grad

    return surface


def height_above(surface: Surface, p: A, r: Any) -> tuple[A, A]:
    """(height of ``p`` above ``surface`` along the local vertical, (B, 2) ground gradient below it)."""
    z, grad = surface(*track(p, r))
    return _height(p, r) - z, grad


def ground_normal(x: A, r: Any, grad: A) -> A:
    """Unit upward normal of ground with track gradient ``grad`` below ``x``."""
    up = _up(x, r)
    along, cross = horizontal_axes(up)
    return _unit(up - _c(grad[:, 0]) * along - _c(grad[:, 1]) * cross)


def subgrid_gradient_sigma(terrain: Any, cell: A, span_m: Any) -> A:
    """Per-axis std of the ground gradient over ``span_m`` below a grid of ``cell``: self-affine roughness,
    RMS gradient ``g0 (L / L0)^(H - 1)``, the span's variance less the cell's (``core.terrain``)."""

    def rms(baseline: Any) -> A:
        return terrain.roughness_gradient * (
            np.maximum(baseline, F(1e-3)) / terrain.roughness_baseline_m
        ) ** (terrain.hurst_exponent - F(1))

    return np.sqrt(np.maximum(rms(span_m) ** 2 - rms(cell) ** 2, F(0))).astype(F)


def rock_height_m(terrain: Any, u: A) -> A:
    q = terrain.rock_height_quantiles_m
    return q[np.clip(np.floor(u * q.shape[0]), 0, q.shape[0] - 1).astype(np.int64)]


# --------------------------------------------------------------------------------------------- ray cast
def raycast(surface: Surface, p: A, u: A, r: Any, max_range_m: Any) -> tuple[A, A, A, A]:
    """First intersection of ``p + t u`` with ``surface``: (range m, (B, 3) point, (B, 2) gradient there,
    hit). No hit for a ray starting below the ground, within ~1 deg of the horizon, or meeting no ground
    within ``max_range_m``."""
    b = p.shape[0]
    descent = -_dot(u, _up(p, r))
    rate = np.maximum(descent, MIN_DESCENT) + _SLOPE_BOUND * np.sqrt(np.maximum(F(1) - descent**2, F(0)))
    limit = (np.zeros(b, F) + max_range_m) * F(1.05) + F(1)

    def f(t: A) -> tuple[A, A, A]:
        x = p + _c(t) * u
        h, grad = height_above(surface, x, r)
        return h, grad, x

    t_lo, f_lo = np.zeros(b, F), f(np.zeros(b, F))[0]
    t_hi, f_hi = limit.copy(), np.zeros(b, F)
    crossed = np.zeros(b, bool)
    live = (f_lo >= 0) & (descent > MIN_DESCENT)
    # March: each step goes at most to where the ground could be, were it as steep as the bound.
    for _ in range(_MAX_MARCH):
        go = live & ~crossed & (f_lo > _TOL_M) & (t_lo < limit)
        if not go.any():
            break
        t = np.minimum(t_lo + f_lo / rate, limit)
        h = f(t)[0]
        above = h >= 0
        t_lo, f_lo = np.where(go & above, t, t_lo), np.where(go & above, h, f_lo)
        t_hi, f_hi = np.where(go & ~above, t, t_hi), np.where(go & ~above, h, f_hi)
        crossed |= go & ~above
    # Stepped through a wall steeper than the bound: Illinois false position inside the bracket (``w_*``
    # the weights it interpolates with, the stale end's halved when the same end moves twice).
    w_lo, w_hi, side = f_lo.copy(), f_hi.copy(), np.zeros(b, np.int8)
    for _ in range(_MAX_REFINE):
        go = crossed & (np.minimum(f_lo, -f_hi) > _TOL_M) & (t_hi - t_lo > F(1e-4))
        if not go.any():
            break
        t = t_lo + (t_hi - t_lo) * w_lo / np.maximum(w_lo - w_hi, F(1e-9))
        h = f(t)[0]
        lo, hi = go & (h >= 0), go & (h < 0)
        t_lo, f_lo, w_lo = np.where(lo, t, t_lo), np.where(lo, h, f_lo), np.where(lo, h, w_lo)
        t_hi, f_hi, w_hi = np.where(hi, t, t_hi), np.where(hi, h, f_hi), np.where(hi, h, w_hi)
        w_hi = np.where(lo & (side > 0), F(0.5) * w_hi, w_hi)
        w_lo = np.where(hi & (side < 0), F(0.5) * w_lo, w_lo)
        side = np.where(lo, 1, np.where(hi, -1, side)).astype(np.int8)
    t = np.where(crossed & (-f_hi < f_lo), t_hi, t_lo)
    # One Newton step on f(t) = height above ground, d f / d t = u . up - grad . (u_along, u_cross).
    h, grad, x = f(t)
    up = _up(x, r)
    along, cross = horizontal_axes(up)
    slope = _dot(u, up) - grad[:, 0] * _dot(u, along) - grad[:, 1] * _dot(u, cross)
    newton = np.clip(t - h / np.minimum(slope, F(-1e-3)), t_lo, np.where(crossed, t_hi, limit))
    t = np.where(np.abs(h) > F(1e-5), newton, t).astype(F)
    h, grad, x = f(t)
    hit = live & (np.abs(h) < F(0.01) + F(1e-5) * t) & (t <= max_range_m)
    return t, x, grad, hit


class Beam(NamedTuple):
    range_m: A  # slant range to the spot's mean ground height
    rate_mps: A  # its rate for a beam held fixed in direction
    ok: A  # a return: ground within range, incidence within limit
    normal: A  # (B, 3) ground normal at the spot
    cos_incidence: A  # -u . n, floored at 1e-3
    up: A  # (B, 3) local vertical at the spot
    slope_tan: A  # |ground gradient| at the spot


def beam_directions_body(alt: Any) -> A:
    """(n_beams, 3) beam directions in the body: the preset's layout about body -z turned onto the canted
    boresight (the rotation about ``-z x boresight`` by the cant; its matrix, built here directly)."""
    t, a = np.deg2rad(alt.boresight_tilt_deg), np.deg2rad(alt.boresight_azimuth_deg)
    k = np.array([np.sin(a), -np.cos(a), 0.0])
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    rot = np.eye(3) + np.sin(t) * kx + (1.0 - np.cos(t)) * (kx @ kx)
    return (np.asarray(alt.beam_directions, np.float64) @ rot.T).astype(F)


def beam(alt: Any, surface: Surface, p: A, v: A, u: A, r: Any, reach_m: Any = None) -> Beam:
    """What a beam along ``u`` from ``p`` moving at ``v`` sees of ``surface`` (``core.sensors.beam_geometry``):
    the range to the mean ground over its spot (centre and four edge points, the along-track pair
    stretched by the incidence), the return's limits, and the range rate over locally planar ground."""
    reach = alt.max_range_m if reach_m is None else reach_m
    t, x, grad, hit = raycast(surface, p, u, r, reach)
    normal = ground_normal(x, r, grad)
    cos_inc = -_dot(u, normal)
    up = _up(x, r)
    along, cross = horizontal_axes(up)
    s, c = track(x, r)
    radius = F(0.5e-3) * alt.beam_divergence_mrad * t
    ground = np.stack([_dot(u, along), _dot(u, cross)], -1)
    n = np.sqrt((ground**2).sum(-1))
    # Near the vertical the spot is round: any axis will do.
    ground = np.where(_c(n > 1e-3), ground / _c(np.maximum(n, F(1e-3))), np.array([1, 0], F))
    stretch = radius / np.maximum(cos_inc, F(0.2))
    z0 = surface(s, c)[0]
    spot = [z0]
    for d in (stretch, -stretch):
        spot.append(surface(s + d * ground[:, 0], c + d * ground[:, 1])[0])
    for d in (radius, -radius):
        spot.append(surface(s - d * ground[:, 1], c + d * ground[:, 0])[0])
    mean = (spot[0] + spot[1] + spot[2] + spot[3] + spot[4]) / F(5)
    range_m = t - (mean - z0) / np.maximum(-_dot(u, up), MIN_DESCENT)
    ok = hit & (cos_inc >= np.cos(np.deg2rad(alt.max_incidence_deg))) & (range_m <= reach)
    rate = _dot(normal, v) / np.maximum(cos_inc, F(1e-3))
    slope = np.sqrt((grad.astype(np.float64) ** 2).sum(-1)).astype(F)
    return Beam(range_m.astype(F), rate.astype(F), ok, normal, np.maximum(cos_inc, F(1e-3)), up, slope)
