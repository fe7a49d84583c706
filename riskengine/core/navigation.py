"""Navigation: the state the lander flies on. Guidance never sees the truth.

* Propagation: the estimate is integrated with the same RK4 as the truth, driven by the accelerometer's
  measured specific force (truth + IMU errors) and gravity evaluated at the *estimated* position. With
  perfect sensors the estimate therefore equals the truth exactly (tests/core/test_invariants.py).
* Correction: a two-state Kalman filter on (altitude, vertical speed) along the estimated local vertical.
  A nadir altimeter observes only height above terrain, so horizontal errors are unobservable here and
  remain from orbit determination and IMU drift (they become miss distance). The predicted reading uses
  the onboard map, not the true terrain: a wrong map is a wrong prediction.
* Innovation gate: a reading is rejected when ``|r| > max(gate_sigma * sqrt(S), gate_floor_m)``.
  After ``max_consecutive_rejections`` rejections in a row the altimeter is declared failed and never used
  again (the hardware-fault guard that Hakuto-R Mission 1's software applied; ispace, 26 May 2023).
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core._pytree import PyTree, pytree_dataclass
from riskengine.core.params import Array, NavigationParams


@pytree_dataclass
class AltitudeFilter(PyTree):
    """Covariance of the (altitude m, vertical speed m/s) estimate error, and the rejection bookkeeping."""

    p_hh: Array
    p_hv: Array
    p_vv: Array
    consecutive_rejections: Array  # int32
    total_rejections: Array  # int32
    failed: Array  # bool


def initial_filter(nav: NavigationParams) -> AltitudeFilter:
    return AltitudeFilter(
        p_hh=jnp.square(nav.assumed_altitude_sigma_m),
        p_hv=jnp.zeros_like(nav.assumed_altitude_sigma_m),
        p_vv=jnp.square(nav.assumed_vertical_velocity_sigma_mps),
        consecutive_rejections=jnp.int32(0),
        total_rejections=jnp.int32(0),
        failed=jnp.bool_(False),
    )


def propagate_covariance(f: AltitudeFilter, nav: NavigationParams, dt: Array) -> AltitudeFilter:
    """Constant-velocity model driven by white acceleration noise of spectral density q = sigma^2."""
    q = jnp.square(nav.process_accel_sigma_mps2)
    p_hh = f.p_hh + dt * (2.0 * f.p_hv + dt * f.p_vv) + q * dt**3 / 3.0
    p_hv = f.p_hv + dt * f.p_vv + q * dt**2 / 2.0
    p_vv = f.p_vv + q * dt
    return f.replace(p_hh=p_hh, p_hv=p_hv, p_vv=p_vv)


def doppler_update(f: AltitudeFilter, gain: Array, noise_mps: Array) -> AltitudeFilter:
    """Covariance after a fixed-gain velocity measurement: v' = v + g (z - v)."""
    keep = 1.0 - gain
    return f.replace(p_hv=keep * f.p_hv, p_vv=keep * keep * f.p_vv + gain * gain * jnp.square(noise_mps))


def update(
    f: AltitudeFilter,
    nav: NavigationParams,
    reading_m: Array,
    predicted_m: Array,
    reading_sigma_m: Array,
    valid: Array,
) -> tuple[AltitudeFilter, Array, Array, Array]:
    """Gate and apply one altimeter reading.

    Returns (filter, altitude correction m, vertical-speed correction m/s, rejected flag). A reading that
    is not ``valid`` (out of range, not yet acquired, dropped out, or the altimeter declared failed)
    changes nothing.
    """
    usable = valid & ~f.failed
    innovation = reading_m - predicted_m
    s = f.p_hh + jnp.square(reading_sigma_m)
    gate = jnp.maximum(nav.gate_sigma * jnp.sqrt(s), nav.gate_floor_m)
    accepted = usable & (jnp.abs(innovation) <= gate)
    rejected = usable & ~accepted

    k_h = f.p_hh / s
    k_v = f.p_hv / s
    dh = jnp.where(accepted, k_h * innovation, 0.0)
    dv = jnp.where(accepted, k_v * innovation, 0.0)
    p_hh = jnp.where(accepted, (1.0 - k_h) * f.p_hh, f.p_hh)
    p_hv = jnp.where(accepted, (1.0 - k_h) * f.p_hv, f.p_hv)
    p_vv = jnp.where(accepted, f.p_vv - k_v * f.p_hv, f.p_vv)

    consecutive = jnp.where(
        rejected, f.consecutive_rejections + 1, jnp.where(accepted, 0, f.consecutive_rejections)
    )
    limit = nav.max_consecutive_rejections
    failed = f.failed | ((limit > 0) & (consecutive.astype(limit.dtype) >= limit))
    new = AltitudeFilter(
        p_hh=p_hh,
        p_hv=p_hv,
        p_vv=p_vv,
        consecutive_rejections=consecutive,
        total_rejections=f.total_rejections + rejected.astype(jnp.int32),
        failed=failed,
    )
    return new, dh, dv, rejected
