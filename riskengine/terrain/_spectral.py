"""Spectral operations on height grids: band-limited fractal roughness and the onboard map's low-pass.

Wavenumbers are in cycles per metre. Filters mirror the grid (even extension) before the FFT, so the
result has no wrap-around step at the edges: the filter acts as a DCT-domain filter.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.floating]


def _j0(x: F64) -> F64:
    """Bessel J0 by its integral (1/pi) int_0^pi cos(x sin t) dt (midpoint rule, 256 nodes: < 1e-9 for x < 200)."""
    t = (np.arange(256) + 0.5) * (np.pi / 256)
    return np.cos(np.asarray(x)[..., None] * np.sin(t)).mean(axis=-1)


def fbm_psd_coefficient(
    rms_slope_deg: float, baseline_m: float, hurst: float, band_m: tuple[float, float]
) -> float:
    """C of the isotropic 2-D PSD P(k) = C k^-(2H+2) (k in cycles/m), limited to wavelengths in ``band_m``
    = (shortest, longest) m, whose RMS slope at ``baseline_m`` is ``rms_slope_deg``: slope =
    atan(sqrt(D(L)) / L), D(L) = <(h(x+L) - h(x))^2> = 4 pi C int k^-(2H+1) (1 - J0(2 pi k L)) dk over the
    band (the LOLA bidirectional slope of Rosenburg et al. 2011). For H ~ 0.9 the wavelengths far above L
    still add to D(L), so the band matters: the same C over all wavelengths gives ~1.5x the slope."""
    k = np.geomspace(1.0 / band_m[1], 1.0 / band_m[0], 2048)
    integrand = k ** (-(2.0 * hurst + 1.0)) * (1.0 - _j0(2.0 * math.pi * k * baseline_m))
    unit = 4.0 * math.pi * float(np.sum(0.5 * (integrand[1:] + integrand[:-1]) * np.diff(k)))
    return (baseline_m * math.tan(math.radians(rms_slope_deg))) ** 2 / unit


def fbm(
    shape: tuple[int, int],
    step_m: float,
    psd_c: float,
    hurst: float,
    band_m: tuple[float, float],
    rng: np.random.Generator,
) -> F64:
    """Gaussian self-affine field on ``shape`` nodes of ``step_m``, m, with the PSD limited to wavelengths
    in ``band_m`` = (shortest, longest), m. Periodic over the grid (each level adds its own band)."""
    n0, n1 = shape
    k0 = np.fft.fftfreq(n0, step_m)[:, None]
    k1 = np.fft.fftfreq(n1, step_m)[None, :]
    k = np.hypot(k0, k1)
    lo, hi = band_m
    inband = (k > 1.0 / hi) & (k <= 1.0 / lo)
    psd = np.where(inband, psd_c * np.where(k > 0, k, 1.0) ** (-(2.0 * hurst + 2.0)), 0.0)
    df = 1.0 / (n0 * step_m * n1 * step_m)
    z = rng.standard_normal((n0, n1), dtype=np.float32) + 1j * rng.standard_normal((n0, n1), dtype=np.float32)
    amplitude = (np.sqrt(psd * df) * (n0 * n1)).astype(np.float32)
    # Re(ifft2) of modes of variance 2 P df each: the real field's variance is sum P df = int P d^2k.
    # complex64 halves the FFT time; the field's float32 rounding (~1e-7 relative) is below the grid's.
    return np.fft.ifft2(z * amplitude).real.astype(np.float64)


def lowpass(heights: F64, step_m: float, *, cutoff_m: float = 0.0, sigma_m: float = 0.0) -> F64:
    """Heights with every wavelength shorter than ``cutoff_m`` removed (ideal filter at the Nyquist of a
    ``cutoff_m / 2`` grid), then a Gaussian blur of ``sigma_m`` (transfer exp(-2 pi^2 sigma^2 k^2))."""
    if cutoff_m <= 2.0 * step_m and sigma_m <= 0.0:
        return np.asarray(heights, dtype=np.float64).copy()
    h = np.asarray(heights, dtype=np.float64)
    n0, n1 = h.shape
    ext = np.concatenate([h, h[::-1]], axis=0)
    ext = np.concatenate([ext, ext[:, ::-1]], axis=1)
    mean = float(ext.mean())  # float32 FFT of the anomaly keeps ~1e-4 m on a ~2 km relief
    spec = np.fft.rfft2((ext - mean).astype(np.float32))
    k0 = np.fft.fftfreq(2 * n0, step_m)[:, None]
    k1 = np.fft.rfftfreq(2 * n1, step_m)[None, :]
    k2 = k0**2 + k1**2
    transfer = np.exp(-2.0 * np.pi**2 * sigma_m**2 * k2)
    if cutoff_m > 2.0 * step_m:
        transfer = transfer * ((np.abs(k0) <= 1.0 / cutoff_m) & (np.abs(k1) <= 1.0 / cutoff_m))
    return np.fft.irfft2(spec * transfer.astype(np.float32), s=ext.shape)[:n0, :n1].astype(np.float64) + mean
