"""Translational point-mass dynamics with central gravity, integrated by classical RK4.

Model choices:
* Central (point-mass) lunar gravity, ``-mu q/|q|^3``: the descent covers ~500 km and 15 km of height,
  where a flat constant-g model is wrong by ~7 % in centripetal terms at orbital speed. Mascons and
  J2 change the local field by < 0.1 % and are dispersed away by navigation errors far larger.
* A non-rotating Moon: its rotation (2.66e-6 rad/s) gives Coriolis accelerations < 0.01 m/s^2 and a
  site speed < 4.6 m/s that guidance, which targets the site, absorbs; both are below the fidelity here.
* RK4 with thrust held constant over the step (zero-order hold, as a flight computer applies it) and the
  mass decreasing linearly within the step, so the rocket equation is integrated, not approximated.
  RK4's error is 4th order in dt for the smooth parts; events are resolved by interpolation (see
  ``simulate``). Halving the step does not move outcome statistics (tests/core/test_convergence.py).
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core.frames import centre_vector
from riskengine.core.params import Array, BodyParams


def gravity(p: Array, body: BodyParams) -> Array:
    """(3,) gravitational acceleration at site-frame position ``p``, m/s^2."""
    q = centre_vector(p, body.radius_m)
    r2 = q @ q
    return -body.mu_m3ps2 * q / (r2 * r2**0.5)


def gravity_gradient(p: Array, body: BodyParams) -> Array:
    """(3, 3) derivative of ``gravity`` with respect to position at ``p``: ``mu / r^3 (3 u u^T - I)``.
    ~2e-6 s^-2 at the surface: it is what makes an inertial altitude error grow (the vertical channel's
    instability, time constant ``sqrt(r / 2 g)`` ~730 s)."""
    q = centre_vector(p, body.radius_m)
    r2 = q @ q
    u = q / r2**0.5
    k = body.mu_m3ps2 / (r2 * r2**0.5)
    return k * (3.0 * u[:, None] * u[None, :] - jnp.eye(3, dtype=q.dtype))


def rk4_step(
    p: Array,
    v: Array,
    mass_kg: Array,
    force_n: Array,
    mass_rate_kgps: Array,
    extra_accel: Array,
    body: BodyParams,
    dt: Array,
) -> tuple[Array, Array]:
    """Advance position and velocity by ``dt`` under gravity, a constant ``force_n`` (3,) acting on a mass
    falling linearly at ``mass_rate_kgps``, and a constant ``extra_accel`` (3,) (used for IMU errors).

    Returns (position, velocity) at the end of the step.
    """

    def accel(pos: Array, m: Array) -> Array:
        return gravity(pos, body) + force_n / m + extra_accel

    half = 0.5 * dt
    m_mid = mass_kg - mass_rate_kgps * half
    m_end = mass_kg - mass_rate_kgps * dt
    a1 = accel(p, mass_kg)
    v2 = v + half * a1
    a2 = accel(p + half * v, m_mid)
    v3 = v + half * a2
    a3 = accel(p + half * v2, m_mid)
    v4 = v + dt * a3
    a4 = accel(p + dt * v3, m_end)
    p_new = p + (dt / 6.0) * (v + 2.0 * v2 + 2.0 * v3 + v4)
    v_new = v + (dt / 6.0) * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
    return p_new, v_new
