"""Why a failed sample failed: counterfactual re-flights of the same sample.

Each failure is flown again with one group of its dispersions removed (the group's parameters at their
undispersed values, every other draw, the initial draws and the noise stream unchanged: the engine's
``simulate_batch(..., drawn=...)``), and once more with a larger fuel margin. A group whose removal alone
lands the sample, or brings it down under control where only the ground fails it, is a named cause of its
failure ("lands" below means either); the larger margin says whether propellant would have bought it back. Touchdowns at rest on ground beyond the operational tilt, and dynamic tip-overs, are named
by the touchdown itself (the ground under the footpads), not re-flown.

Groups are the parameter registry's top-level sections of the dispersed paths (``imu.*``,
``navigation.*``, ``vehicle.*``, ...), so a study's own dispersions define them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.core import TOUCHDOWN_MODES, Result, simulate_batch
from riskengine.validation import cells

# What each registry section's dispersions are, in words; a section not listed is named by its key.
GROUP_LABELS: dict[str, str] = {
    "imu": "IMU errors",
    "navigation": "navigation errors at PDI",
    "vehicle": "engine and thrust-line dispersions",
    "altimeter": "altimeter dispersions",
    "terrain": "map errors",
    "guidance": "guidance dispersions",
}

# Modes whose cause is the ground at the touchdown point, named without a re-flight.
TERRAIN_MODES: dict[str, str] = {
    "at_rest_beyond_operational_tilt": "ground steeper than the operational tilt where it came to rest",
    "tipped_dynamic": "tipped over: touchdown speed across the slope beyond the stability envelope",
}
COMBINED = "combined dispersions (no single group's removal lands it)"


def _controlled(result: Result) -> np.ndarray:
    """(B,) bool: landed, or reached the ground under control and was failed by the ground alone (a
    counterfactual that cures a lander's navigation can still set it down on a steep wall at Atlas)."""
    modes = np.asarray(result.touchdown_mode)
    terrain = np.isin(modes, [TOUCHDOWN_MODES.index(m) for m in TERRAIN_MODES])
    return cells.success(result) | terrain


def groups(paths: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """{section: indices into ``paths``} in order of first appearance."""
    out: dict[str, list[int]] = {}
    for i, path in enumerate(paths):
        out.setdefault(path.split(".", 1)[0], []).append(i)
    return {k: tuple(v) for k, v in out.items()}


def label(group: str) -> str:
    return GROUP_LABELS.get(group, f"{group} dispersions")


@dataclass(frozen=True)
class Counterfactuals:
    """Per re-flown failure: does it land (or come down under control, failed by the ground alone) with
    each group removed, and with the larger margin."""

    samples: np.ndarray  # (F,) sample indices re-flown
    lands_without: dict[str, np.ndarray]  # group -> (F,) bool
    lands_with_margin: np.ndarray  # (F,) bool
    reproduced: np.ndarray  # (F,) bool: the all-drawn re-flight fails again (same program as the study)
    margin_pct: float


def reflight(
    site: str, latency_s: float, margin_pct: float, more_margin_pct: float, samples: np.ndarray, seed: int
) -> Counterfactuals:
    """Re-fly ``samples`` of the cell (site, latency, margin): as drawn, once per group with the group
    removed, and as drawn at ``more_margin_pct``."""
    disp = cells.dispersion()
    grp = groups(disp.paths)
    idx = np.asarray(samples, np.int32)
    f, d = idx.size, len(disp.paths)
    masks = [np.ones((f, d), bool)]
    for members in grp.values():
        m = np.ones((f, d), bool)
        m[:, list(members)] = False
        masks.append(m)
    key = cells.key(seed)
    if f:
        params = cells.cell_params(site, latency_s, margin_pct)
        flown = jax.device_get(
            simulate_batch(
                params, disp, key, jnp.asarray(np.tile(idx, len(masks))), jnp.asarray(np.concatenate(masks))
            )
        )
        ok = _controlled(flown).reshape(len(masks), f)
        more = _controlled(
            jax.device_get(
                simulate_batch(
                    cells.cell_params(site, latency_s, more_margin_pct), disp, key, jnp.asarray(idx)
                )
            )
        )
    else:
        ok = np.zeros((len(masks), 0), bool)
        more = np.zeros(0, bool)
    return Counterfactuals(
        samples=idx,
        lands_without={g: ok[1 + j] for j, g in enumerate(grp)},
        lands_with_margin=np.asarray(more, bool),
        reproduced=~ok[0],
        margin_pct=more_margin_pct,
    )


def name(record: dict[str, Any], cf: Counterfactuals | None, row: int | None) -> tuple[str, str]:
    """(mechanism, what the re-flights say) for one failure record (``working_system.failure_records``);
    ``row``: its position in ``cf`` (None when it was not re-flown)."""
    mode = record["mode"]
    if mode in TERRAIN_MODES:
        slope = record.get("slope_deg")
        detail = f"slope {slope:.1f} deg at the footpads" if slope is not None else ""
        return f"terrain: {TERRAIN_MODES[mode]}", detail
    if cf is None or row is None:
        return COMBINED, "not re-flown"
    saved_by = [g for g, lands in cf.lands_without.items() if lands[row]]
    notes = [f"lands without its {label(g)}" for g in saved_by]
    if cf.lands_with_margin[row]:
        notes.append(f"lands with {cf.margin_pct:g} % margin")
    if not cf.reproduced[row]:
        notes.append("re-flight as drawn does not fail the same way (not reproduced)")
    err = record.get("altitude_error_at_first_valid_m")
    if err is not None and abs(err) >= 500.0:
        side = "higher" if err < 0 else "lower"
        notes.append(f"{abs(err):.0f} m {side} than it believed at the first valid altimeter reading")
    detail = "; ".join(notes) or "no single re-flight lands it"
    if len(saved_by) == 1:
        return label(saved_by[0]), detail
    if saved_by:
        return " or ".join(label(g) for g in saved_by), detail
    return COMBINED, detail
