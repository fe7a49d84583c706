"""Assemble a site's levels: named landforms + procedural craters + fractal roughness (+ a user DEM),
each finer level adding only what it resolves beyond its parent, tapered so the levels join without a step.

For level i >= 1 with parent surface P (bilinear, at the level's nodes):
    heights = P + w * [S_<i - interp(S_<i on the parent's nodes) + C_i + R_i]
where S_<i is the analytic surface (landforms + craters of coarser bands) evaluated at this level's
resolution, C_i the craters only this level resolves, R_i its roughness band and w the taper (0 on the
outermost ring, 1 inside the outer ~10 %). Where w = 1 the level is the full surface at its own resolution;
where w = 0 it equals P exactly (the grids are lattice-aligned, see ``_levels``). The padding cells of a
finer level hold P; those of the coarsest level hold its edge values.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from riskengine.config.models import TerrainSpec
from riskengine.config.terrain_models import (
    BoulderFieldSpec,
    BowlCraterSpec,
    ComplexCraterSpec,
    DomeSpec,
    FeatureSpec,
    RilleSpec,
    WrinkleRidgeSpec,
)
from riskengine.terrain import _craters, _landforms, _spectral
from riskengine.terrain._dem import Dem, read_dem
from riskengine.terrain._frames import to_track
from riskengine.terrain._grid import ElevationModel, Grid, bilinear_nodes, make_grid
from riskengine.terrain._levels import LevelGeometry, layout

F64 = NDArray[np.floating]
# Fractal roughness stops at this wavelength (ESTIMATE): longer relief is the landforms' and the craters'.
ROUGHNESS_MAX_WAVELENGTH_M = 1000.0
# Per-sample map errors the engine applies; they never change the grids (and so are not in the cache key).
PER_SAMPLE_FIELDS = {
    "map_fidelity": 1.0,
    "map_offset_m": 0.0,
    "map_shift_downrange_m": 0.0,
    "map_shift_crossrange_m": 0.0,
}


def cache_key(terrain: TerrainSpec) -> str:
    """JSON of the fields that shape the grids (per-sample map errors set to fixed values)."""
    return terrain.model_copy(update=PER_SAMPLE_FIELDS).model_dump_json()


def _reach_m(f: FeatureSpec) -> float:
    """Distance from a feature's centre beyond which its height is exactly 0, m."""
    if isinstance(f, ComplexCraterSpec):
        return _landforms.EJECTA_REACH * 0.5e3 * f.diameter_km
    if isinstance(f, BowlCraterSpec):
        return _landforms.EJECTA_REACH * 0.5 * f.diameter_m
    if isinstance(f, WrinkleRidgeSpec):
        return 0.5e3 * f.length_km + 1e3 * f.width_km
    if isinstance(f, DomeSpec):
        return 0.5e3 * f.diameter_km
    if isinstance(f, RilleSpec):
        return 0.5e3 * f.length_km + f.width_m
    return 0.0


def _landform(terrain: TerrainSpec, f: FeatureSpec, x: F64, y: F64) -> F64:
    az = terrain.approach_azimuth_deg
    if isinstance(f, ComplexCraterSpec):
        return _landforms.complex_crater(f, x, y, az, terrain.seed)
    if isinstance(f, BowlCraterSpec):
        return _landforms.bowl_crater(f, x, y, az)
    if isinstance(f, WrinkleRidgeSpec):
        return _landforms.wrinkle_ridge(f, x, y, az)
    if isinstance(f, DomeSpec):
        return _landforms.dome(f, x, y, az)
    if isinstance(f, RilleSpec):
        return _landforms.rille(f, x, y, az)
    return np.zeros(np.broadcast(x, y).shape)  # a boulder field has no relief of its own


def landforms_height(terrain: TerrainSpec, features: tuple[str, ...] | None, xs: F64, ys: F64) -> F64:
    """Summed named-landform heights (m) on the tensor grid of track axes ``xs`` x ``ys`` (1-D, m, increasing);
    ``features``: names to include (None: all). Each feature is evaluated only where it can be non-zero."""
    out = np.zeros((xs.size, ys.size))
    for f in terrain.features:
        if (features is not None and f.name not in features) or isinstance(f, BoulderFieldSpec):
            continue
        x0, y0 = to_track(f.east_km * 1e3, f.north_km * 1e3, terrain.approach_azimuth_deg)
        reach = _reach_m(f)
        i0, i1 = np.searchsorted(xs, [x0 - reach, x0 + reach])
        j0, j1 = np.searchsorted(ys, [y0 - reach, y0 + reach])
        if i1 > i0 and j1 > j0:
            out[i0:i1, j0:j1] += _landform(terrain, f, xs[i0:i1, None], ys[None, j0:j1])
    return out


