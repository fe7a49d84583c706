"""Figure of a site elevation model: hillshaded truth per level, the ground track, the onboard map's error.

matplotlib (Agg) is imported when a figure is drawn, not at import. Axes are track coordinates, km:
downrange horizontal (flight to the right), crossrange vertical (left of track up).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from riskengine.config.models import TerrainSpec
from riskengine.errors import ConfigError
from riskengine.terrain._grid import ElevationModel, Grid, bilinear_nodes, make_grid


def _hillshade(
    h: np.ndarray, step_m: float, azimuth_deg: float = 315.0, altitude_deg: float = 35.0
) -> np.ndarray:
    """Lambertian shading 0..1 of heights (n0 downrange, n1 crossrange) lit from ``azimuth_deg`` in the plot."""
    dx, dy = np.gradient(h.astype(np.float64), step_m)
    slope = np.arctan(np.hypot(dx, dy))
    aspect = np.arctan2(-dy, -dx)
    az, alt = np.radians(azimuth_deg), np.radians(altitude_deg)
    shade = np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    return np.clip(shade, 0.0, 1.0)


def _extent_km(g: Grid) -> tuple[float, float, float, float]:
    half = 0.5 * g.step_m
    return (
        (g.origin_downrange_m - half) / 1e3,
        (g.end_downrange_m + half) / 1e3,
        (g.origin_crossrange_m - half) / 1e3,
        (g.end_crossrange_m + half) / 1e3,
    )


def map_as_flown(onboard: ElevationModel, terrain: TerrainSpec) -> ElevationModel:
    """The onboard map with ``terrain``'s map errors applied as the engine applies them
    (``core.terrain.onboard_model``): ``map_fidelity * map(x - shift) + map_offset_m``, resampled on the map's
    own nodes so that ``truth - map`` compares level by level (a figure helper; the engine does this per
    sample)."""
    sx, sy = terrain.map_shift_downrange_m, terrain.map_shift_crossrange_m
    levels = []
    for g in onboard.levels:
        x, y = g.nodes()
        h = bilinear_nodes(g, x - sx, y - sy) if (sx or sy) else np.asarray(g.heights_m, np.float64)
        h = terrain.map_fidelity * h + terrain.map_offset_m
        levels.append(make_grid(g.origin_downrange_m, g.origin_crossrange_m, g.step_m, h))
    return ElevationModel(tuple(levels))


def plot_elevation(
    model: ElevationModel,
    *,
    track: tuple[ArrayLike, ArrayLike] | None = None,
    onboard: ElevationModel | None = None,
    path: str | Path,
) -> Path:
    """Write a figure of ``model`` to ``path`` (PNG or SVG, by suffix): one row per level (coarsest first)
    with the hillshaded, colour-coded truth, the optional ground ``track`` (downrange m, crossrange m
    arrays) and, with ``onboard``, a second column of the map error truth - map, m."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(path)
    if out.suffix.lower() not in {".png", ".svg"}:
        raise ConfigError(
            f"field 'path' = '{out}': the suffix must be .png or .svg", field="path", value=str(out)
        )
    cols = 2 if onboard is not None else 1
    n = len(model.levels)
    fig, axes = plt.subplots(n, cols, figsize=(7.0 * cols, 3.2 * n), squeeze=False)
    for row, g in enumerate(model.levels):
        ax = axes[row][0]
        h = np.asarray(g.heights_m, dtype=np.float64)
        ext = _extent_km(g)
        img = ax.imshow(h.T, origin="lower", extent=ext, cmap="terrain", aspect="auto")
        ax.imshow(
            _hillshade(h, g.step_m).T, origin="lower", extent=ext, cmap="gray", alpha=0.35, aspect="auto"
        )
        fig.colorbar(img, ax=ax, label="height, m")
        ax.set_title(f"truth, level {row} ({g.step_m:g} m cells)")
        ax.set_xlabel("downrange, km")
        ax.set_ylabel("crossrange, km")
        if track is not None:
            x, y = (np.asarray(a, dtype=np.float64) / 1e3 for a in track)
            ax.plot(x, y, color="crimson", lw=1.0, label="ground track")
            ax.set_xlim(ext[0], ext[1])
            ax.set_ylim(ext[2], ext[3])
        if onboard is not None:
            m = onboard.levels[row]
            err = h - np.asarray(m.heights_m, dtype=np.float64)
            lim = float(np.percentile(np.abs(err), 99.5)) or 1.0
            ax2 = axes[row][1]
            im2 = ax2.imshow(
                err.T, origin="lower", extent=ext, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto"
            )
            fig.colorbar(im2, ax=ax2, label="truth - map, m")
            ax2.set_title(f"onboard map error, level {row}")
            ax2.set_xlabel("downrange, km")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
