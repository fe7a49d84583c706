"""Level geometry: snap each level to its parent's lattice, pad its shape to a bucket, check the nesting.

A finer level's nodes are a subset-aligned refinement of its parent's (integer step ratio, origin on a
parent node), so on the region where the finer level equals the parent's bilinear surface it reproduces
that surface exactly, between its nodes too (bilinear on a parent cell is bilinear on each sub-cell).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from riskengine.config.terrain_models import LevelSpec
from riskengine.errors import ConfigError

# XLA compiles one program per array shape: padding every level's shape up to a multiple of this many cells
# lets sites with similar extents (and every study cell of one site) share one compiled engine.
SHAPE_BUCKET = 256
MAX_MODEL_BYTES = 16 * 2**20  # one model (truth or map), float32; the design target is ~12 MB


@dataclass(frozen=True)
class LevelGeometry:
    """Node lattice of one level, m: origin, step, real (unpadded) node counts and padded shape."""

    origin: tuple[float, float]
    step_m: float
    real: tuple[int, int]
    shape: tuple[int, int]

    def axes(self, padded: bool = True) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
        n0, n1 = self.shape if padded else self.real
        return (self.origin[0] + self.step_m * np.arange(n0), self.origin[1] + self.step_m * np.arange(n1))

    def real_end(self) -> tuple[float, float]:
        return (
            self.origin[0] + (self.real[0] - 1) * self.step_m,
            self.origin[1] + (self.real[1] - 1) * self.step_m,
        )

    def padded_end(self) -> tuple[float, float]:
        return (
            self.origin[0] + (self.shape[0] - 1) * self.step_m,
            self.origin[1] + (self.shape[1] - 1) * self.step_m,
        )

    def taper(self) -> NDArray[np.float64]:
        """(real0, real1) blend weight: 0 on the outermost ring of nodes, 1 inside the outer ~10 %."""

        def ramp(n: int) -> NDArray[np.float64]:
            d = np.minimum(np.arange(n), n - 1 - np.arange(n)).astype(np.float64)
            t = np.clip(d / max(2.0, round(0.1 * n)), 0.0, 1.0)
            return t * t * (3.0 - 2.0 * t)

        return ramp(self.real[0])[:, None] * ramp(self.real[1])[None, :]


def _bucket(n: int) -> int:
    return -(-n // SHAPE_BUCKET) * SHAPE_BUCKET


def layout(levels: list[LevelSpec]) -> list[LevelGeometry]:
    """Geometry of every level; ConfigError naming the level when the steps or nesting are not allowed."""
    out: list[LevelGeometry] = []
    for i, spec in enumerate(levels):
        field = f"terrain.levels[{i}]"
        step = float(spec.step_m)
        lo = (spec.downrange_km[0] * 1e3, spec.crossrange_km[0] * 1e3)
        hi = (spec.downrange_km[1] * 1e3, spec.crossrange_km[1] * 1e3)
        if out:
            parent = out[-1]
            ratio = parent.step_m / step
            if ratio < 2.0 - 1e-9 or abs(ratio - round(ratio)) > 1e-9:
                raise ConfigError(
                    f"field '{field}.step_m' = {step:g}: must divide the parent's step {parent.step_m:g} m by an "
                    f"integer >= 2 (e.g. {parent.step_m / max(2, math.ceil(ratio)):g})",
                    field=f"{field}.step_m",
                    value=step,
                )
            # Snap outwards onto the parent's lattice (relative to the parent's origin).
            ps = parent.step_m
            origin = tuple(
                parent.origin[a] + math.floor((lo[a] - parent.origin[a]) / ps + 1e-9) * ps for a in (0, 1)
            )
            end = tuple(
                parent.origin[a] + math.ceil((hi[a] - parent.origin[a]) / ps - 1e-9) * ps for a in (0, 1)
            )
        else:
            origin = tuple(math.floor(lo[a] / step + 1e-9) * step for a in (0, 1))
            end = tuple(math.ceil(hi[a] / step - 1e-9) * step for a in (0, 1))
        real = tuple(round((end[a] - origin[a]) / step) + 1 for a in (0, 1))
        geom = LevelGeometry(
            (origin[0], origin[1]), step, (real[0], real[1]), (_bucket(real[0]), _bucket(real[1]))
        )
        if out:
            parent = out[-1]
            p_lo = tuple(parent.origin[a] + parent.step_m for a in (0, 1))
            p_hi = tuple(e - parent.step_m for e in parent.real_end())
            g_hi = geom.padded_end()
            for a, name in ((0, "downrange_km"), (1, "crossrange_km")):
                if geom.origin[a] < p_lo[a] - 1e-6 or g_hi[a] > p_hi[a] + 1e-6:
                    raise ConfigError(
                        f"field '{field}.{name}' = {list(getattr(spec, name))}: with its shape padded to "
                        f"{SHAPE_BUCKET}-cell multiples the level spans [{geom.origin[a] / 1e3:g}, {g_hi[a] / 1e3:g}] km, "
                        f"which must lie strictly inside its parent level's [{p_lo[a] / 1e3:g}, {p_hi[a] / 1e3:g}] km",
                        field=f"{field}.{name}",
                        value=list(getattr(spec, name)),
                    )
        out.append(geom)
    total = sum(4 * g.shape[0] * g.shape[1] for g in out)
    if total > MAX_MODEL_BYTES:
        sizes = ", ".join(f"{g.shape[0]}x{g.shape[1]}" for g in out)
        raise ConfigError(
            f"field 'terrain.levels' = {sizes} cells: {total / 2**20:.1f} MiB of float32 per model, above the "
            f"{MAX_MODEL_BYTES / 2**20:.0f} MiB allowed; shrink a level or coarsen its step",
            field="terrain.levels",
            value=sizes,
        )
    return out