@dataclass(frozen=True)
class Content:
    """What the truth is made of: level geometry, crater bands (one per level), datum (m), user DEM."""

    geometry: tuple[LevelGeometry, ...]
    bands: tuple[_craters.Craters, ...]
    datum_m: float
    dem: Dem | None


def _bands(terrain: TerrainSpec, geometry: list[LevelGeometry]) -> list[_craters.Craters]:
    pop, out = terrain.craters, []
    for i, g in enumerate(geometry):
        d_lo = pop.min_cells * g.step_m
        d_hi = pop.max_diameter_m if i == 0 else pop.min_cells * geometry[i - 1].step_m
        d_hi = min(d_hi, pop.max_diameter_m)
        margin = _landforms.EJECTA_REACH * 0.5 * d_hi
        x1, y1 = g.real_end()
        bounds = (g.origin[0] - margin, x1 + margin, g.origin[1] - margin, y1 + margin)
        rng = np.random.default_rng([terrain.seed, 1, i])
        out.append(_craters.sample(pop, bounds, d_lo, d_hi, rng))
    return out


@functools.lru_cache(maxsize=16)
def content(key: str, dem_key: tuple[str, int, int] | None) -> Content:
    """Cached per grid-shaping spec (``cache_key``) and DEM file identity (``_dem.file_key``)."""
    terrain = TerrainSpec.model_validate_json(key)
    geometry = layout(terrain.levels)
    bands = _bands(terrain, geometry)
    zero = np.zeros(1)
    at_target = landforms_height(terrain, None, zero, zero)[0, 0]
    at_target += sum(float(_craters.heights_at(b, zero, zero)[0]) for b in bands)
    dem = read_dem(terrain.dem_file, terrain.approach_azimuth_deg) if terrain.dem_file else None
    return Content(tuple(geometry), tuple(bands), -float(at_target), dem)


def _roughness(key: str, i: int) -> F64 | float:
    """Roughness band of level ``i`` on its real nodes, m (not cached: ~0.1 s, and 14 MB a site if kept)."""
    terrain = TerrainSpec.model_validate_json(key)
    geometry = layout(terrain.levels)
    g = geometry[i]
    longest = (
        ROUGHNESS_MAX_WAVELENGTH_M
        if i == 0
        else min(ROUGHNESS_MAX_WAVELENGTH_M, 2.0 * geometry[i - 1].step_m)
    )
    if terrain.roughness_rms_slope_deg <= 0.0 or longest <= 2.0 * g.step_m:
        return 0.0
    # One PSD for all levels, calibrated on the band the finest level realises (its Nyquist to the cap).
    band = (2.0 * geometry[-1].step_m, ROUGHNESS_MAX_WAVELENGTH_M)
    c = _spectral.fbm_psd_coefficient(
        terrain.roughness_rms_slope_deg, terrain.roughness_baseline_m, terrain.hurst_exponent, band
    )
    rng = np.random.default_rng([terrain.seed, 2, i])
    field = _spectral.fbm(g.real, g.step_m, c, terrain.hurst_exponent, (2.0 * g.step_m, longest), rng)
    return field


def _stitch(parent: Grid | None, g: LevelGeometry, real_heights: F64) -> tuple[Grid, F64]:
    """Level grid whose real region is ``parent + w * (real_heights - parent)`` and whose padding holds the
    parent surface (or, for the coarsest level, the edge values). Returns (grid, parent surface on real)."""
    r0, r1 = g.real
    if parent is None:
        full = np.pad(real_heights, ((0, g.shape[0] - r0), (0, g.shape[1] - r1)), mode="edge")
        return make_grid(g.origin[0], g.origin[1], g.step_m, full), np.zeros_like(real_heights)
    xs, ys = g.axes()
    full = bilinear_nodes(parent, xs, ys)
    base = full[:r0, :r1].copy()
    full[:r0, :r1] = base + g.taper() * (real_heights - base)
    return make_grid(g.origin[0], g.origin[1], g.step_m, full), base


