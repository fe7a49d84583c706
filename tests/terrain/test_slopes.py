"""Slope statistics of the generated terrain against published lunar values.

Rosenburg et al. (2011, JGR 116, E02001), LOLA bidirectional RMS slopes at 17-25 m baselines: maria ~3-6
deg, highlands ~7-10 deg. Mare Frigoris: "slopes mostly < 5 deg" (landing-facts.md). Measured here on the
5 m level within 2 km of each target, 25 m baseline (craters + fractal roughness):
atlas_crater 7.1, mare_frigoris 4.3 (87 % of slopes < 5 deg), tranquility_base 3.8, mare_crisium 4.2 deg.
"""

from __future__ import annotations

import numpy as np
import pytest
from terrain_helpers import rms_slope_deg, site_terrain

from riskengine.terrain import _spectral, site_elevation

BANDS = {
    "atlas_crater": (7.0, 10.0),  # highland band (ESTIMATE for a fractured crater floor)
    "mare_frigoris": (3.0, 6.0),
    "tranquility_base": (3.0, 6.0),
    "mare_crisium": (3.0, 5.0),  # selected for slopes < 5 deg
}


@pytest.mark.parametrize("name", sorted(BANDS))
def test_rms_slope_at_25_m_in_the_published_band(name):
    model = site_elevation(site_terrain(name), onboard=False)
    slope = rms_slope_deg(model.levels[-1], 25.0, 2000.0)
    lo, hi = BANDS[name]
    assert lo <= slope <= hi, slope


def test_frigoris_slopes_mostly_below_five_degrees():
    g = site_elevation(site_terrain("mare_frigoris"), onboard=False).levels[-1]
    x, y = g.nodes()
    h = np.asarray(g.heights_m, np.float64)[np.abs(x) <= 2000][:, np.abs(y) <= 2000]
    d = np.concatenate([(h[5:] - h[:-5]).ravel(), (h[:, 5:] - h[:, :-5]).ravel()])
    assert np.mean(np.degrees(np.arctan(np.abs(d) / 25.0)) < 5.0) > 0.8


@pytest.mark.parametrize("hurst", [0.8, 0.9])
def test_fractal_background_has_the_requested_slope_and_scaling(hurst):
    c = _spectral.fbm_psd_coefficient(5.0, 25.0, hurst, (10.0, 1000.0))
    f = _spectral.fbm((1024, 1024), 2.5, c, hurst, (10.0, 1000.0), np.random.default_rng(5))

    def slope(lag: int) -> float:
        d = f[lag:] - f[:-lag]
        return float(np.degrees(np.arctan(np.sqrt(np.mean(d**2)) / (lag * 2.5))))

    assert abs(slope(10) - 5.0) < 0.4
    # Self-affine: the radially averaged power spectrum falls as k^-(2H+2) inside the band.
    power = np.abs(np.fft.fft2(f)) ** 2
    k = np.hypot(np.fft.fftfreq(1024, 2.5)[:, None], np.fft.fftfreq(1024, 2.5)[None, :])
    edges = np.geomspace(1 / 500.0, 1 / 20.0, 12)
    idx = np.digitize(k.ravel(), edges)
    centres = [k.ravel()[idx == i].mean() for i in range(1, 12)]
    means = [power.ravel()[idx == i].mean() for i in range(1, 12)]
    exponent = np.polyfit(np.log(centres), np.log(means), 1)[0]
    assert abs(exponent + (2 * hurst + 2)) < 0.15, exponent
