"""A site's terrain as core parameters: the true and onboard elevation models (``riskengine.terrain``),
the roughness the grids do not resolve, and the rock table for the vehicle's footpads."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from riskengine import terrain as site_terrain
from riskengine.config.models import TerrainSpec
from riskengine.core import ElevationGrid, ElevationModel, TerrainParams, elevation


def _f32(x: float) -> jnp.ndarray:
    return jnp.asarray(x, dtype=jnp.float32)


# One device copy per builder model per process, keyed on the identity of the builder's cached, immutable
# model (kept alive beside its copy, so the identity is never reused).
_CORE: dict[int, tuple[site_terrain.ElevationModel, ElevationModel]] = {}


def _model(model: site_terrain.ElevationModel) -> ElevationModel:
    hit = _CORE.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    grids = tuple(
        ElevationGrid(
            origin_m=jnp.asarray([g.origin_downrange_m, g.origin_crossrange_m], dtype=jnp.float32),
            step_m=_f32(g.step_m),
            heights_m=jnp.asarray(g.heights_m, dtype=jnp.float32),
        )
        for g in model.levels
    )
    core = elevation.model_of(grids)
    if len(_CORE) >= 32:
        _CORE.clear()
    _CORE[id(model)] = (model, core)
    return core


def terrain_params(terrain: TerrainSpec, footpad_diameter_m: float) -> TerrainParams:
    """Core :class:`TerrainParams` of ``terrain`` for a vehicle whose footpads are ``footpad_diameter_m`` wide.

    The sub-grid roughness is the site's RMS slope at its baseline (the background the builder generates),
    carried on to the footpad span by the engine; the rock table is the site-wide rock abundance's (a
    boulder field's higher abundance is not looked up by position here: ``rock_abundance_k``).
    """
    return TerrainParams(
        truth=_model(site_terrain.site_elevation(terrain, onboard=False)),
        onboard=_model(site_terrain.site_elevation(terrain, onboard=True)),
        map_fidelity=_f32(terrain.map_fidelity),
        map_offset_m=_f32(terrain.map_offset_m),
        map_shift_downrange_m=_f32(terrain.map_shift_downrange_m),
        map_shift_crossrange_m=_f32(terrain.map_shift_crossrange_m),
        roughness_gradient=_f32(np.tan(np.deg2rad(terrain.roughness_rms_slope_deg))),
        roughness_baseline_m=_f32(terrain.roughness_baseline_m),
        hurst_exponent=_f32(terrain.hurst_exponent),
        rock_height_quantiles_m=jnp.asarray(
            site_terrain.rock_height_quantiles_m(terrain, footpad_diameter_m), dtype=jnp.float32
        ),
    )
