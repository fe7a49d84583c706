"""A site's terrain as core parameters: the true and onboard elevation models, sub-grid roughness, rocks."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from riskengine.config.models import TerrainSpec
from riskengine.config.terrain_grid import terrain_grids
from riskengine.core import ElevationGrid, ElevationModel, TerrainParams


def _f32(x: float) -> jnp.ndarray:
    return jnp.asarray(x, dtype=jnp.float32)


def _profile_levels(
    terrain: TerrainSpec, onboard: bool
) -> tuple[tuple[float, float, float, np.ndarray], ...]:
    """Levels (origin s, origin c, step, heights) of a 1-D along-track profile extruded across the track."""
    start, elevation, smoothed = terrain_grids(terrain)
    heights = smoothed if onboard else elevation
    across = 32
    step = float(terrain.grid_step_m)
    grid = np.repeat(heights[:, None], across, axis=1).astype(np.float32)
    return ((start, -0.5 * step * (across - 1), step, grid),)


def _model(terrain: TerrainSpec, onboard: bool) -> ElevationModel:
    return _model_cached(terrain.model_dump_json(), onboard)


@functools.lru_cache(maxsize=32)
def _model_cached(terrain_json: str, onboard: bool) -> ElevationModel:
    terrain = TerrainSpec.model_validate_json(terrain_json)
    levels = _profile_levels(terrain, onboard)
    grids = tuple(
        ElevationGrid(
            origin_m=jnp.asarray([s0, c0], dtype=jnp.float32),
            step_m=_f32(step),
            heights_m=jnp.asarray(h, dtype=jnp.float32),
        )
        for s0, c0, step, h in levels
    )
    return ElevationModel(levels=grids, max_height_m=_f32(max(float(np.max(h)) for *_, h in levels)))


def _rock_quantiles(terrain: TerrainSpec, n: int = 64) -> np.ndarray:
    p = (np.arange(n) + 0.5) / n
    return (-terrain.rock_height_mean_m * np.log1p(-p)).astype(np.float32)


def terrain_params(terrain: TerrainSpec, footprint_radius_m: float) -> TerrainParams:
    """Core :class:`TerrainParams` of ``terrain`` for a vehicle with footpads ``footprint_radius_m`` out."""
    del footprint_radius_m
    return TerrainParams(
        truth=_model(terrain, False),
        onboard=_model(terrain, True),
        map_fidelity=_f32(terrain.map_fidelity),
        map_offset_m=_f32(terrain.map_offset_m),
        map_shift_downrange_m=_f32(terrain.map_shift_m),
        map_shift_crossrange_m=_f32(0.0),
        subgrid_slope_sigma=_f32(np.tan(np.deg2rad(terrain.slope_sigma_deg))),
        rock_height_quantiles_m=jnp.asarray(_rock_quantiles(terrain)),
    )
