"""Along-track terrain: true elevation, the onboard map the navigation believes, and touchdown slope.

The approach is a ground track, so terrain is an elevation profile against downrange on a uniform grid
(O(1) lookup on every step). Crossrange terrain variation is not modelled along the approach; at touchdown
the local slope adds a random two-axis gradient and a rock under one footpad, from the site's statistics.
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core.params import Array, TerrainParams


def _grid_lookup(values: Array, start_m: Array, step_m: Array, s: Array) -> tuple[Array, Array]:
    """Linear interpolation of a uniform grid at downrange ``s`` (clamped at the ends) and its slope dz/ds."""
    n = values.shape[0]
    u = (s - start_m) / step_m
    i = jnp.clip(jnp.floor(u), 0, n - 2).astype(jnp.int32)
    f = jnp.clip(u - i, 0.0, 1.0)
    z0 = values[i]
    z1 = values[i + 1]
    return z0 + f * (z1 - z0), (z1 - z0) / step_m


def true_elevation(terrain: TerrainParams, s: Array) -> Array:
    """True terrain elevation at downrange ``s``, m."""
    return _grid_lookup(terrain.elevation_m, terrain.grid_start_m, terrain.grid_step_m, s)[0]


def true_elevation_and_gradient(terrain: TerrainParams, s: Array) -> tuple[Array, Array]:
    """True elevation (m) and along-track gradient dz/ds (dimensionless) at ``s``."""
    return _grid_lookup(terrain.elevation_m, terrain.grid_start_m, terrain.grid_step_m, s)


def map_elevation_and_gradient(terrain: TerrainParams, s: Array) -> tuple[Array, Array]:
    """Elevation (m) and along-track gradient the onboard map gives at downrange ``s``.

    ``fidelity * base(s - shift) + offset``: fidelity 1 is the (smoothed) truth, 0 a map with no terrain
    at all (flat at the site's elevation); the shift is a horizontal registration error.
    """
    base, grad = _grid_lookup(
        terrain.map_base_m, terrain.grid_start_m, terrain.grid_step_m, s - terrain.map_shift_m
    )
    return terrain.map_fidelity * base + terrain.map_offset_m, terrain.map_fidelity * grad


def map_elevation(terrain: TerrainParams, s: Array) -> Array:
    """Elevation the onboard map gives at downrange ``s``, m."""
    return map_elevation_and_gradient(terrain, s)[0]


def touchdown_slope_deg(
    profile_gradient: Array, local_gradient: Array, rock_m: Array, footprint_radius_m: Array
) -> Array:
    """Tilt of the landed vehicle, deg.

    The along-track profile gradient and the random local gradient (2,) add as vectors; a rock of height
    ``rock_m`` under one footpad tilts the vehicle by a further atan(rock / footpad span).
    """
    gx = profile_gradient + local_gradient[0]
    gy = local_gradient[1]
    ground = jnp.arctan(jnp.sqrt(gx * gx + gy * gy))
    rock = jnp.arctan(rock_m / (2.0 * footprint_radius_m))
    return jnp.rad2deg(ground + rock)
