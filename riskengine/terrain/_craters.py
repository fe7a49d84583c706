"""Procedural craters: sizes from a published size-frequency distribution, placed uniformly from a seed.

Cumulative density per m^2, D in m (``CraterPopulationSpec``):
    N(>D) = min(a D^-2, N1 (D / 1 km)^-b 1e-6)
The D^-2 branch is the small-crater equilibrium (Trask 1966; Gault 1970: a = 10^-1.1); the steeper branch
is the production population of the unit's age (Neukum et al. 2001 N(1 km); slope b ~ 3, Hartmann 1999).
Mare at 3.5 Ga crosses from equilibrium to production near D ~ 150 m, highland (3.9 Ga) near ~1 km,
the published equilibrium onsets (e.g. Xiao & Werner 2015).

Shape: ``bowl_profile`` with depth d = (d/D) D and rim 0.18 d (Pike 1977's fresh 0.036 D / 0.196 D).
Degradation: d/D = degraded (fresh / degraded)^(u^skew), u uniform, between ``degraded_depth_ratio`` and
``fresh_depth_ratio``: a first-order stand-in for the diffusive degradation of Fassett & Thomson (2014),
which shallows craters from d/D ~0.2 to < 0.05; an equilibrium population is mostly degraded, so skew 2
(ESTIMATE) puts the median d/D at 0.06 and 9 % of craters above 0.15. The shape is scaled, not diffused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from riskengine.config.terrain_models import CraterPopulationSpec
from riskengine.terrain._landforms import EJECTA_REACH, bowl_profile

F64 = NDArray[np.floating]
RIM_OVER_DEPTH = 0.036 / 0.196  # Pike 1977, fresh simple craters


@dataclass(frozen=True)
class Craters:
    """A crater set in track coordinates: centres (m), rim diameters (m), rim-to-floor depths (m), rims (m)."""

    downrange_m: F64
    crossrange_m: F64
    diameter_m: F64
    depth_m: F64
    rim_m: F64

    def __len__(self) -> int:
        return int(self.diameter_m.size)

    def select(self, keep: NDArray[np.bool_]) -> Craters:
        return Craters(
            *(
                a[keep]
                for a in (self.downrange_m, self.crossrange_m, self.diameter_m, self.depth_m, self.rim_m)
            )
        )

    @staticmethod
    def concat(sets: list[Craters]) -> Craters:
        if not sets:
            e = np.zeros(0)
            return Craters(e, e, e, e, e)
        return Craters(
            *(
                np.concatenate([getattr(s, f) for s in sets])
                for f in ("downrange_m", "crossrange_m", "diameter_m", "depth_m", "rim_m")
            )
        )


def cumulative_density(pop: CraterPopulationSpec, diameter_m: F64 | float) -> F64:
    """N(>D) per m^2."""
    d = np.asarray(diameter_m, dtype=np.float64)
    equilibrium = pop.equilibrium_a * d**-2.0
    production = pop.n1_per_km2 * 1e-6 * (d / 1000.0) ** -pop.production_slope
    return np.minimum(equilibrium, production)


def sample(
    pop: CraterPopulationSpec,
    bounds_m: tuple[float, float, float, float],
    d_lo_m: float,
    d_hi_m: float,
    rng: np.random.Generator,
) -> Craters:
    """Craters with D in [d_lo, d_hi) placed uniformly in ``bounds_m`` = (x0, x1, y0, y1), m.

    The count is Poisson(area * (N(>d_lo) - N(>d_hi))); sizes by inverting the cumulative on a log grid.
    """
    x0, x1, y0, y1 = bounds_m
    if d_hi_m <= d_lo_m:
        return Craters.concat([])
    table_d = np.geomspace(d_lo_m, d_hi_m, 512)
    cum = cumulative_density(pop, d_lo_m) - cumulative_density(pop, table_d)
    n = int(rng.poisson((x1 - x0) * (y1 - y0) * cum[-1]))
    u = rng.random(n) * cum[-1]
    diameter = np.exp(np.interp(u, cum, np.log(table_d)))
    x = rng.uniform(x0, x1, n)
    y = rng.uniform(y0, y1, n)
    span = np.log(pop.fresh_depth_ratio / pop.degraded_depth_ratio)
    ratio = pop.degraded_depth_ratio * np.exp(span * rng.random(n) ** pop.degradation_skew)
    depth = ratio * diameter
    return Craters(x, y, diameter, depth, RIM_OVER_DEPTH * depth)


def heights_at(craters: Craters, x_m: F64, y_m: F64) -> F64:
    """Summed crater heights at a few points (loops over points; for the datum and tests)."""
    x, y = np.atleast_1d(np.asarray(x_m, float)), np.atleast_1d(np.asarray(y_m, float))
    out = np.zeros(x.shape)
    for k in range(x.size):
        r = np.hypot(craters.downrange_m - x[k], craters.crossrange_m - y[k]) / (0.5 * craters.diameter_m)
        out[k] = bowl_profile(r, craters.depth_m, craters.rim_m).sum()
    return out


def render(craters: Craters, origin: tuple[float, float], step_m: float, shape: tuple[int, int]) -> F64:
    """Summed crater heights on the grid nodes ``origin + step * (i, j)`` of ``shape``, m.

    Craters are drawn in groups of equal window size (window radius EJECTA_REACH rim radii), each group
    vectorised and accumulated with ``bincount``; ~1e4 craters on a 1024^2 grid take ~0.3 s.
    """
    n0, n1 = shape
    out = np.zeros(n0 * n1)
    if len(craters) == 0:
        return out.reshape(shape)
    ci = np.rint((craters.downrange_m - origin[0]) / step_m).astype(np.int64)
    cj = np.rint((craters.crossrange_m - origin[1]) / step_m).astype(np.int64)
    reach = np.ceil(EJECTA_REACH * 0.5 * craters.diameter_m / step_m).astype(np.int64) + 1
    hit = (ci + reach >= 0) & (ci - reach < n0) & (cj + reach >= 0) & (cj - reach < n1)
    # Window radii rounded up to a ~20 % ladder so groups stay few and windows little larger than needed.
    ladder = np.unique(np.ceil(1.2 ** np.ceil(np.log(np.maximum(reach, 1)) / np.log(1.2))).astype(np.int64))
    bucket = ladder[np.searchsorted(ladder, reach)]
    # A window larger than the grid: evaluate that crater on the overlapping sub-rectangle only.
    big = hit & ((2 * reach + 1) ** 2 > (n0 * n1) // 4)
    for c in np.flatnonzero(big):
        i0, i1 = max(0, ci[c] - reach[c]), min(n0, ci[c] + reach[c] + 1)
        j0, j1 = max(0, cj[c] - reach[c]), min(n1, cj[c] + reach[c] + 1)
        px = origin[0] + np.arange(i0, i1)[:, None] * step_m
        py = origin[1] + np.arange(j0, j1)[None, :] * step_m
        r = np.hypot(px - craters.downrange_m[c], py - craters.crossrange_m[c]) / (
            0.5 * craters.diameter_m[c]
        )
        block = out.reshape(shape)
        block[i0:i1, j0:j1] += bowl_profile(r, craters.depth_m[c], craters.rim_m[c])
    hit = hit & ~big
    for h in np.unique(bucket[hit]):
        idx = np.flatnonzero(hit & (bucket == h))
        offs = np.arange(-h, h + 1)
        per = (2 * h + 1) ** 2
        chunk = max(1, 4_000_000 // per)
        for s in range(0, idx.size, chunk):
            sel = idx[s : s + chunk]
            ii = ci[sel, None, None] + offs[None, :, None]
            jj = cj[sel, None, None] + offs[None, None, :]
            ok = (ii >= 0) & (ii < n0) & (jj >= 0) & (jj < n1)
            px = origin[0] + ii * step_m
            py = origin[1] + jj * step_m
            r = np.hypot(
                px - craters.downrange_m[sel, None, None], py - craters.crossrange_m[sel, None, None]
            )
            r = r / (0.5 * craters.diameter_m[sel, None, None])
            h_val = bowl_profile(r, craters.depth_m[sel, None, None], craters.rim_m[sel, None, None])
            flat = (ii * n1 + jj)[ok]
            out += np.bincount(flat, weights=h_val[ok], minlength=n0 * n1)
    return out.reshape(shape)
