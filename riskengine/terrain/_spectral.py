"""Spectral operations on height grids: band-limited fractal roughness and the onboard map's low-pass.

Wavenumbers are in cycles per metre. Filters mirror the grid (even extension) before the FFT, so the
result has no wrap-around step at the edges: the filter acts as a DCT-domain filter.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.floating]


def _structure_integral(hurst: float) -> float:
    """I(H) = int_0^inf (1 - J0(x)) x^(-1-2H) dx = Gamma(1-H) / (2^(2H) 2H Gamma(1+H)) (checked numerically)."""
    return math.gamma(1.0 - hurst) / (2.0 ** (2.0 * hurst) * 2.0 * hurst * math.gamma(1.0 + hurst))


def fbm_psd_coefficient(rms_slope_deg: float, baseline_m: float, hurst: float) -> float:
    """C of the isotropic 2-D PSD P(k) = C k^-(2H+2) whose structure function at ``baseline_m`` gives the
    RMS slope ``rms_slope_deg`` (slope = atan(sqrt(<(h(x+L) - h(x))^2>) / L), the LOLA bidirectional
    slope of Rosenburg et al. 2011): D(L) = 4 pi C (2 pi L)^(2H) I(H)."""
    d_l = (baseline_m * math.tan(math.radians(rms_slope_deg))) ** 2
    return d_l / (4.0 * math.pi * (2.0 * math.pi * baseline_m) ** (2.0 * hurst) * _structure_integral(hurst))


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
