"""Procedural craters follow their size-frequency distribution, render with the right shape, and each
level generates only the diameters it resolves."""

from __future__ import annotations

import numpy as np
from terrain_helpers import small_terrain

from riskengine.config.terrain_models import CraterPopulationSpec
from riskengine.terrain import _build, _craters
from riskengine.terrain._levels import layout


def _fitted_cumulative_slope(diameters: np.ndarray, d_lo: float, d_hi: float) -> float:
    d = np.sort(diameters)[::-1]
    n = np.arange(1, d.size + 1)
    keep = (d >= d_lo) & (d <= d_hi)
    return float(np.polyfit(np.log(d[keep]), np.log(n[keep]), 1)[0])


def test_equilibrium_branch_recovers_minus_two():
    pop = CraterPopulationSpec(n1_per_km2=1.0)  # production far above equilibrium: all equilibrium
    c = _craters.sample(pop, (0.0, 2000.0, 0.0, 2000.0), 5.0, 200.0, np.random.default_rng(3))
    assert abs(len(c) - 4e6 * (pop.equilibrium_a * (5.0**-2 - 200.0**-2))) < 4 * np.sqrt(len(c))
    assert abs(_fitted_cumulative_slope(c.diameter_m, 5.0, 50.0) + 2.0) < 0.1


def test_production_branch_recovers_its_slope_and_the_crossover():
    pop = CraterPopulationSpec(n1_per_km2=4.8e-3, production_slope=3.0)
    # Crossover where a D^-2 = N1 (D/1km)^-3 1e-6: D = N1 1e3^3 1e-6 / a = 61 m for these values.
    d_x = pop.n1_per_km2 * 1e-6 * 1e9 / pop.equilibrium_a
    c = _craters.sample(pop, (0.0, 4e4, 0.0, 4e4), 100.0, 2000.0, np.random.default_rng(4))
    assert abs(_fitted_cumulative_slope(c.diameter_m, 100.0, 600.0) + 3.0) < 0.15
    assert 40.0 < d_x < 80.0
    dens = _craters.cumulative_density(pop, np.array([10.0, 1000.0]))
    np.testing.assert_allclose(dens, [pop.equilibrium_a / 100.0, 4.8e-9])


def test_rendered_crater_has_its_rim_and_depth():
    c = _craters.Craters(*(np.array([v]) for v in (0.0, 0.0, 100.0, 20.0, 3.6)))
    h = _craters.render(c, (-200.0, -200.0), 1.0, (401, 401))
    centre = h[200, 200]
    rim = h[200, 200 + 50]
    assert abs(centre - (3.6 - 20.0)) < 1e-9 and abs(rim - 3.6) < 1e-9
    assert abs(h[200, 200 + 150]) < 1e-12 and h[200, 200 + 100] > 0.0  # ejecta out to 3 radii
    np.testing.assert_allclose(
        _craters.heights_at(c, np.array([0.0, 50.0]), np.array([0.0, 0.0])), [centre, rim]
    )


def test_each_level_generates_only_what_it_resolves():
    terrain = small_terrain()
    geometry = layout(terrain.levels)
    bands = _build._bands(terrain, geometry)
    for i, (g, b) in enumerate(zip(geometry, bands, strict=True)):
        assert b.diameter_m.min() >= terrain.craters.min_cells * g.step_m
        if i:
            assert b.diameter_m.max() < terrain.craters.min_cells * geometry[i - 1].step_m
    assert len(bands[2]) > 1000 and bands[2].diameter_m.min() < 20.0  # metre-scale on the 5 m level
    assert bands[0].diameter_m.max() > 1500.0  # km-scale in the corridor
