"""Square-cell height grids in site track coordinates and their bilinear surface (the NumPy reference).

Frame: ``downrange_m`` along the direction of flight (the target at 0, the approach from negative
downrange), ``crossrange_m`` to the left of track; both are arc lengths on the reference sphere, m.
``heights_m[i, j]`` is the height at ``(origin_downrange_m + i * step_m, origin_crossrange_m + j * step_m)``,
m above the site's reference sphere (the target near 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.floating]


@dataclass(frozen=True)
class Grid:
    """One level: float32 heights ``(n_downrange, n_crossrange)``, read-only, on square cells of ``step_m``."""

    origin_downrange_m: float  # coordinate of heights_m[0, 0]
    origin_crossrange_m: float
    step_m: float  # square cells
    heights_m: np.ndarray  # float32 (n_downrange, n_crossrange), read-only

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.heights_m.shape[0]), int(self.heights_m.shape[1]))

    @property
    def end_downrange_m(self) -> float:
        return self.origin_downrange_m + (self.shape[0] - 1) * self.step_m

    @property
    def end_crossrange_m(self) -> float:
        return self.origin_crossrange_m + (self.shape[1] - 1) * self.step_m

    def nodes(self) -> tuple[F64, F64]:
        """Node coordinates ``(downrange (n0,), crossrange (n1,))``, m."""
        x = self.origin_downrange_m + self.step_m * np.arange(self.shape[0])
        y = self.origin_crossrange_m + self.step_m * np.arange(self.shape[1])
        return x, y

    def contains(self, downrange_m: ArrayLike, crossrange_m: ArrayLike) -> NDArray[np.bool_]:
        x, y = np.asarray(downrange_m), np.asarray(crossrange_m)
        return (
            (x >= self.origin_downrange_m)
            & (x <= self.end_downrange_m)
            & (y >= self.origin_crossrange_m)
            & (y <= self.end_crossrange_m)
        )


@dataclass(frozen=True)
class ElevationModel:
    """Grid levels, coarsest first; each finer level lies strictly inside the previous one and equals the
    previous level's bilinear surface on its outermost ring of cells (no step where the engine switches)."""

    levels: tuple[Grid, ...]

    @property
    def nbytes(self) -> int:
        return sum(g.heights_m.nbytes for g in self.levels)

    def height_m(self, downrange_m: ArrayLike, crossrange_m: ArrayLike) -> F64:
        """Height on the finest level containing each point, m (NumPy reference for the engine's lookup)."""
        x, y = np.broadcast_arrays(np.asarray(downrange_m, float), np.asarray(crossrange_m, float))
        out = bilinear(self.levels[0], x, y)[0]
        for g in self.levels[1:]:
            inside = g.contains(x, y)
            out = np.where(inside, bilinear(g, x, y)[0], out)
        return out


def bilinear(grid: Grid, downrange_m: ArrayLike, crossrange_m: ArrayLike) -> tuple[F64, F64, F64]:
    """Bilinear surface of ``grid``: (height m, d height / d downrange, d height / d crossrange) at the points.

    Points outside the grid are clamped to its edge: the surface is held there, so the derivative across
    the edge is 0 (along the edge it is the edge's). Inputs broadcast; outputs are float64.
    """
    h = np.asarray(grid.heights_m, dtype=np.float64)
    n0, n1 = h.shape
    fx = (np.asarray(downrange_m, dtype=np.float64) - grid.origin_downrange_m) / grid.step_m
    fy = (np.asarray(crossrange_m, dtype=np.float64) - grid.origin_crossrange_m) / grid.step_m
    fx, fy = np.broadcast_arrays(fx, fy)
    inside_x = (fx >= 0.0) & (fx <= n0 - 1)
    inside_y = (fy >= 0.0) & (fy <= n1 - 1)
    cx = np.clip(fx, 0.0, n0 - 1)
    cy = np.clip(fy, 0.0, n1 - 1)
    i = np.minimum(np.floor(cx).astype(np.int64), n0 - 2)
    j = np.minimum(np.floor(cy).astype(np.int64), n1 - 2)
    u = cx - i
    v = cy - j
    h00, h10, h01, h11 = h[i, j], h[i + 1, j], h[i, j + 1], h[i + 1, j + 1]
    height = (h00 * (1 - u) + h10 * u) * (1 - v) + (h01 * (1 - u) + h11 * u) * v
    dx = ((h10 - h00) * (1 - v) + (h11 - h01) * v) / grid.step_m
    dy = ((h01 - h00) * (1 - u) + (h11 - h10) * u) / grid.step_m
    return height, np.where(inside_x, dx, 0.0), np.where(inside_y, dy, 0.0)


def _axis_weights(coord: F64, origin: float, step: float, n: int) -> tuple[NDArray[np.int64], F64]:
    f = np.clip((coord - origin) / step, 0.0, n - 1)
    i = np.minimum(np.floor(f).astype(np.int64), n - 2)
    return i, f - i


def bilinear_nodes(grid: Grid, downrange_m: F64, crossrange_m: F64) -> F64:
    """Heights of ``bilinear`` on the tensor grid of 1-D axes ``downrange_m`` x ``crossrange_m``, m
    (separable: two 1-D interpolations instead of one 2-D gather; the result is the same)."""
    h = np.asarray(grid.heights_m, dtype=np.float64)
    i, u = _axis_weights(np.asarray(downrange_m, float), grid.origin_downrange_m, grid.step_m, h.shape[0])
    j, v = _axis_weights(np.asarray(crossrange_m, float), grid.origin_crossrange_m, grid.step_m, h.shape[1])
    rows = h[i] * (1.0 - u)[:, None] + h[i + 1] * u[:, None]
    return rows[:, j] * (1.0 - v)[None, :] + rows[:, j + 1] * v[None, :]


def make_grid(
    origin_downrange_m: float, origin_crossrange_m: float, step_m: float, heights: ArrayLike
) -> Grid:
    """A read-only float32 ``Grid`` (copies ``heights``)."""
    arr = np.array(heights, dtype=np.float32)
    arr.setflags(write=False)
    return Grid(float(origin_downrange_m), float(origin_crossrange_m), float(step_m), arr)
