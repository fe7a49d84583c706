"""Mergeable per-cell aggregates: outcome counts and fixed-edge metric histograms.

Everything here is integer counts, so merging is exact and independent of how samples were chunked;
the cube's probabilities, intervals and quantiles are computed from the merged counts. The landing maps
and the moments behind the dispersion ellipses are integers too (:mod:`riskengine.study.landing`).

Histogram resolution: one edge vector for every metric (all are non-negative magnitudes in SI units):
``[-inf, 0, 10^-3 ... 10^6 (80 log-spaced bins per decade), +inf]``. Quantiles are interpolated
linearly inside a bin, so between 1e-3 and 1e6 a reported quantile is within one bin width, i.e.
within 2.9 % (10^(1/80) - 1) of the sample quantile. Values below 1e-3 fall in ``[0, 1e-3)``;
negative values in ``(-inf, 0)`` (reported as 0); NaN (undefined, e.g. no touchdown) is not counted.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from riskengine.study import landing
from riskengine.study.kernel import METRICS, SampleBatch
from riskengine.study.landing import LandingAggregate, LandingMapSpec

Z95 = 1.959963984540054
INTERVAL_METHOD = "wilson"
INTERVAL_CONFIDENCE = 0.95
HIST_DECADE_LO, HIST_DECADE_HI, HIST_PER_DECADE = -3, 6, 80
HISTOGRAM_DESCRIPTION = (
    f"edges [-inf, 0, 10^{HIST_DECADE_LO}..10^{HIST_DECADE_HI} with {HIST_PER_DECADE} log-spaced bins "
    "per decade, +inf]; quantiles interpolated linearly within a bin (relative resolution 2.9 %)"
)


@functools.cache
def histogram_edges() -> np.ndarray:
    """float64[n_bins + 1], shared by all metrics."""
    n = (HIST_DECADE_HI - HIST_DECADE_LO) * HIST_PER_DECADE
    geo = np.logspace(HIST_DECADE_LO, HIST_DECADE_HI, n + 1)
    return np.concatenate([[-np.inf, 0.0], geo, [np.inf]])


def n_bins() -> int:
    return len(histogram_edges()) - 1


def histogram(values: np.ndarray) -> np.ndarray:
    """int64[n_bins] counts of the finite-or-infinite, non-NaN ``values``."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    idx = np.searchsorted(histogram_edges(), v, side="right") - 1
    idx = np.clip(idx, 0, n_bins() - 1)
    return np.bincount(idx, minlength=n_bins()).astype(np.int64)


@dataclass(frozen=True)
class PieceAggregate:
    """Aggregate of samples ``[start, start + n)`` of one cell.

    ``counts``: int64[n_outcomes]; ``hist``: int64[len(METRICS), n_bins]; ``stopped``: the cell's
    early-stopping rule fired at the end of this piece (no later piece of the cell runs).
    ``retained``: the cell's first samples' outcome and metrics (only if the spec asks).
    ``landing``: the landing-map aggregate (``None`` when not computed).
    """

    cell: int
    piece: int
    n: int
    counts: np.ndarray
    hist: np.ndarray
    stopped: bool = False
    need_kg: float = float("nan")
    retained: SampleBatch | None = None
    retained_start: int = 0
    landing: LandingAggregate | None = None


def aggregate_batch(
    cell: int,
    piece: int,
    batch: SampleBatch,
    n_outcomes: int,
    *,
    stopped: bool = False,
    need_kg: float = float("nan"),
    landing_map: LandingMapSpec | None = None,
) -> PieceAggregate:
    counts = np.bincount(np.asarray(batch.outcome, dtype=np.int64), minlength=n_outcomes).astype(np.int64)
    if counts.shape[0] != n_outcomes:
        raise ValueError(
            f"outcome code out of range: max {int(np.max(batch.outcome))}, {n_outcomes} outcomes"
        )
    hist = np.stack([histogram(batch.metrics[m]) for m in METRICS])
    land = None
    if landing_map is not None:
        land = landing.aggregate(batch.outcome, batch.touchdown, n_outcomes, landing_map)
    return PieceAggregate(cell, piece, len(batch), counts, hist, stopped, need_kg, landing=land)


@dataclass(frozen=True)
class CellTotals:
    """Merged aggregate of a whole cell."""

    n: int
    counts: np.ndarray
    hist: np.ndarray
    stopped: bool
    need_kg: float
    landing: LandingAggregate | None = None


def merge(pieces: Sequence[PieceAggregate], n_outcomes: int) -> CellTotals:
    """Sum of the pieces (integer, so any order gives the same totals). ``landing`` is summed when every
    piece has one."""
    counts = np.zeros(n_outcomes, np.int64)
    hist = np.zeros((len(METRICS), n_bins()), np.int64)
    for p in pieces:
        counts += p.counts
        hist += p.hist
    lands = [p.landing for p in pieces]
    land = None
    if lands and all(x is not None for x in lands):
        land = lands[0]
        for x in lands[1:]:
            land = land + x  # type: ignore[operator]
    need = pieces[0].need_kg if pieces else float("nan")
    return CellTotals(sum(p.n for p in pieces), counts, hist, any(p.stopped for p in pieces), need, land)


def wilson_interval(
    successes: np.ndarray | int, n: np.ndarray | int, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (lo, hi) for a binomial proportion; NaN where n == 0."""
    k = np.asarray(successes, dtype=np.float64)
    nn = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / nn
        denom = 1.0 + z * z / nn
        centre = (p + z * z / (2 * nn)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn))
        lo = np.clip(centre - half, 0.0, 1.0)
        hi = np.clip(centre + half, 0.0, 1.0)
    # Exact ends: with k == 0 (k == n) the lower (upper) bound is exactly 0 (1).
    lo = np.where((k == 0) & (nn > 0), 0.0, lo)
    hi = np.where((k == nn) & (nn > 0), 1.0, hi)
    return lo, hi


def stop_point(
    success: np.ndarray, start: int, prior_successes: int, target_width: float, check_every: int
) -> int | None:
    """Early stopping inside a piece whose samples begin at ``start``.

    ``success``: bool[m] for samples ``start .. start + m - 1``. Returns the sample count ``n`` (absolute,
    a multiple of ``check_every`` in ``(start, start + m]``) at which the cell's interval first is
    narrower than ``target_width``, or ``None``.
    """
    m = success.shape[0]
    first = (start // check_every + 1) * check_every
    checkpoints = np.arange(first, start + m + 1, check_every)
    if checkpoints.size == 0:
        return None
    cum = np.cumsum(success.astype(np.int64))
    k = prior_successes + cum[checkpoints - start - 1]
    lo, hi = wilson_interval(k, checkpoints)
    hit = np.nonzero((hi - lo) < target_width)[0]
    return int(checkpoints[hit[0]]) if hit.size else None


def quantiles_from_hist(hist: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """float64[len(levels)] quantiles of the distribution binned in ``hist`` (NaN if empty)."""
    edges = histogram_edges()
    total = int(hist.sum())
    out = np.full(len(levels), np.nan)
    if total == 0:
        return out
    cum = np.cumsum(hist)
    for i, q in enumerate(levels):
        target = q * total
        b = int(np.searchsorted(cum, target, side="left"))
        b = min(b, len(hist) - 1)
        below = cum[b - 1] if b > 0 else 0
        frac = (target - below) / hist[b] if hist[b] else 0.0
        lo, hi = edges[b], edges[b + 1]
        if math.isinf(lo):
            out[i] = 0.0 if hi == 0.0 else hi
        elif math.isinf(hi):
            out[i] = lo
        else:
            out[i] = lo + frac * (hi - lo)
    return out
