"""Guidance: Apollo-style phases flown on the estimated state.

* **Braking** (PDI -> high gate) and **approach** (high gate -> low gate): the commanded acceleration is
  the unique quadratic-in-time profile that meets the phase's target position, velocity and acceleration
  at its planned end time (Klumpp, "Apollo Lunar-Descent Guidance", MIT R-695, 1971):
  ``a = 12 (r_T - r) / t_go^2 - 6 (v_T + v) / t_go + a_T``, recomputed every guidance period from the
  current estimate. ``t_go`` counts down to the planned phase end (fixed-time targeting) and is floored
  so the gains stay bounded as a phase closes. The high gate is never above the current estimated height:
  a lander that learns late that it is lower than planned descends on, instead of climbing back to a
  gate it has already passed (found by a study: climbing back spent the margin of late-corrected runs).
* **Terminal descent**: sink at ``clip(h_est / tau, final rate, max sink)`` (an exponential approach in
  the *estimated* height above the site, as flown terminal-descent profiles do, so a lander that learns
  late that it is higher than planned still descends efficiently) and null horizontal motion over the
  site, until touchdown is *sensed* (ground contact). A lander that believes it is at the surface sinks
  at the slow final rate however high it really is, which is how Hakuto-R Mission 1 spent its propellant.
* Thrust may not point downwards (the engine cannot accelerate the vehicle towards the ground beyond
  gravity); the throttle is clipped to the engine's range.
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core import frames
from riskengine.core.params import Array, GuidanceParams

MIN_TIME_TO_GO_S = 4.0  # floor on t_go: above two guidance periods, keeps 12/t_go^2 gains bounded

BRAKING, APPROACH, TERMINAL = 0, 1, 2


def phase_at(g: GuidanceParams, t_s: Array) -> Array:
    """Guidance phase (int32) at mission time ``t_s`` (phases are scheduled by the plan's times)."""
    return jnp.where(
        t_s < g.braking_time_s,
        BRAKING,
        jnp.where(t_s < g.braking_time_s + g.approach_time_s, APPROACH, TERMINAL),
    ).astype(jnp.int32)


def polynomial_accel(r: Array, v: Array, r_t: Array, v_t: Array, a_t: Array, t_go: Array) -> Array:
    """Total (gravity-inclusive) acceleration command (3,), m/s^2."""
    return 12.0 * (r_t - r) / t_go**2 - 6.0 * (v_t + v) / t_go + a_t


def high_gate_target(g: GuidanceParams, radius_m: Array, height_m: Array) -> tuple[Array, Array, Array]:
    altitude = jnp.minimum(g.high_gate_altitude_m, height_m)
    p, up, along = frames.point_at(g.high_gate_range_m, altitude, radius_m)
    v = g.high_gate_horizontal_speed_mps * along + g.high_gate_vertical_speed_mps * up
    a = g.high_gate_horizontal_accel_mps2 * along + g.high_gate_vertical_accel_mps2 * up
    return p, v, a


def low_gate_target(g: GuidanceParams) -> tuple[Array, Array, Array]:
    zero = jnp.zeros_like(g.low_gate_altitude_m)
    p = jnp.stack([zero, zero, g.low_gate_altitude_m])
    v = jnp.stack([zero, zero, g.low_gate_vertical_speed_mps])
    return p, v, jnp.zeros(3, dtype=p.dtype)


def terminal_accel(g: GuidanceParams, r: Array, v: Array, up: Array, height_m: Array) -> Array:
    """Velocity-hold law: sink at a rate set by the estimated height, steer horizontal position to the site."""
    r_h = r - (r @ up) * up
    v_ref_h = -g.terminal_position_gain_per_s * r_h
    speed = jnp.linalg.norm(v_ref_h)
    v_ref_h = v_ref_h * jnp.minimum(1.0, g.terminal_max_horizontal_speed_mps / jnp.maximum(speed, 1e-6))
    sink = jnp.clip(
        height_m / g.terminal_time_constant_s, g.terminal_descent_rate_mps, g.terminal_max_sink_mps
    )
    v_ref = v_ref_h - sink * up
    return g.terminal_velocity_gain_per_s * (v_ref - v)


def command_accel(g: GuidanceParams, radius_m: Array, t_s: Array, r: Array, v: Array) -> Array:
    """Total acceleration command (3,) for estimated position ``r`` and velocity ``v`` at time ``t_s``."""
    phase = phase_at(g, t_s)
    height = frames.height_above_sphere(r, radius_m)
    hg_p, hg_v, hg_a = high_gate_target(g, radius_m, height)
    lg_p, lg_v, lg_a = low_gate_target(g)
    braking_end = g.braking_time_s
    approach_end = g.braking_time_s + g.approach_time_s
    in_braking = phase == BRAKING
    t_go = jnp.maximum(jnp.where(in_braking, braking_end, approach_end) - t_s, MIN_TIME_TO_GO_S)
    r_t = jnp.where(in_braking, hg_p, lg_p)
    v_t = jnp.where(in_braking, hg_v, lg_v)
    a_t = jnp.where(in_braking, hg_a, lg_a)
    poly = polynomial_accel(r, v, r_t, v_t, a_t, t_go)
    term = terminal_accel(g, r, v, frames.local_up(r, radius_m), height)
    return jnp.where(phase == TERMINAL, term, poly)


def thrust_command(accel_cmd: Array, gravity_est: Array, mass_kg: Array, up: Array) -> tuple[Array, Array]:
    """Force magnitude (N) and unit direction (3,) that realise ``accel_cmd`` given estimated gravity.

    The thrust acceleration's downward component is removed (the engine cannot push the vehicle down).
    """
    a_thrust = accel_cmd - gravity_est
    a_thrust = a_thrust - jnp.minimum(a_thrust @ up, 0.0) * up
    mag = jnp.linalg.norm(a_thrust)
    direction = jnp.where(mag > 1e-6, a_thrust / jnp.maximum(mag, 1e-6), up)
    return mass_kg * mag, direction
