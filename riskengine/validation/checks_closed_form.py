"""Section 1: the core's dynamics (``rk4_step``, ``gravity``) against closed-form answers, in float32.

The engine integrates with these functions; the tolerances are what float32 arithmetic allows over the
stated number of steps (see tests/core/test_closed_form.py for the same problems as unit tests).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.core import BodyParams
from riskengine.core.constants import G0_MPS2, MOON_MU_M3PS2, MOON_RADIUS_M
from riskengine.core.dynamics import gravity, rk4_step
from riskengine.core.frames import centre_vector, height_above_sphere
from riskengine.validation.section import Check, SectionResult, Table
from riskengine.validation.sizing import Sizes

KEY, TITLE = "closed_form", "Closed-form checks of the dynamics"

F32 = jnp.float32
MOON = BodyParams(mu_m3ps2=F32(MOON_MU_M3PS2), radius_m=F32(MOON_RADIUS_M))
NO_GRAVITY = BodyParams(mu_m3ps2=F32(0.0), radius_m=F32(MOON_RADIUS_M))


@functools.partial(jax.jit, static_argnames="n")
def integrate(
    p: jax.Array,
    v: jax.Array,
    mass_kg: jax.Array,
    force_n: jax.Array,
    mass_rate_kgps: jax.Array,
    body: BodyParams,
    dt: jax.Array,
    n: int,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """``n`` RK4 steps of constant force and linearly falling mass. Returns (p, v, mass, positions[n, 3])."""
    zero = jnp.zeros_like(p)

    Carry = tuple[jax.Array, jax.Array, jax.Array]

    def body_fn(carry: Carry, _: None) -> tuple[Carry, jax.Array]:
        pos, vel, m = carry
        pos, vel = rk4_step(pos, vel, m, force_n, mass_rate_kgps, zero, body, dt)
        return (pos, vel, m - mass_rate_kgps * dt), pos

    (p, v, m), positions = jax.lax.scan(body_fn, (p, v, mass_kg), None, length=n)
    return p, v, m, positions


def _row(
    name: str, computed: float, expected: float, tol: float, unit: str
) -> tuple[tuple[object, ...], Check]:
    err = abs(computed - expected)
    check = Check(name, err, f"< {tol:g} {unit}".rstrip(), err < tol, unit)
    return (name, computed, expected, err, f"< {tol:g}", unit, check.verdict), check


def free_fall() -> list[tuple[tuple[object, ...], Check]]:
    """From rest at 100 m for 5 s (dt 0.1 s): h = 100 - g t^2 / 2, v = -g t, with g from ``gravity`` there."""
    p0 = jnp.array([0.0, 0.0, 100.0], F32)
    g_surface = float(-gravity(jnp.zeros(3, F32), MOON)[2])
    g = float(-gravity(p0, MOON)[2])
    t, n = 5.0, 50
    p, v, _, _ = integrate(p0, jnp.zeros(3, F32), F32(500.0), jnp.zeros(3, F32), F32(0.0), MOON, F32(0.1), n)
    h = float(height_above_sphere(p, MOON.radius_m))
    # Gravity grows by 2 dh/R ~ 2e-5 over the 20 m fallen: 0.2 mm and 0.1 mm/s, inside the tolerances.
    return [
        _row(
            "surface gravity from gravity() vs mu/R^2",
            g_surface,
            MOON_MU_M3PS2 / MOON_RADIUS_M**2,
            1e-5,
            "m s-2",
        ),
        _row("free fall 5 s: height", h, 100.0 - 0.5 * g * t * t, 5e-3, "m"),
        _row("free fall 5 s: vertical speed", float(v[2]), -g * t, 1e-3, "m s-1"),
    ]


def rocket_burn() -> list[tuple[tuple[object, ...], Check]]:
    """300 s of 2 kN from 700 kg at Isp 310 s, no gravity: Tsiolkovsky's delta-v and its integral."""
    m0, force, isp, dt, n = 700.0, 2000.0, 310.0, 0.1, 3000
    ve = isp * G0_MPS2
    mdot = force / ve
    t = dt * n
    p, v, m, _ = integrate(
        jnp.zeros(3, F32),
        jnp.zeros(3, F32),
        F32(m0),
        jnp.array([force, 0.0, 0.0], F32),
        F32(mdot),
        NO_GRAVITY,
        F32(dt),
        n,
    )
    mf = m0 - mdot * t
    dv = ve * math.log(m0 / mf)
    x = ve * (t - (mf / mdot) * math.log(m0 / mf))
    # float32 accumulation over 3000 steps gives ~2e-5 relative; Euler integration would give ~4e-4.
    used_for_dv = m0 * (1.0 - math.exp(-float(v[0]) / ve))
    return [
        _row("rocket equation: delta-v (relative)", float(v[0]) / dv, 1.0, 1e-4, ""),
        _row("rocket equation: distance (relative)", float(p[0]) / x, 1.0, 1e-4, ""),
        _row("rocket equation: propellant for the delta-v", m0 - float(m), used_for_dv, 0.05, "kg"),
    ]


def circular_orbit() -> list[tuple[tuple[object, ...], Check]]:
    """An unpowered circular orbit 100 km up (dt 1 s): its period and its radius."""
    r = MOON_RADIUS_M + 100e3
    v_circ = math.sqrt(MOON_MU_M3PS2 / r)
    period = 2.0 * math.pi * math.sqrt(r**3 / MOON_MU_M3PS2)
    dt = 1.0
    n = math.ceil(period / dt) + 20
    _, _, _, positions = integrate(
        jnp.array([0.0, 0.0, 100e3], F32),
        jnp.array([v_circ, 0.0, 0.0], F32),
        F32(1.0),
        jnp.zeros(3, F32),
        F32(0.0),
        MOON,
        F32(dt),
        n,
    )
    q = np.asarray(jax.vmap(lambda p: centre_vector(p, MOON.radius_m))(positions), np.float64)
    heights = np.asarray(jax.vmap(lambda p: height_above_sphere(p, MOON.radius_m))(positions), np.float64)
    angle = np.unwrap(np.concatenate([[0.0], np.arctan2(q[:, 0], q[:, 2])]))
    i = int(np.argmax(angle >= 2.0 * math.pi))  # first sample past one revolution (index 0 is t = 0)
    t_cross = dt * ((i - 1) + (2.0 * math.pi - angle[i - 1]) / (angle[i] - angle[i - 1]))
    return [
        _row("circular orbit: period (relative)", t_cross / period, 1.0, 1e-4, ""),
        _row("circular orbit: max radius deviation", float(np.max(np.abs(heights - 100e3))), 0.0, 100.0, "m"),
    ]


def run(sizes: Sizes) -> SectionResult:
    del sizes  # the same problems in quick and full runs
    rows, checks = [], []
    for part in (free_fall(), rocket_burn(), circular_orbit()):
        for row, check in part:
            rows.append(row)
            checks.append(check)
    table = Table.of(
        "Engine dynamics against closed form (float32)",
        ("check", "computed", "expected", "|error|", "tolerance", "unit", "result"),
        rows,
    )
    return SectionResult(
        KEY,
        TITLE,
        checks=tuple(checks),
        tables=(table,),
        notes=(
            "Core functions riskengine.core.dynamics.rk4_step and gravity, integrated with jax.lax.scan in float32.",
            "Circular-orbit period: time the unwrapped polar angle takes to reach 2 pi, interpolated within a step, "
            "vs 2 pi sqrt(r^3 / mu).",
        ),
        data={"rows": [dict(zip(table.columns, r, strict=True)) for r in rows]},
    )
