"""Figures (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from riskengine.errors import ConfigError

if TYPE_CHECKING:
    import xarray as xr

    from riskengine.replay import ReplayRun

FIGURE_FORMATS = (".png", ".svg")


def plot_replay(replay: ReplayRun, path: str) -> None:
    """True and believed altitude, vertical speed and propellant against time, with the story's events."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = replay.trace
    t = np.asarray(tr.t_s)
    keep = np.concatenate([[True], np.diff(t) > 0])  # the trace pads with the final state after contact
    t = t[keep]
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    axes[0].plot(t, np.asarray(tr.true_altitude_m)[keep] / 1000, label="true altitude above terrain")
    axes[0].plot(
        t, np.asarray(tr.estimated_altitude_m)[keep] / 1000, "--", label="altitude navigation believes"
    )
    axes[0].set_ylabel("altitude (km)")
    axes[1].plot(t, np.asarray(tr.vertical_speed_mps)[keep], color="C2")
    axes[1].set_ylabel("vertical speed (m/s)")
    axes[2].plot(t, np.asarray(tr.propellant_kg)[keep], color="C3")
    axes[2].set_ylabel("propellant (kg)")
    axes[2].set_xlabel("time since powered-descent initiation (s)")
    for e in replay.events():
        for ax in axes:
            ax.axvline(e["t_s"], color="0.7", lw=0.8)
        axes[0].annotate(
            e["name"], (e["t_s"], axes[0].get_ylim()[1]), rotation=90, fontsize=7, va="top", ha="right"
        )
    axes[0].legend(loc="center left", fontsize=8)
    fig.suptitle(f"{replay.spec.name} at {replay.spec.site}: {replay.outcome}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_site_elevation(
    site: str, path: str | Path, *, replay: str | None = None, onboard: bool = False
) -> Path:
    """A site's true elevation model, level by level (``riskengine.terrain.plot.plot_elevation``); with
    ``replay`` (a replay preset at this site) its ground track, flown here, and the terrain the replay
    states (its terrain assignments); with ``onboard`` the onboard map's error, truth - map, with the map
    errors the site (or the replay) states applied. ``path``: ``.png`` or ``.svg``."""
    from riskengine.config.scenario import ScenarioSpec, resolved_values, terrain_spec
    from riskengine.terrain import site_elevation
    from riskengine.terrain.plot import map_as_flown, plot_elevation

    _figure_format(path)
    track = None
    if replay is None:
        terrain = terrain_spec(resolved_values(ScenarioSpec(), site), site)
    else:
        from riskengine.replay import load_replay, replay_values, run_replay

        spec = load_replay(replay)
        if spec.site != site:
            raise ConfigError(
                f"field 'replay' = {replay!r}: replay {replay!r} flies at site {spec.site!r}, not {site!r}",
                field="replay",
                value=replay,
            )
        terrain = terrain_spec(replay_values(spec), site)
        trace = run_replay(spec).trace
        track = (np.asarray(trace.downrange_m, np.float64), np.asarray(trace.crossrange_m, np.float64))
    truth = site_elevation(terrain, onboard=False)
    believed = map_as_flown(site_elevation(terrain, onboard=True), terrain) if onboard else None
    return plot_elevation(truth, track=track, onboard=believed, path=path)


def _figure_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise ConfigError(
            f"figure file {str(path)!r}: suffix {suffix or '(none)'!r} not supported; allowed: {FIGURE_FORMATS}",
            field="out",
            value=str(path),
        )
    return suffix[1:]


