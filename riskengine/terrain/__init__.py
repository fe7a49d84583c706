"""2-D site elevation models and the onboard map, built with NumPy at load time (no JAX here).

Frame: site track coordinates. ``downrange_m`` is the arc along the ground track (direction of flight
``TerrainSpec.approach_azimuth_deg``, clockwise from north; the approach comes from negative downrange,
the target is at 0); ``crossrange_m`` is the arc to the left of track. Heights are m above the site's
reference sphere, shifted so the landing target is near 0.

    model = site_elevation(site.terrain, onboard=False)   # truth; onboard=True: the degraded map
    h, dh_dx, dh_dy = bilinear(model.levels[-1], x_m, y_m)
    rock_height_quantiles_m(site.terrain, footpad_diameter_m=0.3)

Per-sample map errors (``map_offset_m``, ``map_shift_downrange_m``, ``map_shift_crossrange_m``,
``map_fidelity``) are not applied here: the engine applies them to the onboard map per sample.
"""

from __future__ import annotations

import numpy as np

from riskengine.config.models import TerrainSpec
from riskengine.config.terrain_models import BoulderFieldSpec
from riskengine.terrain import _build, _dem, _rocks
from riskengine.terrain._frames import to_track
from riskengine.terrain._grid import ElevationModel, Grid, bilinear

__all__ = [
    "ElevationModel",
    "Grid",
    "bilinear",
    "rock_abundance_k",
    "rock_height_quantiles_m",
    "site_elevation",
]


def site_elevation(terrain: TerrainSpec, *, onboard: bool) -> ElevationModel:
    """Truth (``onboard=False``) or onboard map (``onboard=True``) of the site, coarsest level first.

    Deterministic from ``terrain.seed``; cached on the grid-shaping fields (and the DEM file's identity),
    so per-sample map errors and repeated calls in a worker cost nothing. ConfigError for bad levels or DEMs.
    """
    key = _build.cache_key(terrain)
    return _build.build(key, _dem.file_key(terrain.dem_file), onboard)


def rock_abundance_k(
    terrain: TerrainSpec, downrange_m: float | None = None, crossrange_m: float | None = None
) -> float:
    """Golombek-Rapp k at a track point: the largest of the site-wide k and any boulder field covering it
    (without a point: the site-wide k)."""
    k = terrain.rock_abundance_k
    if downrange_m is None or crossrange_m is None:
        return k
    for f in terrain.features:
        if isinstance(f, BoulderFieldSpec):
            x0, y0 = to_track(f.east_km * 1e3, f.north_km * 1e3, terrain.approach_azimuth_deg)
            if np.hypot(downrange_m - x0, crossrange_m - y0) <= f.radius_km * 1e3:
                k = max(k, f.rock_abundance_k)
    return k


def rock_height_quantiles_m(
    terrain: TerrainSpec,
    footpad_diameter_m: float,
    n: int = 64,
    *,
    downrange_m: float | None = None,
    crossrange_m: float | None = None,
) -> np.ndarray:
    """(n,) heights, m, of the tallest rock under one footpad at probabilities (i + 0.5) / n (most are 0).

    Rock abundance from ``rock_abundance_k`` (site-wide, or at the point if one is given); see ``_rocks``."""
    k = rock_abundance_k(terrain, downrange_m, crossrange_m)
    return _rocks.tallest_rock_quantiles(k, footpad_diameter_m, n)
