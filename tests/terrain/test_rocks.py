"""Sub-grid rocks: the Golombek-Rapp abundance law and the tallest rock under a footpad, checked against
a Monte Carlo rock field drawn independently from the same law."""

from __future__ import annotations

import numpy as np
from terrain_helpers import site_terrain, small_terrain

from riskengine.terrain import rock_abundance_k, rock_height_quantiles_m
from riskengine.terrain._rocks import MIN_ROCK_M, q_of_k, tallest_rock_quantiles


def test_number_density_integrates_to_the_cumulative_area_law():
    k = 0.05
    q = q_of_k(k)
    d = np.geomspace(MIN_ROCK_M, 30.0, 20001)
    n = 4.0 / (np.pi * d**2) * k * q * np.exp(-q * d)
    area = n * np.pi * d**2 / 4.0
    tail = np.cumsum((0.5 * (area[1:] + area[:-1]) * np.diff(d))[::-1])[::-1]
    np.testing.assert_allclose(tail[::2000], k * np.exp(-q * d[:-1:2000]), rtol=1e-3)


def test_quantiles_match_a_monte_carlo_rock_field():
    k, pad = 0.08, 0.6
    q = q_of_k(k)
    rng = np.random.default_rng(9)
    # Rocks >= MIN_ROCK_M: count density k q int_MIN^inf 4/(pi D^2) e^(-qD) dD, sizes by rejection.
    reach = 0.5 * pad + 5.0
    d_grid = np.geomspace(MIN_ROCK_M, 10.0, 4000)
    pdf = 4.0 / (np.pi * d_grid**2) * k * q * np.exp(-q * d_grid)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(d_grid))])
    trials = 20000
    counts = rng.poisson(cdf[-1] * (2 * reach) ** 2, trials)
    tallest = np.zeros(trials)
    total = int(counts.sum())
    sizes = np.interp(rng.random(total) * cdf[-1], cdf, d_grid)
    xy = rng.uniform(-reach, reach, (total, 2))
    owner = np.repeat(np.arange(trials), counts)
    under = np.hypot(xy[:, 0], xy[:, 1]) <= 0.5 * (pad + sizes)
    np.maximum.at(tallest, owner[under], 0.5 * sizes[under])
    ref = np.quantile(tallest, (np.arange(64) + 0.5) / 64)
    got = tallest_rock_quantiles(k, pad, 64)
    assert np.all(np.diff(got) >= 0.0)
    assert np.mean((got > 0) == (ref > 0)) > 0.95
    np.testing.assert_allclose(got[-20:], ref[-20:], atol=0.02, rtol=0.1)


def test_mare_site_mostly_zero_and_boulder_field_raises_k_locally():
    terrain = site_terrain("tranquility_base")
    site = rock_height_quantiles_m(terrain, 0.3)
    assert site.shape == (64,) and np.mean(site == 0.0) > 0.8
    # West crater's boulder field is 600 m uprange (flight westward).
    assert rock_abundance_k(terrain, -600.0, 0.0) == 0.1
    assert rock_abundance_k(terrain, 0.0, 0.0) == terrain.rock_abundance_k
    field = rock_height_quantiles_m(terrain, 0.3, downrange_m=-600.0, crossrange_m=0.0)
    assert field[-1] > site[-1] and np.mean(field > 0) > np.mean(site > 0)
    assert np.all(rock_height_quantiles_m(small_terrain(rock_abundance_k=0.0), 0.3) == 0.0)
