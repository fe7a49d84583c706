"""Main engine: throttle model, specific impulse and mass flow.

* Throttle model (vehicle YAML): a continuous range ``[min_throttle, 1]``, optionally an unusable band
  ``(throttle_band_low, throttle_band_high)`` whose commands go to the nearer edge (the Apollo LM descent
  engine was throttled between 10 and 60 % or run at full thrust; Apollo Experience Report: Descent
  Propulsion System, NASA TN D-7143, 1973), optionally ``throttle_levels`` discrete settings
  (on/off valve clusters), and a first-order response lag ``throttle_time_constant_s`` (backward-Euler:
  stable at any step, exact in the limit).
* Specific impulse varies linearly with throttle between the vehicle's two values, as the Apollo LM
  descent engine's did (311 s full, 285 s at 10 %).
* Attitude and the thrust axis live in ``attitude``.
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core.constants import G0_MPS2
from riskengine.core.params import Array, VehicleParams


def throttle_for(force_needed_n: Array, vehicle: VehicleParams) -> Array:
    """Throttle setting the engine can hold that best delivers ``force_needed_n``: clipped to the range,
    out of the unusable band, onto the discrete levels."""
    cmd = jnp.clip(force_needed_n / vehicle.max_thrust_n, vehicle.min_throttle, 1.0)
    lo, hi = vehicle.throttle_band_low, vehicle.throttle_band_high
    in_band = (hi > lo) & (cmd > lo) & (cmd < hi)
    cmd = jnp.where(in_band, jnp.where(cmd >= 0.5 * (lo + hi), hi, lo), cmd)
    n = vehicle.throttle_levels
    step = (1.0 - vehicle.min_throttle) / jnp.maximum(n - 1.0, 1.0)
    quantised = vehicle.min_throttle + jnp.round((cmd - vehicle.min_throttle) / step) * step
    return jnp.where(n >= 2.0, quantised, cmd)


def throttle_response(delivered: Array, commanded: Array, vehicle: VehicleParams, dt: Array) -> Array:
    """Delivered throttle after ``dt`` of first-order lag towards the command."""
    alpha = dt / (vehicle.throttle_time_constant_s + dt)
    return delivered + alpha * (commanded - delivered)


def mass_flow(throttle: Array, vehicle: VehicleParams) -> tuple[Array, Array]:
    """Thrust (N) and propellant mass flow (kg/s) at ``throttle``; mdot = T / (Isp g0)."""
    span = jnp.maximum(1.0 - vehicle.min_throttle, 1e-6)
    frac = jnp.clip((throttle - vehicle.min_throttle) / span, 0.0, 1.0)
    isp = vehicle.isp_min_throttle_s + (vehicle.isp_s - vehicle.isp_min_throttle_s) * frac
    thrust = throttle * vehicle.max_thrust_n
    return thrust, thrust / (isp * G0_MPS2)
