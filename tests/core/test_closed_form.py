"""Dynamics against closed-form answers."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.core import BodyParams
from riskengine.core.constants import G0_MPS2, MOON_MU_M3PS2, MOON_RADIUS_M
from riskengine.core.dynamics import rk4_step
from riskengine.core.frames import height_above_sphere

MOON = BodyParams(mu_m3ps2=jnp.float32(MOON_MU_M3PS2), radius_m=jnp.float32(MOON_RADIUS_M))
NO_GRAVITY = BodyParams(mu_m3ps2=jnp.float32(0.0), radius_m=jnp.float32(MOON_RADIUS_M))
ZERO3 = jnp.zeros(3, jnp.float32)


def _integrate(p, v, mass, force, mdot, body, dt, n):
    def body_fn(carry, _):
        p, v, m = carry
        p, v = rk4_step(p, v, m, force, mdot, ZERO3, body, dt)
        return (p, v, m - mdot * dt), None

    (p, v, m), _ = jax.lax.scan(body_fn, (p, v, mass), None, length=n)
    return p, v, m


def test_free_fall_from_rest_matches_half_g_t_squared():
    g = MOON_MU_M3PS2 / MOON_RADIUS_M**2  # 1.624 m/s^2 (fact sheet: 1.62)
    p0 = jnp.array([0.0, 0.0, 100.0], jnp.float32)
    p, v, _ = _integrate(p0, ZERO3, jnp.float32(500.0), ZERO3, jnp.float32(0.0), MOON, jnp.float32(0.1), 50)
    t = 5.0
    # Gravity grows by 2h/R ~ 1e-4 over the 100 m: a 2 mm effect, inside the tolerance.
    assert abs(float(height_above_sphere(p, MOON.radius_m)) - (100.0 - 0.5 * g * t * t)) < 5e-3
    assert abs(float(v[2]) + g * t) < 1e-3
    assert abs(g - 1.62) < 0.01


def test_constant_thrust_burn_matches_rocket_equation():
    m0, force, isp = 700.0, 2000.0, 310.0
    ve = isp * G0_MPS2
    mdot = force / ve
    dt, n = 0.1, 3000  # 300 s, 197 kg of propellant
    t = dt * n
    p, v, m = _integrate(
        ZERO3,
        ZERO3,
        jnp.float32(m0),
        jnp.array([force, 0.0, 0.0], jnp.float32),
        jnp.float32(mdot),
        NO_GRAVITY,
        jnp.float32(dt),
        n,
    )
    mf = m0 - mdot * t
    dv = ve * math.log(m0 / mf)  # Tsiolkovsky
    x = ve * (t - (mf / mdot) * math.log(m0 / mf))  # integral of the rocket equation
    # float32 accumulation over 3000 steps gives ~2e-5; first-order (Euler) integration would give ~4e-4.
    assert abs(float(v[0]) - dv) / dv < 1e-4
    assert abs(float(p[0]) - x) / x < 1e-4
    # Propellant used for that delta-v is what the rocket equation says.
    # (float32 mass bookkeeping over 3000 steps: ~0.02 kg of 197 kg)
    assert abs((m0 - float(m)) - m0 * (1.0 - math.exp(-float(v[0]) / ve))) < 0.05


def test_constant_thrust_vertical_burn_against_gravity():
    # Thrust-to-weight 2 from rest: a = F/m(t) - g; near-constant g over < 2 km.
    g = MOON_MU_M3PS2 / MOON_RADIUS_M**2
    m0, isp = 500.0, 300.0
    force = 2.0 * m0 * g
    ve = isp * G0_MPS2
    mdot = force / ve
    dt, n = 0.05, 1000
    t = dt * n
    _p, v, _ = _integrate(
        ZERO3,
        ZERO3,
        jnp.float32(m0),
        jnp.array([0.0, 0.0, force], jnp.float32),
        jnp.float32(mdot),
        MOON,
        jnp.float32(dt),
        n,
    )
    expected_v = ve * math.log(m0 / (m0 - mdot * t)) - g * t
    assert abs(float(v[2]) - expected_v) < 0.01 * abs(expected_v)


def test_unpowered_circular_orbit_stays_circular():
    r_orbit = MOON_RADIUS_M + 100e3
    v_circ = math.sqrt(MOON_MU_M3PS2 / r_orbit)
    period = 2 * math.pi * r_orbit / v_circ
    dt = 1.0
    n = int(period / dt)
    p0 = jnp.array([0.0, 0.0, 100e3], jnp.float32)
    v0 = jnp.array([v_circ, 0.0, 0.0], jnp.float32)

    def body_fn(carry, _):
        p, v = carry
        p, v = rk4_step(p, v, jnp.float32(1.0), ZERO3, jnp.float32(0.0), ZERO3, MOON, jnp.float32(dt))
        return (p, v), height_above_sphere(p, MOON.radius_m)

    (p, v), heights = jax.lax.scan(body_fn, (p0, v0), None, length=n)
    heights = np.asarray(heights)
    # One full orbit (~7060 s) in float32: radius held to within a few tens of metres (5e-5 relative),
    # and the vehicle comes back to where it started.
    assert np.max(np.abs(heights - 100e3)) < 100.0
    assert float(jnp.linalg.norm(v)) == pytest_approx(v_circ, 0.05)
    assert float(jnp.linalg.norm(p - p0)) < 0.01 * 2 * math.pi * r_orbit


def pytest_approx(x: float, tol: float):
    import pytest

    return pytest.approx(x, abs=tol)
