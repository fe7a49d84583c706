"""The onboard map: each degradation does what it says, and nothing else."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter
from terrain_helpers import rms_slope_deg, small_terrain

from riskengine.terrain import _build, _craters, _spectral, site_elevation

NO_CRATERS = {"equilibrium_a": 0.0, "n1_per_km2": 0.0}
DOME = {
    "kind": "dome",
    "name": "knoll",
    "east_km": 0.0,
    "north_km": 0.0,
    "diameter_km": 0.8,
    "height_m": 30.0,
}


def _untapered_truth(t):
    """Each truth level's surface before the taper (what the map filters), shifted as the model is."""
    raw = _build.assemble(t, _build.content(_build.cache_key(t), None))[1]
    shift = _build._truth(_build.cache_key(t), None)[1]
    return [r + shift for r in raw]


def _interior(grid, half_m: float = 600.0):
    x, y = grid.nodes()
    return np.asarray(grid.heights_m, np.float64)[np.abs(x) <= half_m][:, np.abs(y) <= half_m]


def test_undegraded_map_is_the_truth():
    t = small_terrain()
    truth, onboard = site_elevation(t, onboard=False), site_elevation(t, onboard=True)
    for a, b in zip(truth.levels, onboard.levels, strict=True):
        np.testing.assert_allclose(a.heights_m, b.heights_m, atol=2e-3)


def test_smoothing_is_a_gaussian_and_lowers_slope_by_the_spectral_factor():
    sigma = 15.0
    t = small_terrain(roughness_rms_slope_deg=4.0, map_smoothing_m=sigma)
    truth, onboard = site_elevation(t, onboard=False), site_elevation(t, onboard=True)
    fine_t, fine_m = truth.levels[-1], onboard.levels[-1]
    r0, r1 = 401, 401  # real nodes of the 5 m level (-1..1 km); the map there is the blurred truth
    real = _untapered_truth(t)[-1]
    ref = gaussian_filter(real, sigma / fine_t.step_m, mode="reflect", truncate=8.0)
    x, y = fine_t.nodes()
    inner = (np.abs(x[:r0]) <= 600)[:, None] & (np.abs(y[:r1]) <= 600)[None, :]
    got = np.asarray(fine_m.heights_m, np.float64)[:r0, :r1]
    assert np.abs(got - ref)[inner].max() < 2e-3
    # Expected slope ratio from the truth's spectrum P and the blur's transfer G = exp(-2 pi^2 s^2 k^2):
    # sqrt(sum W |G|^2 P / sum W P), W = sin^2(pi k0 dx) + sin^2(pi k1 dx) the one-cell difference's response.
    ext = np.concatenate([real, real[::-1]], 0)
    ext = np.concatenate([ext, ext[:, ::-1]], 1)  # mirrored, as the filter sees it: no wrap-around edge
    spec = np.abs(np.fft.fft2(ext - ext.mean())) ** 2
    k0, k1 = np.fft.fftfreq(2 * r0, 5.0)[:, None], np.fft.fftfreq(2 * r1, 5.0)[None, :]
    w = np.sin(np.pi * k0 * 5.0) ** 2 + np.sin(np.pi * k1 * 5.0) ** 2
    g2 = np.exp(-4 * np.pi**2 * sigma**2 * (k0**2 + k1**2))
    expected = np.sqrt(np.sum(w * g2 * spec) / np.sum(w * spec))
    ratio = np.tan(np.radians(rms_slope_deg(fine_m, 5.0, 600.0))) / np.tan(
        np.radians(rms_slope_deg(fine_t, 5.0, 600.0))
    )
    assert ratio < 0.6 and abs(ratio / expected - 1.0) < 0.05, (ratio, expected)


def test_min_crater_diameter_removes_exactly_those_craters():
    d_min = 40.0
    t = small_terrain(roughness_rms_slope_deg=0.0, map_min_crater_diameter_m=d_min)
    truth, onboard = site_elevation(t, onboard=False), site_elevation(t, onboard=True)
    c = _build.content(_build.cache_key(t), None)
    small = _craters.Craters.concat([b.select(b.diameter_m < d_min) for b in c.bands])
    fine = truth.levels[-1]
    x, y = fine.nodes()
    keep_x, keep_y = np.abs(x) <= 600, np.abs(y) <= 600
    expected = _craters.render(
        small, (fine.origin_downrange_m, fine.origin_crossrange_m), fine.step_m, fine.shape
    )
    diff = np.asarray(fine.heights_m, np.float64) - np.asarray(onboard.levels[-1].heights_m, np.float64)
    assert len(small) > 100
    np.testing.assert_allclose(diff[keep_x][:, keep_y], expected[keep_x][:, keep_y], atol=2e-3)


def test_missing_feature_is_absent_from_the_map_only():
    base = small_terrain(features=[DOME], roughness_rms_slope_deg=0.0, craters=NO_CRATERS)
    t = small_terrain(
        features=[DOME], roughness_rms_slope_deg=0.0, craters=NO_CRATERS, map_missing_features=["knoll"]
    )
    truth, onboard = site_elevation(t, onboard=False), site_elevation(t, onboard=True)
    assert site_elevation(base, onboard=True).height_m(0.0, 0.0) == truth.height_m(0.0, 0.0)
    # The truth is 0 at the target (the dome's top): the map is 30 m lower there, flat around.
    assert abs(float(truth.height_m(0.0, 0.0) - onboard.height_m(0.0, 0.0)) - 30.0) < 1e-3
    assert np.ptp(_interior(onboard.levels[-1])) < 1e-3


def test_resolution_removes_all_power_above_its_nyquist():
    res = 20.0
    t = small_terrain(roughness_rms_slope_deg=4.0, map_resolution_m=res)
    truth, onboard = site_elevation(t, onboard=False), site_elevation(t, onboard=True)
    real = _untapered_truth(t)[-1]
    got = np.asarray(onboard.levels[-1].heights_m, np.float64)[:401, :401]
    x = truth.levels[-1].nodes()[0][:401]
    inner = (np.abs(x) <= 600)[:, None] & (np.abs(x) <= 600)[None, :]
    np.testing.assert_allclose(got[inner], _spectral.lowpass(real, 5.0, cutoff_m=2 * res)[inner], atol=2e-3)

    def power_above(h: np.ndarray) -> float:
        ext = np.concatenate([h, h[::-1]], 0)
        ext = np.concatenate([ext, ext[:, ::-1]], 1)
        p = np.abs(np.fft.fft2(ext - ext.mean())) ** 2
        k = np.fft.fftfreq(ext.shape[0], 5.0)
        high = (np.abs(k)[:, None] > 1 / (2 * res)) | (np.abs(k)[None, :] > 1 / (2 * res))
        return float(p[high].sum() / p.sum())

    assert power_above(real) > 1e-3
    assert power_above(_spectral.lowpass(real, 5.0, cutoff_m=2 * res)) < 1e-9
