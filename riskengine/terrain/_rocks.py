"""Sub-grid boulders: the Golombek & Rapp (1997) rock abundance model and the tallest rock under a footpad.

Cumulative fractional area covered by rocks of diameter >= D (m): F_k(D) = k exp(-q(k) D),
q(k) = 1.79 + 0.152 / k (Golombek & Rapp 1997, JGR 102(E2)). The number of rocks per m^2 of diameter in
[D, D + dD] is n(D) = (4 / (pi D^2)) k q exp(-q D). Rock height is 0.5 D (Golombek et al. 2003).
Lunar k: mare plains ~0.3-1 %, fresh-crater ejecta up to ~5-10 % (Li & Wu 2018 at Chang'e-3; Bernhardt et
al. 2022 LROC boulder maps give a few % near fresh craters): ESTIMATES for the sites, set in the YAML.

A rock is under a footpad of diameter d when its disc overlaps the pad's: centre within (d + D) / 2.
Rocks are a Poisson process, so P(tallest height <= h) = exp(-Lambda(2h)) with
Lambda(D) = int_D^inf n(D') pi ((d + D') / 2)^2 dD'. Rocks below ``MIN_ROCK_M`` count as height 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

MIN_ROCK_M = 0.1  # diameters below this (5 cm tall) are not hazards at any footpad scale
ROCK_HEIGHT_PER_DIAMETER = 0.5  # Golombek et al. 2003


def q_of_k(k: float) -> float:
    """Golombek-Rapp exponential decay q(k), 1/m."""
    return 1.79 + 0.152 / k


def expected_rocks(
    k: float, footpad_diameter_m: float, diameter_m: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Lambda(D): expected number of rocks of diameter >= D overlapping one footpad."""
    if k <= 0.0:
        return np.zeros_like(diameter_m)
    q = q_of_k(k)
    grid = np.geomspace(MIN_ROCK_M, max(60.0 / q, 1.0) + MIN_ROCK_M, 2048)
    density = 4.0 / (np.pi * grid**2) * k * q * np.exp(-q * grid)
    overlap = np.pi * (0.5 * (footpad_diameter_m + grid)) ** 2
    integrand = density * overlap
    # Cumulative from the large end (trapezoid on the log grid).
    seg = 0.5 * (integrand[1:] + integrand[:-1]) * np.diff(grid)
    tail = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])
    return np.interp(diameter_m, grid, tail, right=0.0)


def tallest_rock_quantiles(k: float, footpad_diameter_m: float, n: int) -> NDArray[np.float64]:
    """(n,) heights, m, of the tallest rock under one footpad at probabilities (i + 0.5) / n."""
    p = (np.arange(n) + 0.5) / n
    if k <= 0.0:
        return np.zeros(n)
    table_d = np.geomspace(MIN_ROCK_M, 20.0, 1024)
    lam = expected_rocks(k, footpad_diameter_m, table_d)  # decreasing in D
    need = -np.log(p)  # P(tallest < D) = exp(-Lambda(D)) = p
    # Lambda decreases with D: interpolate on the reversed table; p below exp(-Lambda(MIN)) -> no hazard rock.
    d = np.interp(need, lam[::-1], table_d[::-1], left=table_d[-1], right=0.0)
    d = np.where(need >= lam[0], 0.0, d)
    return ROCK_HEIGHT_PER_DIAMETER * d