def plot_landing_map(ds: xr.Dataset, cell: Mapping[str, Any], path: str | Path) -> None:
    """One cell's landing map: left, ground contacts per bin (colour, log scale) with a marker on every bin
    whose commonest outcome is not the success outcome, the 50/90/99 % dispersion ellipses and the target;
    middle, the observed hazard map; right, when the cube has it, the terrain hazard map (``hazard_terrain``,
    the engine's tilt model over the elevation model). ``ds``: a study cube (``xarray.open_zarr``); ``cell``: ``site`` and
    grid-axis values (see :func:`riskengine.study.cube.select_cell`); ``path``: ``.png`` or ``.svg``."""
    fmt = _figure_format(path)
    if "landing_count" not in ds:
        raise ConfigError("this cube has no landing maps (made before they existed)", field="cube")
    from riskengine.study.cube import select_cell

    c = select_cell(ds, cell).load()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Ellipse

    x, y = c["touchdown_x_m"].values, c["touchdown_y_m"].values
    half_bin = 0.5 * float(c["touchdown_x_m"].attrs["bin_width_m"])
    ex = np.append(x - half_bin, x[-1] + half_bin)
    ey = np.append(y - half_bin, y[-1] + half_bin)
    outcomes = [str(o) for o in c["outcome"].values]
    success = str(c["outcome"].attrs.get("success_outcome", outcomes[0]))
    per = c["landing_count"].transpose("outcome", "touchdown_x_m", "touchdown_y_m").values
    total = per.sum(axis=0)
    hazard = c["hazard_observed"].transpose("touchdown_x_m", "touchdown_y_m").values
    terrain = (
        c["hazard_terrain"].transpose("touchdown_x_m", "touchdown_y_m").values
        if "hazard_terrain" in c
        else None
    )
    if terrain is not None and not np.isfinite(terrain).any():
        terrain = None  # a cell not yet written, or a kernel without terrain
    panels = 2 if terrain is None else 3
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 6.4), sharex=True, sharey=True)
    ax = axes[0]
    shown = np.where(total > 0, total, np.nan)
    vmax = max(float(np.nanmax(shown)) if np.isfinite(shown).any() else 1.0, 1.0)
    mesh = ax.pcolormesh(ex, ey, shown.T, norm=LogNorm(vmin=1, vmax=max(vmax, 2)), cmap="viridis")
    mesh.set_rasterized(True)  # one image in an SVG, not a path per bin
    fig.colorbar(mesh, ax=ax, label="ground contacts per bin", shrink=0.75)
    dominant = per.argmax(axis=0)
    markers = "o^sDvP*X"
    for k, name in enumerate(outcomes):
        in_map, outside = int(per[k].sum()), int(c["landing_outside_count"].values[k])
        none = int(c["landing_no_contact_count"].values[k])
        label = f"{name}: {in_map} in map, {outside} outside, {none} no contact"
        if name == success:
            ax.plot([], [], " ", label=label)
            continue
        ix, iy = np.nonzero((dominant == k) & (total > 0))
        ax.scatter(x[ix], y[iy], s=14, marker=markers[k % len(markers)], facecolors="none",
                   edgecolors=f"C{k}", linewidths=0.9, label=label)  # fmt: skip
    h = axes[1].pcolormesh(ex, ey, hazard.T, vmin=0.0, vmax=1.0, cmap="magma_r")
    h.set_rasterized(True)
    fig.colorbar(h, ax=axes[1], label="P(slope/rock limit exceeded | touchdown in bin)", shrink=0.75)
    if terrain is not None:
        ht = axes[2].pcolormesh(ex, ey, terrain.T, vmin=0.0, vmax=1.0, cmap="magma_r")
        ht.set_rasterized(True)
        fig.colorbar(
            ht, ax=axes[2], label="P(slope/rock limit exceeded), uniform touchdown in bin", shrink=0.75
        )
        axes[2].set_title("hazard map (terrain model)", fontsize=10)
    centre = (float(c["landing_centre_x_m"]), float(c["landing_centre_y_m"]))
    levels = [float(v) for v in c["ellipse_level"].values]
    reach = 0.0
    for a in axes:
        for i, level in enumerate(levels):
            major = float(c["landing_ellipse_semi_major_m"].values[i])
            minor = float(c["landing_ellipse_semi_minor_m"].values[i])
            if not np.isfinite(major):
                continue
            reach = max(reach, major)
            a.add_patch(Ellipse(centre, 2 * major, 2 * minor, angle=float(c["landing_ellipse_orientation_deg"]),
                                fill=False, color="red", lw=1.2, ls=("-", "--", ":")[i % 3],
                                label=f"{level:.0%} ellipse" if a is axes[0] else None))  # fmt: skip
        a.plot([0], [0], marker="+", color="black", ms=14, mew=2, label="target" if a is axes[0] else None)
        a.set_aspect("equal")
        a.set_xlabel("downrange x (m)")
    axes[0].set_ylabel("crossrange y (m, positive left)")
    _zoom(axes[0], x, y, total, centre, reach, half_bin)
    where = ", ".join(f"{d}={c[d].values!s}" for d in ds["p_success"].dims)
    n = int(c["n"])
    axes[0].set_title(f"landing map (n = {n})", fontsize=10)
    axes[1].set_title("hazard map (observed)", fontsize=10)
    fig.suptitle(where, fontsize=10)
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7.5, frameon=False,
               title="outcomes (markers: bins where that outcome is the commonest)", title_fontsize=8)  # fmt: skip
    fig.savefig(path, format=fmt, dpi=110)
    plt.close(fig)


def _zoom(
    ax: Any, x: np.ndarray, y: np.ndarray, total: np.ndarray, centre: Any, reach: float, pad: float
) -> None:
    """Frame the contacts and the ellipses (the whole map if there are none), square."""
    ix, iy = np.nonzero(total)
    xs = [*x[ix], 0.0]
    ys = [*y[iy], 0.0]
    if np.isfinite(reach) and reach > 0 and np.isfinite(centre[0]):
        xs += [centre[0] - reach, centre[0] + reach]
        ys += [centre[1] - reach, centre[1] + reach]
    lo_x, hi_x = max(min(xs) - 4 * pad, x[0] - pad), min(max(xs) + 4 * pad, x[-1] + pad)
    lo_y, hi_y = max(min(ys) - 4 * pad, y[0] - pad), min(max(ys) + 4 * pad, y[-1] + pad)
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(lo_y, hi_y)
