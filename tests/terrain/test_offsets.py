"""The terrain-offset statistics the navigation filter considers (riskengine.terrain.offsets), against
closed forms: a plane and a sinusoid, then the sites' maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import j0

from riskengine.config.scenario import _site
from riskengine.terrain.offsets import DISTANCES_M, offset_statistics, statistics

BOX = ((-20_000.0, -20_000.0), (20_000.0, 20_000.0))


def test_a_plane_offsets_by_its_slope_times_the_error_and_never_decorrelates():
    # z = g x: o = g d_x exactly, the same at every spot.
    g, sigma_h = 0.05, 400.0
    sigma, corr_m = statistics(lambda x, y: g * x, *BOX, sigma_h)
    assert sigma == pytest.approx(g * sigma_h, rel=0.02)  # Monte Carlo over 50,000 errors: ~0.3 % sd
    assert corr_m == DISTANCES_M[-1]


@pytest.mark.parametrize(("wavelength_m", "sigma_h"), [(300.0, 400.0), (1000.0, 100.0)])
def test_a_sinusoid_matches_its_closed_form(wavelength_m, sigma_h):
    # z = A sin(k x): E[o^2] = A^2 (1 - exp(-k^2 sigma_h^2 / 2)) over spots and N(0, sigma_h^2) errors, and the
    # correlation between spots s apart in a uniform direction is J0(k s) (Bessel), so the 1/e distance
    # solves J0(k s) = 1/e. Interpolated between the tabulated distances: within 10 %.
    a, k = 20.0, 2.0 * math.pi / wavelength_m
    sigma, corr_m = statistics(lambda x, y: a * np.sin(k * x), *BOX, sigma_h)
    assert sigma == pytest.approx(a * math.sqrt(1.0 - math.exp(-0.5 * (k * sigma_h) ** 2)), rel=0.02)
    expected = brentq(lambda s: j0(k * s) - math.exp(-1.0), 1e-6, 2.4048 / k)
    assert corr_m == pytest.approx(expected, rel=0.10)


def test_flat_ground_has_no_offset():
    assert statistics(lambda x, y: 0.0 * x, *BOX, 400.0) == (0.0, DISTANCES_M[0])


def test_the_sites_maps():
    # Measured on the maps (finest level, 400 m horizontal sigma): Frigoris's mare 4.3 m over ~120 m, the
    # hilly, fractured floor of Atlas 17 m over ~1.2 km; the statistics are deterministic.
    frigoris = offset_statistics(_site("mare_frigoris").terrain, 400.0)
    atlas = offset_statistics(_site("atlas_crater").terrain, 400.0)
    assert 3.0 < frigoris[0] < 6.0 and 60.0 < frigoris[1] < 250.0, frigoris
    assert atlas[0] > 2.0 * frigoris[0] and atlas[1] > 2.0 * frigoris[1], atlas
    assert offset_statistics(_site("mare_frigoris").terrain, 400.0) == frigoris
    # A smaller horizontal error sees less of the relief (measured 2.3 m at 50 m: the map is multi-scale).
    assert offset_statistics(_site("mare_frigoris").terrain, 50.0)[0] < 0.7 * frigoris[0]
