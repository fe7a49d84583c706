"""Landing maps: where a cell's samples come down, what happened there, and the touchdown dispersion.

Frame: the site track frame, metres. ``x`` downrange along the approach ground track, ``y`` crossrange to
the left, the target at ``(0, 0)`` (``Result.touchdown_downrange_m`` / ``touchdown_crossrange_m``).

Grid: :func:`map_edges` is the one definition (bins ``[lo, hi)``; a point exactly on the far edge is outside).
A terrain-derived map on the same grid takes its edges from there.

Every aggregate here is an integer count or an exact integer sum, so merging pieces is exact and the cube
does not depend on chunking, merge order, worker count or retries:

* ``counts`` int64[n_outcomes, nx, ny]: ground contacts per outcome and map bin;
* ``outside`` / ``no_contact`` int64[n_outcomes]: contacts outside the map, samples without a contact point;
  per outcome, ``counts.sum((1, 2)) + outside + no_contact`` is the cell's outcome count;
* ``hazard`` int64[nx, ny]: contacts in the bin whose touchdown exceeded the vehicle's slope/rock limits;
* ``moments`` int64[n_outcomes, 5, 2]: per outcome, the sums of ``x, y, x^2, x y, y^2`` over contacts, with
  positions as integer millimetres (:data:`FIXED_POINT_M`); each exact sum is two int64 words
  ``hi * 2^32 + lo`` (see :func:`_moment_words`). Float sums would round differently for every chunking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

ELLIPSE_LEVELS: tuple[float, ...] = (0.5, 0.9, 0.99)
FIXED_POINT_M = 1e-3  # moments sum positions as integer millimetres: far below any bin or dispersion
_MM_PER_M = 1000
_Q_MAX = 2**31 - 1  # |position| clipped to 2147 km so every product fits int64 (|q|^2 < 2^62)
_WORD = 2**32
_N_MOMENTS = 5  # x, y, xx, xy, yy
#: Per axis; a map of 400 x 400 bins x 6 outcomes is 7.7 MB (int64) per cell before compression.
MAX_BINS_PER_AXIS = 400
#: Cells x map bins over a whole study. The driver builds the cube's template in memory (72 B per map bin:
#: 6 outcome counts, the hazard count and fraction, the terrain hazard), so this caps it at ~0.36 GB; 500
#: cells at the default grid.
MAX_STUDY_MAP_BINS = 5_000_000
#: Sub-points per bin side when measuring how much of a bin lies inside an ellipse.
_SUBSAMPLE = 8


class LandingMapSpec(BaseModel):
    """The landing-map grid of a study: a rectangle centred on the target, square bins of ``bin_m``.

    ``ellipse_population``: which ground contacts the dispersion ellipses describe: ``contact`` (every
    sample that reached the ground, whatever the outcome; the default) or ``success`` (only the success
    outcome). ``contact`` is the default because the outcome at touchdown depends on the terrain at the
    point: leaving out tip-overs and tilted landings would carve the hazardous patches out of the
    distribution and pull the ellipse away from the very hazards it is drawn over.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    bin_m: float = Field(default=100.0, ge=1.0, le=100_000, description="bin side, m")
    half_length_m: float = Field(
        default=5000.0,
        gt=0,
        le=200_000,
        validate_default=True,
        description="downrange half extent: x in [-half_length_m, +]",
    )
    half_width_m: float = Field(
        default=5000.0,
        gt=0,
        le=200_000,
        validate_default=True,
        description="crossrange half extent: y in [-half_width_m, +]",
    )
    ellipse_population: Literal["contact", "success"] = "contact"

    @field_validator("half_length_m", "half_width_m")
    @classmethod
    def _whole_bins(cls, half: float, info: ValidationInfo) -> float:
        bin_m = info.data.get("bin_m")
        if bin_m is None:  # bin_m itself was refused
            return half
        bins = 2 * half / bin_m
        if abs(bins - round(bins)) > 1e-9 * bins or round(bins) < 1:
            raise ValueError(
                f"{half:g} m is not a whole number of bins of bin_m = {bin_m:g} m "
                f"(2 x {half:g} / {bin_m:g} = {bins:g}); allowed: a multiple of bin_m / 2"
            )
        if round(bins) > MAX_BINS_PER_AXIS:
            raise ValueError(
                f"{half:g} m with bin_m = {bin_m:g} m gives {round(bins)} bins; allowed: at most "
                f"{MAX_BINS_PER_AXIS} per axis (at most {MAX_BINS_PER_AXIS * bin_m / 2:g} m at this bin_m, "
                "or a larger bin_m)"
            )
        return half

    @property
    def shape(self) -> tuple[int, int]:
        """(nx, ny) bins."""
        return (round(2 * self.half_length_m / self.bin_m), round(2 * self.half_width_m / self.bin_m))


