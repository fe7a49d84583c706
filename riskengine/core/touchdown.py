"""Touchdown classification: one outcome code per trajectory, thresholds from the vehicle.

Priority (first match wins):
1. ``timeout``: no ground contact within the simulated time.
2. ``propellant_exhausted``: the tanks ran dry before contact and the contact was not a safe landing
   (the cause is the propellant, whatever the impact speed).
3. ``crashed``: total impact speed above ``crash_speed_mps`` (structure destroyed).
4. ``tip_over``: the vehicle tips (energy criterion below) or comes to rest tilted beyond
   ``max_slope_deg`` (the Apollo LM's 12 deg liftoff limit; Chandrayaan-3's 12 deg specification).
5. ``hard_landing``: vertical or horizontal speed above the gear's limits, below crash speed.
6. ``landed``.

Tip-over energy criterion (point mass about the downhill footpad): the pivot-to-CG line makes
``beta = atan(b / h) - slope`` with the vertical (``b`` footpad radius, ``h`` CG height). Angular momentum
about the pivot is conserved at impact, giving rotational energy ``0.5 m v_h^2 cos^2(beta)``; the vehicle
tips if that exceeds the work to lift the CG over the pivot, ``m g d (1 - cos beta)`` with
``d = sqrt(b^2 + h^2)``, or if ``beta <= 0`` (statically unstable). Conservative: the horizontal velocity is
taken as downhill and leg-stroke energy absorption is ignored.
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core.outcomes import Outcome
from riskengine.core.params import Array, VehicleParams


def tips_over(vehicle: VehicleParams, slope_deg: Array, horizontal_speed_mps: Array, g_mps2: Array) -> Array:
    b = vehicle.footprint_radius_m
    h = vehicle.cg_height_m
    d = jnp.sqrt(b * b + h * h)
    beta = jnp.arctan2(b, h) - jnp.deg2rad(slope_deg)
    kinetic = 0.5 * jnp.square(horizontal_speed_mps * jnp.cos(beta))
    barrier = g_mps2 * d * (1.0 - jnp.cos(beta))
    return (beta <= 0.0) | (kinetic > barrier)


def classify(
    vehicle: VehicleParams,
    contacted: Array,
    ran_dry: Array,
    vertical_speed_mps: Array,
    horizontal_speed_mps: Array,
    slope_deg: Array,
    g_mps2: Array,
) -> Array:
    """Outcome code (int32). ``vertical_speed_mps`` is the sink speed at contact (positive down)."""
    speed = jnp.sqrt(jnp.square(vertical_speed_mps) + jnp.square(horizontal_speed_mps))
    crashed = speed > vehicle.crash_speed_mps
    tipped = tips_over(vehicle, slope_deg, horizontal_speed_mps, g_mps2) | (slope_deg > vehicle.max_slope_deg)
    hard = (vertical_speed_mps > vehicle.max_vertical_speed_mps) | (
        horizontal_speed_mps > vehicle.max_horizontal_speed_mps
    )
    safe = ~crashed & ~tipped & ~hard
    code = jnp.where(hard, Outcome.HARD_LANDING, Outcome.LANDED)
    code = jnp.where(tipped, Outcome.TIP_OVER, code)
    code = jnp.where(crashed, Outcome.CRASHED, code)
    code = jnp.where(ran_dry & ~safe, Outcome.PROPELLANT_EXHAUSTED, code)
    code = jnp.where(contacted, code, Outcome.TIMEOUT)
    return code.astype(jnp.int32)
