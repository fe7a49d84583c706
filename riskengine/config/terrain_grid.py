"""Resample a site's terrain knots onto the uniform grid the core looks up, and build the map base."""

from __future__ import annotations

import functools

import numpy as np

from riskengine.config.models import TerrainSpec
from riskengine.errors import ConfigError

# Grids are padded to a whole number of this many points, holding the last elevation (as ``np.interp`` does
# past the last knot): XLA compiles one program per array shape, and a study over several sites would
# otherwise compile the engine (~10 s) once per site. Atlas Crater (3041) and Mare Frigoris (2881) share 3072.
GRID_BUCKET = 1024


@functools.lru_cache(maxsize=64)
def _grids(
    knots: tuple[tuple[float, float], ...], step_m: float, smoothing_m: float
) -> tuple[float, np.ndarray, np.ndarray]:
    xs = np.array([k[0] for k in knots]) * 1000.0
    zs = np.array([k[1] for k in knots])
    n = int(np.floor((xs[-1] - xs[0]) / step_m)) + 1
    n = -(-n // GRID_BUCKET) * GRID_BUCKET
    grid = xs[0] + step_m * np.arange(n)
    elevation = np.interp(grid, xs, zs)
    width = round(smoothing_m / step_m)
    if width > 1:
        # Box filter with edge values held: the onboard map resolves nothing finer than its smoothing width.
        pad = width // 2
        padded = np.pad(elevation, (pad, width - 1 - pad), mode="edge")
        smoothed = np.convolve(padded, np.ones(width) / width, mode="valid")
    else:
        smoothed = elevation.copy()
    elevation.setflags(write=False)
    smoothed.setflags(write=False)
    return float(xs[0]), elevation, smoothed


def terrain_grids(terrain: TerrainSpec) -> tuple[float, np.ndarray, np.ndarray]:
    """(grid start m, true elevation (N,), onboard map base (N,)) on a grid of ``terrain.grid_step_m``."""
    if terrain.profile_km_m is None:
        raise ConfigError(
            "field 'terrain.profile_km_m' is required by the 1-D terrain path (a list of [km, m] knots)",
            field="terrain.profile_km_m",
            value=None,
        )
    knots = tuple((float(a), float(b)) for a, b in terrain.profile_km_m)
    return _grids(knots, float(terrain.grid_step_m), float(terrain.map_smoothing_m))