def check_study_size(spec: LandingMapSpec, n_cells: int) -> None:
    """Raise ``ValueError`` if the study's maps would exceed :data:`MAX_STUDY_MAP_BINS` bins in all."""
    nx, ny = spec.shape
    total = n_cells * nx * ny
    if total > MAX_STUDY_MAP_BINS:
        raise ValueError(
            f"{n_cells} cells x {nx} x {ny} map bins = {total:,} exceeds the allowed {MAX_STUDY_MAP_BINS:,}; "
            "use a larger bin_m, a smaller extent or fewer cells"
        )


def map_edges(spec: Any) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges (float64[nx + 1] downrange, float64[ny + 1] crossrange, m) of a :class:`LandingMapSpec`
    or of a study spec (its ``landing_map``)."""
    m: LandingMapSpec = getattr(spec, "landing_map", spec)
    nx, ny = m.shape
    return (
        np.linspace(-m.half_length_m, m.half_length_m, nx + 1),
        np.linspace(-m.half_width_m, m.half_width_m, ny + 1),
    )


def map_centres(spec: Any) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres (the cube's ``touchdown_x_m``, ``touchdown_y_m`` coordinates), m."""
    ex, ey = map_edges(spec)
    return 0.5 * (ex[1:] + ex[:-1]), 0.5 * (ey[1:] + ey[:-1])


@dataclass(frozen=True)
class Touchdown:
    """Per-sample ground contact, float64[B] each: position (m, site track frame; NaN without contact) and
    ``hazard`` bool[B], the touchdown exceeded the vehicle's slope/rock limits."""

    x_m: np.ndarray
    y_m: np.ndarray
    hazard: np.ndarray

    def take(self, stop: int) -> Touchdown:
        return Touchdown(self.x_m[:stop], self.y_m[:stop], self.hazard[:stop])

    @staticmethod
    def concat(parts: Sequence[Touchdown]) -> Touchdown:
        return Touchdown(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("x_m", "y_m", "hazard")))


