"""Main engine: throttle limits, specific impulse and thrust-direction slew.

* Throttle responds within a step (engine response ~0.1 s is far below the guidance period).
* Specific impulse varies linearly with throttle between the vehicle's two values, as the Apollo LM
  descent engine's did (311 s full, 285 s at 10 %; landing-facts.md).
* The thrust direction turns towards the commanded one at a bounded rate (attitude control authority),
  then is offset by a constant pointing bias (thrust misalignment, attitude knowledge).
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core.constants import G0_MPS2
from riskengine.core.params import Array, VehicleParams


def throttle_for(force_needed_n: Array, vehicle: VehicleParams) -> Array:
    """Throttle fraction in [min_throttle, 1] that best delivers ``force_needed_n``."""
    return jnp.clip(force_needed_n / vehicle.max_thrust_n, vehicle.min_throttle, 1.0)


def mass_flow(throttle: Array, vehicle: VehicleParams) -> tuple[Array, Array]:
    """Thrust (N) and propellant mass flow (kg/s) at ``throttle``; mdot = T / (Isp g0)."""
    span = jnp.maximum(1.0 - vehicle.min_throttle, 1e-6)
    frac = jnp.clip((throttle - vehicle.min_throttle) / span, 0.0, 1.0)
    isp = vehicle.isp_min_throttle_s + (vehicle.isp_s - vehicle.isp_min_throttle_s) * frac
    thrust = throttle * vehicle.max_thrust_n
    return thrust, thrust / (isp * G0_MPS2)


def slew_towards(current: Array, target: Array, max_angle_rad: Array) -> Array:
    """Rotate unit vector ``current`` towards unit ``target`` by at most ``max_angle_rad``.

    Written without the angle itself: ``angle <= max`` is ``cos(angle) >= cos(max)`` on [0, pi], and the
    turned vector is ``cos(max) current + sin(max) ortho``. The step's bound is the same every step, so no
    per-step arccos/sin/cos is needed (they are scalar library calls on CPU, ~20 ns each per lane).
    """
    max_angle = jnp.minimum(max_angle_rad, jnp.pi)
    cos_max, sin_max = jnp.cos(max_angle), jnp.sin(max_angle)
    cos_a = jnp.clip(current @ target, -1.0, 1.0)
    ortho = target - cos_a * current
    ortho = ortho / jnp.maximum(jnp.linalg.norm(ortho), 1e-12)
    turned = cos_max * current + sin_max * ortho
    # Within reach (or exactly opposite, which the vertical-thrust constraint rules out): take the target.
    return jnp.where(cos_a >= cos_max, target, turned / jnp.linalg.norm(turned))


def apply_pointing_bias(direction: Array, vehicle: VehicleParams) -> Array:
    """Unit thrust direction after the constant small-angle pointing bias about site x and y."""
    bx = jnp.deg2rad(vehicle.pointing_bias_x_deg)
    by = jnp.deg2rad(vehicle.pointing_bias_y_deg)
    # Small rotation: d' = d + omega x d with omega = (bx, by, 0).
    omega = jnp.stack([bx, by, jnp.zeros_like(bx)])
    biased = direction + jnp.cross(omega, direction)
    return biased / jnp.linalg.norm(biased)