def assemble(
    terrain: TerrainSpec,
    c: Content,
    features: tuple[str, ...] | None = None,
    min_crater_m: float = 0.0,
) -> tuple[list[Grid], list[F64]]:
    """Truth levels (or, with features / craters left out, the map's undegraded surface), and each level's
    real-region heights before the taper (what the map degrades before it is stitched in turn)."""
    grids: list[Grid] = []
    untapered: list[F64] = []
    own_prev: Grid | None = None
    for i, g in enumerate(c.geometry):
        xs, ys = g.axes(padded=False)
        x, y = xs[:, None], ys[None, :]
        bands = [b.select(b.diameter_m >= min_crater_m) for b in c.bands]
        coarser = _craters.Craters.concat(bands[:i])
        below = (
            c.datum_m
            + landforms_height(terrain, features, xs, ys)
            + _craters.render(coarser, g.origin, g.step_m, g.real)
        )
        own = below + _craters.render(bands[i], g.origin, g.step_m, g.real)
        rough = _roughness(cache_key(terrain), i)
        if own_prev is None:
            real = own + rough
        else:
            parent = grids[-1]
            base = bilinear_nodes(parent, xs, ys)
            real = base + (below - bilinear_nodes(own_prev, xs, ys)) + (own - below) + rough
            if c.dem is not None:
                h_dem, b = c.dem.sample(
                    np.broadcast_to(x, g.real), np.broadcast_to(y, g.real), terrain.approach_azimuth_deg
                )
                real = b * h_dem + (1.0 - b) * real
        grid, _ = _stitch(grids[-1] if grids else None, g, real)
        grids.append(grid)
        untapered.append(real)
        own_prev = Grid(g.origin[0], g.origin[1], g.step_m, own)
    return grids, untapered


def degrade(terrain: TerrainSpec, c: Content, untapered: list[F64]) -> list[Grid]:
    """The onboard map: each level's untapered surface low-passed to ``map_resolution_m`` and blurred by
    ``map_smoothing_m``, then stitched onto the map's coarser level, so the map's levels join without a
    step too (and with no degradation the map is the truth)."""
    out: list[Grid] = []
    for g, real in zip(c.geometry, untapered, strict=True):
        filtered = _spectral.lowpass(
            real, g.step_m, cutoff_m=2.0 * terrain.map_resolution_m, sigma_m=terrain.map_smoothing_m
        )
        grid, _ = _stitch(out[-1] if out else None, g, filtered)
        out.append(grid)
    return out


def _shifted(grids: list[Grid], shift_m: float) -> ElevationModel:
    return ElevationModel(
        tuple(
            make_grid(g.origin_downrange_m, g.origin_crossrange_m, g.step_m, g.heights_m + shift_m)
            for g in grids
        )
    )


@functools.lru_cache(maxsize=16)
def _truth(key: str, dem_key: tuple[str, int, int] | None) -> tuple[ElevationModel, float]:
    """(truth, the shift applied): one constant so the truth is exactly 0 at the target (the landform and
    crater datum leaves the roughness there; a constant keeps the levels' continuity)."""
    raw = ElevationModel(tuple(assemble(TerrainSpec.model_validate_json(key), content(key, dem_key))[0]))
    shift = -float(raw.height_m(0.0, 0.0))
    return _shifted(list(raw.levels), shift), shift


@functools.lru_cache(maxsize=16)
def _map(key: str, dem_key: tuple[str, int, int] | None) -> ElevationModel:
    terrain = TerrainSpec.model_validate_json(key)
    c = content(key, dem_key)
    names = tuple(f.name for f in terrain.features if f.name not in set(terrain.map_missing_features))
    _, untapered = assemble(terrain, c, names, terrain.map_min_crater_diameter_m)
    return _shifted(degrade(terrain, c, untapered), _truth(key, dem_key)[1])


def build(key: str, dem_key: tuple[str, int, int] | None, onboard: bool) -> ElevationModel:
    """Truth or onboard map (both cached), shifted by the same constant."""
    return _map(key, dem_key) if onboard else _truth(key, dem_key)[0]
