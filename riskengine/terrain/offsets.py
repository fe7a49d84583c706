"""Statistics of the terrain offset a range reading sees through a horizontal position error.

A beam's spot at ``q`` (as navigation believes it) lies at ``q + d`` in truth, ``d`` the horizontal position
error, so the reading sees the ground's height change across it, ``o = z(q + d) - z(q)``, on top of the
vertical error. The navigation filter carries ``o`` per beam as a consider parameter
(``riskengine.core.navigation``): its variance and the distance over which it decorrelates as the spot
moves are properties of the map and of the filter's own horizontal uncertainty, so the filter designer
computes them from the onboard map, as here:

* ``sigma``: the rms of ``o`` over spots ``q`` uniform on the map's finest level (the landing region, where
  the readings that matter are taken) and errors ``d ~ N(0, sigma_h^2 I)``, ``sigma_h`` the filter's assumed
  horizontal sigma (the structure function of the terrain averaged over the error's distribution, the
  stochastic-linearisation idea of SITAN: Hostetler and Andreas, "Nonlinear Kalman filtering techniques
  for terrain-aided navigation", IEEE Trans. Automatic Control 28(3), 1983).
* ``correlation``: the spot displacement at which the correlation of ``o`` between two spots (the same
  error ``d``) falls to 1/e, the distance of the exponential (Gauss-Markov) model the filter uses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from riskengine.config.models import TerrainSpec
from riskengine.terrain import _build, _dem

SAMPLES = 50_000
DISTANCES_M = np.array([2.5, 5.0, 10.0, 20.0, 40.0, 70.0, 100.0, 150.0, 200.0, 300.0, 500.0, 1000.0, 2000.0])


def statistics(
    height_m: Callable[[np.ndarray, np.ndarray], np.ndarray],
    lo_m: tuple[float, float],
    hi_m: tuple[float, float],
    sigma_h_m: float,
) -> tuple[float, float]:
    """(sigma m, 1/e correlation distance m) of ``o = z(q + d) - z(q)`` for the surface ``height_m(x, y)``,
    spots ``q`` uniform on the box ``lo_m``..``hi_m`` and ``d ~ N(0, sigma_h_m^2 I)`` (module docstring).
    Monte Carlo over ``SAMPLES`` points with a fixed seed; the distance is interpolated in log distance
    between the ``DISTANCES_M`` that bracket 1/e (their ends where it does not fall so far)."""
    rng = np.random.default_rng(0)
    lo, hi = np.asarray(lo_m, float), np.asarray(hi_m, float)
    q = lo + (hi - lo) * rng.random((SAMPLES, 2))
    d = rng.normal(0.0, sigma_h_m, (SAMPLES, 2))
    angle = rng.uniform(0.0, 2.0 * np.pi, SAMPLES)
    u = np.stack([np.cos(angle), np.sin(angle)], axis=1)

    def offset(p: np.ndarray) -> np.ndarray:
        return height_m(p[:, 0] + d[:, 0], p[:, 1] + d[:, 1]) - height_m(p[:, 0], p[:, 1])

    o = offset(q)
    sigma = float(np.sqrt(np.mean(o * o)))
    if sigma == 0.0:
        return 0.0, float(DISTANCES_M[0])
    corr = np.array([np.corrcoef(o, offset(q + s * u))[0, 1] for s in DISTANCES_M])
    below = np.flatnonzero(corr < np.exp(-1.0))
    if below.size == 0:
        return sigma, float(DISTANCES_M[-1])
    k = int(below[0])
    if k == 0:
        return sigma, float(DISTANCES_M[0])
    c0, c1 = corr[k - 1], corr[k]
    t = (c0 - np.exp(-1.0)) / (c0 - c1)
    return sigma, float(np.exp(np.log(DISTANCES_M[k - 1]) + t * np.log(DISTANCES_M[k] / DISTANCES_M[k - 1])))


@functools.lru_cache(maxsize=64)
def _map_statistics(key: str, dem_key: tuple[str, int, int] | None, sigma_h_m: float) -> tuple[float, float]:
    model = _build.build(key, dem_key, True)
    finest = model.levels[-1]
    n0, n1 = np.asarray(finest.heights_m).shape
    lo = (finest.origin_downrange_m, finest.origin_crossrange_m)
    hi = (lo[0] + finest.step_m * (n0 - 1), lo[1] + finest.step_m * (n1 - 1))
    return statistics(model.height_m, lo, hi, sigma_h_m)


def offset_statistics(terrain: TerrainSpec, sigma_h_m: float) -> tuple[float, float]:
    """(sigma m, correlation distance m) of the terrain offset on the onboard map of ``terrain`` (its finest
    level) seen through a horizontal error of ``sigma_h_m`` per axis (module docstring); cached per map."""
    return _map_statistics(_build.cache_key(terrain), _dem.file_key(terrain.dem_file), float(sigma_h_m))
