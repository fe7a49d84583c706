"""Terrain as the descent sees it: the true ground, the onboard map the navigation believes, touchdown tilt.

Both are 2-D elevation models (``riskengine.core.elevation``) in track coordinates. The onboard map is a
degraded copy of the truth built at load time (resolution, smoothing, missing craters and features:
``riskengine.terrain``) with per-sample errors applied here: ``fidelity * map(s - shift_s, c - shift_c) +
offset`` (fidelity 1 the map as built, 0 a map with no relief, flat at the site's elevation; the shift a
horizontal registration error, the offset a vertical one).

At touchdown the footpads sample the ground at the scale of their span; the grid resolves slopes down to
its cell size, and what is finer enters as a random gradient (``subgrid_slope_sigma``, from the site's
roughness scaling) and a rock under one footpad (from the site's rock abundance).
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core import elevation, frames
from riskengine.core.params import Array, TerrainParams


def true_elevation_and_gradient(terrain: TerrainParams, s: Array, c: Array) -> tuple[Array, Array]:
    """True elevation (m) and (2,) gradient ``(dz/ds, dz/dc)`` at track coordinates ``(s, c)``."""
    return elevation.lookup(terrain.truth, s, c)


def onboard_surface(terrain: TerrainParams) -> elevation.Surface:
    """The onboard map with its per-sample errors, as a surface (for ray casts)."""
    return elevation.Surface(
        model=terrain.onboard,
        scale=terrain.map_fidelity,
        offset_m=terrain.map_offset_m,
        shift_m=jnp.stack([terrain.map_shift_downrange_m, terrain.map_shift_crossrange_m]),
    )


def map_elevation_and_gradient(terrain: TerrainParams, s: Array, c: Array) -> tuple[Array, Array]:
    """Elevation (m) and (2,) gradient the onboard map gives at ``(s, c)``, with its per-sample errors."""
    return elevation.surface_lookup(onboard_surface(terrain), s, c)


def heights(terrain: TerrainParams, p: Array, p_est: Array, radius_m: Array) -> tuple[Array, ...]:
    """(true height above ground, (2,) true gradient, estimated height above the map, (2,) map gradient)
    of the true position ``p`` and the estimate ``p_est``, along each one's local vertical."""
    s, c = elevation.track_coordinates(p, radius_m)
    z, grad = true_elevation_and_gradient(terrain, s, c)
    s_e, c_e = elevation.track_coordinates(p_est, radius_m)
    z_e, grad_e = map_elevation_and_gradient(terrain, s_e, c_e)
    return (
        frames.height_above_sphere(p, radius_m) - z,
        grad,
        frames.height_above_sphere(p_est, radius_m) - z_e,
        grad_e,
    )


def footprint_gradient(terrain: TerrainParams, s: Array, c: Array, half_span_m: Array) -> Array:
    """(2,) ground gradient at the footpads' scale: central differences of the true surface over the
    footpad span (``2 half_span``) along and across the track, centred on ``(s, c)``. A 9 m Apollo LM
    stands on the plane through its pads, not on the slope of one 5 m cell; a span shorter than a cell
    gives the cell's own gradient (the surface is bilinear inside it)."""
    z_f, _ = elevation.lookup(terrain.truth, s + half_span_m, c)
    z_b, _ = elevation.lookup(terrain.truth, s - half_span_m, c)
    z_l, _ = elevation.lookup(terrain.truth, s, c + half_span_m)
    z_r, _ = elevation.lookup(terrain.truth, s, c - half_span_m)
    return jnp.stack([z_f - z_b, z_l - z_r]) / (2.0 * half_span_m)


def subgrid_gradient_sigma(terrain: TerrainParams, cell_m: Array, span_m: Array) -> Array:
    """Per-axis std of the ground gradient across the footpad span ``span_m`` that a grid of ``cell_m``
    cells does not resolve.

    Lunar topography is self-affine over metres to hundreds of metres: the RMS slope over a baseline L goes
    as ``L^(H - 1)`` (Rosenburg et al., "Global surface slopes and roughness of the Moon from the Lunar
    Orbiter Laser Altimeter", JGR 116, E02001, 2011: H ~0.9-0.95 highland, ~0.8-0.9 mare). The grid carries
    the variance down to its cell size; what it lacks at the span is the difference in quadrature (zero
    where the span is wider than a cell).
    """

    def at(baseline: Array) -> Array:
        ratio = jnp.maximum(baseline, 1e-3) / terrain.roughness_baseline_m
        return terrain.roughness_gradient * ratio ** (terrain.hurst_exponent - 1.0)

    return jnp.sqrt(jnp.maximum(jnp.square(at(span_m)) - jnp.square(at(cell_m)), 0.0))


def rock_height_m(terrain: TerrainParams, u: Array) -> Array:
    """Tallest rock under one footpad for a uniform draw ``u`` in [0, 1): the site's quantile table read
    at ``u`` (piecewise constant: the table is fine enough that interpolating adds nothing)."""
    q = terrain.rock_height_quantiles_m
    i = jnp.clip(jnp.floor(u * q.shape[0]), 0, q.shape[0] - 1).astype(jnp.int32)
    return q[i]