@dataclass(frozen=True)
class LandingAggregate:
    """Mergeable landing-map aggregate of some samples of one cell (module docstring for the fields)."""

    counts: np.ndarray
    outside: np.ndarray
    no_contact: np.ndarray
    hazard: np.ndarray
    moments: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """The fields by name (int64 arrays), as the ledger stores them."""
        return {f: getattr(self, f) for f in ARRAY_FIELDS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> LandingAggregate:
        return cls(**{f: np.asarray(arrays[f], dtype=np.int64) for f in ARRAY_FIELDS})

    def __add__(self, other: LandingAggregate) -> LandingAggregate:
        return LandingAggregate(*(getattr(self, f) + getattr(other, f) for f in ARRAY_FIELDS))


ARRAY_FIELDS = ("counts", "outside", "no_contact", "hazard", "moments")


def array_shapes(spec: LandingMapSpec, n_outcomes: int) -> dict[str, tuple[int, ...]]:
    nx, ny = spec.shape
    return {
        "counts": (n_outcomes, nx, ny),
        "outside": (n_outcomes,),
        "no_contact": (n_outcomes,),
        "hazard": (nx, ny),
        "moments": (n_outcomes, _N_MOMENTS, 2),
    }


def empty(spec: LandingMapSpec, n_outcomes: int) -> LandingAggregate:
    return LandingAggregate(**{k: np.zeros(s, np.int64) for k, s in array_shapes(spec, n_outcomes).items()})


def _moment_words(v: np.ndarray) -> np.ndarray:
    """int64[2] words (hi, lo) with ``hi * 2^32 + lo == sum(v)`` exactly, for int64 ``v`` with ``|v| < 2^62``.

    ``v >> 32`` (floor) and ``v & (2^32 - 1)`` split each term exactly; their sums stay below 2^56 for up
    to 2^24 terms, and merged words below 2^63 for the spec's 10^7 samples per cell."""
    return np.array([np.sum(v >> 32), np.sum(v & (_WORD - 1))], dtype=np.int64)


def aggregate(
    outcome: np.ndarray, touchdown: Touchdown | None, n_outcomes: int, spec: LandingMapSpec
) -> LandingAggregate:
    """The landing aggregate of one batch. ``touchdown`` None: the kernel reports no contact points (every
    sample counts as ``no_contact``)."""
    outcome = np.asarray(outcome, dtype=np.int64)
    if touchdown is None:
        nan = np.full(outcome.shape, np.nan)
        touchdown = Touchdown(nan, nan, np.zeros(outcome.shape, bool))
    x = np.asarray(touchdown.x_m, dtype=np.float64)
    y = np.asarray(touchdown.y_m, dtype=np.float64)
    contact = np.isfinite(x) & np.isfinite(y)
    ex, ey = map_edges(spec)
    nx, ny = spec.shape
    ix = np.searchsorted(ex, np.where(contact, x, 0.0), side="right") - 1
    iy = np.searchsorted(ey, np.where(contact, y, 0.0), side="right") - 1
    inside = contact & (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    flat = (outcome[inside] * nx + ix[inside]) * ny + iy[inside]
    counts = np.bincount(flat, minlength=n_outcomes * nx * ny).reshape(n_outcomes, nx, ny)
    hz = inside & np.asarray(touchdown.hazard, dtype=bool)
    hazard = np.bincount(ix[hz] * ny + iy[hz], minlength=nx * ny).reshape(nx, ny)
    moments = np.zeros((n_outcomes, _N_MOMENTS, 2), np.int64)
    qx = np.clip(np.rint(x[contact] * _MM_PER_M), -_Q_MAX, _Q_MAX).astype(np.int64)
    qy = np.clip(np.rint(y[contact] * _MM_PER_M), -_Q_MAX, _Q_MAX).astype(np.int64)
    oc = outcome[contact]
    for o in np.unique(oc):
        a, b = qx[oc == o], qy[oc == o]
        for j, v in enumerate((a, b, a * a, a * b, b * b)):
            moments[o, j] = _moment_words(v)
    return LandingAggregate(
        counts.astype(np.int64),
        np.bincount(outcome[contact & ~inside], minlength=n_outcomes).astype(np.int64),
        np.bincount(outcome[~contact], minlength=n_outcomes).astype(np.int64),
        hazard.astype(np.int64),
        moments,
    )


# ---------------------------------------------------------------------- cell values
@dataclass(frozen=True)
class Ellipse:
    """Dispersion ellipses of one cell's touchdown points (NaN where fewer than 3 points)."""

    n: int
    centre_m: tuple[float, float]
    cov_m2: tuple[float, float, float]  # xx, xy, yy (unbiased, n - 1)
    semi_major_m: np.ndarray  # float64[len(ELLIPSE_LEVELS)]
    semi_minor_m: np.ndarray
    orientation_deg: float  # major axis from +x (downrange) towards +y (left), in (-90, 90]
    fraction_inside: np.ndarray


def chi2_scale(level: float) -> float:
    """Mahalanobis radius holding ``level`` of a 2-D Gaussian: sqrt of the chi-square(2) quantile."""
    return math.sqrt(-2.0 * math.log1p(-level))


def ellipse(agg: LandingAggregate, outcomes: Sequence[int], spec: LandingMapSpec) -> Ellipse:
    """Ellipses of the contacts with outcome index in ``outcomes``, from the exact integer moments.

    Centre and covariance are exact rationals rounded once to float64 (Python integers), so they are
    bit-identical for any merge of the same samples. ``fraction_inside``: the share of those contacts whose
    point lies inside each ellipse, measured on the map (each bin's count weighted by the part of the bin
    inside the ellipse, the points taken uniform within a bin: resolution one bin); NaN where an ellipse
    reaches beyond the map (its points outside the map cannot be placed).
    """
    sel = list(outcomes)
    n = int(agg.counts[sel].sum() + agg.outside[sel].sum())
    nan3 = np.full(len(ELLIPSE_LEVELS), np.nan)
    if n < 3:
        return Ellipse(n, (math.nan, math.nan), (math.nan,) * 3, nan3, nan3.copy(), math.nan, nan3.copy())
    words = agg.moments[sel].sum(axis=0)
    s = [int(hi) * _WORD + int(lo) for hi, lo in words]
    sx, sy, sxx, sxy, syy = s
    mm2 = _MM_PER_M * _MM_PER_M
    mx, my = sx / (n * _MM_PER_M), sy / (n * _MM_PER_M)
    den = n * (n - 1) * mm2
    cxx, cxy, cyy = (n * sxx - sx * sx) / den, (n * sxy - sx * sy) / den, (n * syy - sy * sy) / den
    mid, half = 0.5 * (cxx + cyy), math.hypot(0.5 * (cxx - cyy), cxy)
    l1, l2 = mid + half, max(mid - half, 0.0)
    theta = 0.5 * math.degrees(math.atan2(2.0 * cxy, cxx - cyy))
    theta = 90.0 if theta == -90.0 else theta
    k = np.array([chi2_scale(p) for p in ELLIPSE_LEVELS])
    inside = _fraction_inside(agg, sel, n, (mx, my), (cxx, cxy, cyy), k, spec)
    return Ellipse(n, (mx, my), (cxx, cxy, cyy), k * math.sqrt(l1), k * math.sqrt(l2), theta, inside)


def _fraction_inside(
    agg: LandingAggregate,
    sel: list[int],
    n: int,
    centre: tuple[float, float],
    cov: tuple[float, float, float],
    k: np.ndarray,
    spec: LandingMapSpec,
) -> np.ndarray:
    cxx, cxy, cyy = cov
    det = cxx * cyy - cxy * cxy
    out = np.full(len(k), np.nan)
    if not det > 0:
        return out
    counts = agg.counts[sel].sum(axis=0)
    bx, by = np.nonzero(counts)
    ex, ey = map_edges(spec)
    # Sub-point offsets inside a bin (fractions of the bin side), the same for every bin.
    f = (np.arange(_SUBSAMPLE) + 0.5) / _SUBSAMPLE
    px = (ex[bx][:, None, None] + f[None, :, None] * spec.bin_m - centre[0]).repeat(_SUBSAMPLE, axis=2)
    py = (ey[by][:, None, None] + f[None, None, :] * spec.bin_m - centre[1]).repeat(_SUBSAMPLE, axis=1)
    d2 = (cyy * px * px - 2.0 * cxy * px * py + cxx * py * py) / det
    weights = counts[bx, by].astype(np.float64)
    for i, ki in enumerate(k):
        if ki * math.sqrt(cxx) + abs(centre[0]) > spec.half_length_m or (
            ki * math.sqrt(cyy) + abs(centre[1]) > spec.half_width_m
        ):
            continue  # the ellipse leaves the map
        share = (d2 <= ki * ki).reshape(len(bx), -1).mean(axis=1)
        out[i] = float(np.sum(weights * share)) / n
    return out


def hazard_fraction(agg: LandingAggregate) -> np.ndarray:
    """float64[nx, ny]: hazard contacts / all contacts per bin; NaN where nothing touched down."""
    total = agg.counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, agg.hazard / np.maximum(total, 1), np.nan)
