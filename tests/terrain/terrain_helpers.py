"""Small synthetic sites (a few 256-cell blocks per level) so the terrain tests stay fast."""

from __future__ import annotations

from typing import Any

import numpy as np

from riskengine.config.models import SiteSpec, TerrainSpec
from riskengine.config.presets import load_preset
from riskengine.terrain import Grid

SMALL_LEVELS: list[dict[str, Any]] = [
    {"step_m": 400.0, "downrange_km": [-60.0, 10.0], "crossrange_km": [-12.0, 12.0]},
    {"step_m": 25.0, "downrange_km": [-5.0, 2.0], "crossrange_km": [-2.0, 2.0]},
    {"step_m": 5.0, "downrange_km": [-1.0, 1.0], "crossrange_km": [-1.0, 1.0]},
]


def small_terrain(**overrides: Any) -> TerrainSpec:
    """A mare site on the small levels; keyword arguments replace fields."""
    data: dict[str, Any] = {
        "seed": 7,
        "approach_azimuth_deg": 270.0,
        "levels": SMALL_LEVELS,
        "features": [],
        "roughness_rms_slope_deg": 2.0,
    }
    data.update(overrides)
    return TerrainSpec.model_validate(data)


def site_terrain(name: str) -> TerrainSpec:
    return load_preset("sites", name, SiteSpec).terrain


def rms_slope_deg(grid: Grid, baseline_m: float, half_width_m: float) -> float:
    """RMS bidirectional slope at ``baseline_m`` (Rosenburg et al. 2011: atan of the RMS height difference
    over the baseline, along both grid axes) of the nodes within ``half_width_m`` of the target."""
    lag = round(baseline_m / grid.step_m)
    x, y = grid.nodes()
    h = np.asarray(grid.heights_m, dtype=np.float64)[np.abs(x) <= half_width_m][:, np.abs(y) <= half_width_m]
    d0, d1 = h[lag:] - h[:-lag], h[:, lag:] - h[:, :-lag]
    nu = np.sqrt(0.5 * (np.mean(d0**2) + np.mean(d1**2)))
    return float(np.degrees(np.arctan(nu / (lag * grid.step_m))))


SITES = ("atlas_crater", "mare_frigoris", "tranquility_base", "mare_crisium")
