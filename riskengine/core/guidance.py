"""Guidance: Apollo-style phases that re-solve their time-to-go from the estimated state every cycle.

Model (Klumpp, "Apollo Lunar-Descent Guidance", MIT R-695, 1971; Klumpp, Automatica 10, 1974):

* **Braking** (PDI -> high gate) and **approach** (high gate -> low gate) command the unique
  quadratic-in-time acceleration that meets the phase's target position, velocity and acceleration:
  ``a = 12 (r_T - r) / T^2 - 6 (v_T + v) / T + a_T`` (gravity included). ``T``, the time-to-go, is
  **re-solved every guidance cycle** from the estimated state as Apollo's P63/P64 did: the root of the
  downrange jerk condition ``j_T T^3 - 6 a_T T^2 + (18 v_T + 6 v) T + 24 (r - r_T) = 0`` (x components),
  by Newton's method warm-started from the previous cycle. The jerk target ``j_T`` of each phase is
  derived once, before flight, from the plan: the jerk that makes the nominal trajectory take the
  planned phase duration (``braking_time_s``, ``approach_time_s``), as Apollo's targeting did preflight.
  A dispersed lander therefore takes as long as its state needs: a lander that is slow or short of the
  site gets a shorter ``T``, not a dive towards a clock.
* **Phases switch on state**: braking ends when its ``T`` falls below ``MIN_TIME_TO_GO_S``, when the
  estimated height falls below the high gate, or when its profile needs more than full thrust while the
  approach's can be flown (a lander corrected late and lower than it believed goes on to the approach
  instead of fighting for a gate it can no longer meet); the approach ends likewise at the low gate.
* **Terminal descent**: sink at ``clip(h_est / tau, final rate, max sink)`` (an exponential approach in
  the *estimated* height above the site) and null horizontal motion over the site, until touchdown is
  *sensed*; while the horizontal speed is above the terminal limit the sink is scaled down (to a hover
  above twice the limit), as Apollo's P66 nulled horizontal velocity before the final descent. A lander that believes it is at the surface sinks at the slow final rate however high it
  really is, which is how Hakuto-R Mission 1 spent its propellant (ispace, 26 May 2023).

Saturation policy (``limit_thrust``), in priority order within full thrust:

1. **Vertical safety first.** *No dive*: the vertical thrust acceleration is never below
   ``g_eff - max_descent_accel`` (``g_eff``: gravity less the centrifugal relief of the horizontal speed),
   so a lander that learns it is *higher* than it believed descends on at a bounded downward acceleration
   instead of cutting its thrust. *Stopping-distance guard*: if the estimated sink rate exceeds what full
   thrust could arrest in the estimated height above the onboard map divided by ``stopping_margin``
   (``sink^2 > 2 (a_max - g) h / margin + v_final^2``), the whole thrust goes to the vertical: a lander
   that learns it is lower or faster than believed arrests if physics allows. *Glide-slope limit*: the
   height in that test is measured above a glide slope rising from the site at ``min_glide_slope_deg``.
2. **Then the horizontal** the profile asks for, within the thrust left and the per-phase tilt limit from
   the local vertical; where the tilt limit binds, the vertical is raised (up to hovering) instead.
3. **Then the rest of the vertical profile.** Position-tracking demands of the polynomial (a lander far
   off its plan after a late altimeter correction) must not starve horizontal braking: a review found
   such landers arresting their sink with all of the thrust and then overshooting the site.
4. The engine cannot run below its minimum throttle: a smaller command is delivered at minimum throttle.
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core import frames
from riskengine.core._pytree import PyTree, pytree_dataclass
from riskengine.core.params import Array, GuidanceParams, HazardDetectionParams

# A phase ends when its re-solved time-to-go falls below this: above two guidance periods, it keeps the
# 12 / T^2 gains bounded as the phase closes (Apollo switched P63 -> P64 on time-to-go the same way).
MIN_TIME_TO_GO_S = 4.0
NEWTON_ITERATIONS = 3  # warm-started each cycle from the previous root: converges to float32 in 2-3
FAR_ROOT_FACTOR, FAR_ROOT_SLACK_S = 2.0, 20.0  # a new root may be at most 2 x the guess + 20 s

BRAKING, APPROACH, TERMINAL = 0, 1, 2
TILT_SINK_ARREST_S = 10.0
SINK_ARREST_FRACTION = 0.5  # of the stopping guard's ceiling: the sink the tilt-limited vertical leaves alone
# The stopping guard's floor sits this far above the planned touchdown rate. The terminal law holds the
# *estimated* sink at that rate, so the estimate wanders about it with the velocity filter's noise and the
# law's lag (tenths of m/s); a guard exactly at the plan fired full thrust on that noise at the ground
# (measured: an Apollo plan noise stream, believing itself 0.4 m below the map at 0.90 m/s against 0.9,
# climbed to 52 m and ran dry hovering back down). 0.3 m/s is 1 ft/s, one click of Apollo's P66
# rate-of-descent switch, the resolution its crews set the sink to (Apollo Lunar Surface Journal, Apollo
# 11 landing commentary); every gear envelope in configs/vehicles/ (>= 3 m/s) lies well above rate + it.
TOUCHDOWN_RATE_TOLERANCE_MPS = 0.3
VERTICAL_AHEAD_FRACTION = 0.5  # vertical_arrived: the height left is under half the gate rate's reach
PHASES: tuple[str, ...] = ("braking", "approach", "terminal")


@pytree_dataclass
class GuidanceState(PyTree):
    phase: Array  # int32: BRAKING, APPROACH or TERMINAL
    t_go_s: Array  # time-to-go of the current phase at the last solve (0 in terminal descent)
    braking_jerk_mps3: Array  # downrange jerk targets, fixed before flight from the plan
    approach_jerk_mps3: Array
    # Hazard avoidance (riskengine.core.hazard_avoidance): the terminal descent's aim point, site-frame
    # (x, y) of the estimate (the site, (0, 0), until a scan), and the divert the scan chose, m (NaN: no
    # scan yet; a scan is taken once).
    aim_m: Array
    divert_m: Array


def high_gate_target(g: GuidanceParams, radius_m: Array) -> tuple[Array, Array, Array]:
    """Braking target: position, velocity, acceleration (3,) each, site frame."""
    p, up, along = frames.point_at(g.high_gate_range_m, g.high_gate_altitude_m, radius_m)
    v = g.high_gate_horizontal_speed_mps * along + g.high_gate_vertical_speed_mps * up
    a = g.high_gate_horizontal_accel_mps2 * along + g.high_gate_vertical_accel_mps2 * up
    return p, v, a


def low_gate_target(g: GuidanceParams) -> tuple[Array, Array, Array]:
    """Approach target: over the site at the low gate height, descending vertically."""
    zero = jnp.zeros_like(g.low_gate_altitude_m)
    p = jnp.stack([zero, zero, g.low_gate_altitude_m])
    v = jnp.stack([zero, zero, g.low_gate_vertical_speed_mps])
    return p, v, jnp.zeros(3, dtype=p.dtype)


def polynomial_accel(r: Array, v: Array, r_t: Array, v_t: Array, a_t: Array, t_go: Array) -> Array:
    """Total (gravity-inclusive) acceleration command (3,), m/s^2."""
    return 12.0 * (r_t - r) / t_go**2 - 6.0 * (v_t + v) / t_go + a_t


def downrange_jerk(r: Array, v: Array, r_t: Array, v_t: Array, a_t: Array, t_go: Array) -> Array:
    """Downrange jerk at the target of the quadratic profile from (r, v) that takes ``t_go``, m/s^3."""
    t = t_go
    return (6.0 * a_t[0] * t * t - (18.0 * v_t[0] + 6.0 * v[0]) * t - 24.0 * (r[0] - r_t[0])) / (t * t * t)


def solve_time_to_go(
    jerk: Array, r: Array, v: Array, r_t: Array, v_t: Array, a_t: Array, t_guess: Array
) -> Array:
    """Root of the downrange jerk condition near ``t_guess`` (Newton), s; ``t_guess`` if none is found."""
    c3, c2 = jerk, -6.0 * a_t[0]
    c1 = 18.0 * v_t[0] + 6.0 * v[0]
    c0 = 24.0 * (r[0] - r_t[0])
    t = jnp.maximum(t_guess, MIN_TIME_TO_GO_S)
    for _ in range(NEWTON_ITERATIONS):
        f = ((c3 * t + c2) * t + c1) * t + c0
        df = (3.0 * c3 * t + 2.0 * c2) * t + c1
        t = t - f / jnp.where(jnp.abs(df) > 1e-6, df, 1e-6)
    # A root far beyond the guess is the cubic's other branch, not this phase's time-to-go (seen: an
    # approach solved from the 4 s floor jumped to ~3700 s and flew on with an almost zero command).
    ok = (
        jnp.isfinite(t)
        & (t > 0.0)
        & (t <= FAR_ROOT_FACTOR * jnp.maximum(t_guess, MIN_TIME_TO_GO_S) + FAR_ROOT_SLACK_S)
    )
    return jnp.where(ok, t, t_guess)


def plan(g: GuidanceParams, radius_m: Array, p0: Array, v0: Array) -> GuidanceState:
    """Jerk targets that make the nominal trajectory from PDI (``p0``, ``v0``) take the planned times."""
    hg_p, hg_v, hg_a = high_gate_target(g, radius_m)
    lg_p, lg_v, lg_a = low_gate_target(g)
    return GuidanceState(
        phase=jnp.int32(BRAKING),
        t_go_s=g.braking_time_s,
        braking_jerk_mps3=downrange_jerk(p0, v0, hg_p, hg_v, hg_a, g.braking_time_s),
        approach_jerk_mps3=downrange_jerk(hg_p, hg_v, lg_p, lg_v, lg_a, g.approach_time_s),
        aim_m=jnp.zeros(2, dtype=p0.dtype),
        divert_m=jnp.full((), jnp.nan, dtype=p0.dtype),
    )


def terminal_accel(
    g: GuidanceParams,
    r: Array,
    v: Array,
    up: Array,
    height_m: Array,
    aim_m: Array,
    position_gain_per_s: Array,
    max_horizontal_speed_mps: Array,
    gravity_mps2: Array,
) -> Array:
    """Velocity-hold law: sink at a rate set by the estimated height, steer horizontal position to the aim
    point ``aim_m`` (site-frame x, y: the site, or the spot a hazard scan chose) with ``position_gain_per_s``,
    at most ``max_horizontal_speed_mps``; ``gravity_mps2``: the local gravity's magnitude."""
    rel = r - jnp.stack([aim_m[0], aim_m[1], jnp.zeros_like(aim_m[0])])
    r_h = rel - (rel @ up) * up
    v_ref_h = -position_gain_per_s * r_h
    speed = jnp.linalg.norm(v_ref_h)
    v_ref_h = v_ref_h * jnp.minimum(1.0, max_horizontal_speed_mps / jnp.maximum(speed, 1e-6))
    scheduled = jnp.clip(
        height_m / g.terminal_time_constant_s, g.terminal_descent_rate_mps, g.terminal_max_sink_mps
    )
    # Null the horizontal motion before descending: full sink at or below the terminal horizontal speed
    # limit, none (hover) above twice it, so a lander that enters the terminal phase fast does not come
    # down with its horizontal speed (the tilt limit makes horizontal braking slow near the ground).
    v_h = jnp.linalg.norm(v - (v @ up) * up)
    limit = jnp.maximum(g.terminal_max_horizontal_speed_mps, 0.1)
    sink = scheduled * jnp.clip((2.0 * limit - v_h) / limit, 0.0, 1.0)
    # Above the low gate the hover is not needed: the lander may sink so that it reaches the low gate's
    # height no sooner than the terminal tilt could null its horizontal speed (``descend_while_braking``).
    sink = jnp.maximum(sink, jnp.minimum(scheduled, descend_while_braking(g, height_m, v_h, gravity_mps2)))
    v_ref = v_ref_h - sink * up
    return g.terminal_velocity_gain_per_s * (v_ref - v)


def terminal_null_time_s(g: GuidanceParams, v_h: Array, g_mps2: Array) -> Array:
    """Time the terminal tilt limit takes to null a horizontal speed ``v_h`` holding the vertical at
    hover, ``v_h / (g tan(terminal tilt))``, s."""
    return v_h / jnp.maximum(g_mps2 * jnp.tan(jnp.deg2rad(g.terminal_max_tilt_deg)), 1e-6)


def descend_while_braking(g: GuidanceParams, height_m: Array, v_h: Array, g_mps2: Array) -> Array:
    """Sink rate (m/s, >= 0) that brings a lander at ``height_m`` moving ``v_h`` horizontally to the low
    gate's height no sooner than the terminal tilt limit nulls that speed, ``(h - h_gate) / t_null`` with
    ``t_null = v_h / (g tan(terminal tilt))``; 0 at or below the gate.

    A lander corrected late and high (its IMU drift found by the first range readings) reaches the
    terminal phase when its approach runs out of time-to-go, over or past the site, still kilometres up
    and moving at the approach's speed (measured: Mare Frigoris samples at 2.3 km and 106 m/s with 34 kg
    left). Hovering there while it nulls that speed, then descending, spends the propellant twice over
    (hover flow for the null, then for the descent); descending while braking spends it once. The
    terminal tilt is the conservative rate: above the gate the approach's tilt limit applies
    (``max_tilt_rad``) and nulls the speed sooner, so the lander arrives at the gate slower than it may."""
    null_s = terminal_null_time_s(g, v_h, g_mps2)
    return jnp.maximum(height_m - g.low_gate_altitude_m, 0.0) / jnp.maximum(null_s, 1e-3)


def _phase_solution(
    jerk: Array, r: Array, v: Array, target: tuple[Array, Array, Array], guess: Array
) -> tuple[Array, Array]:
    """(time-to-go, total acceleration command) of one phase's profile from the estimated state."""
    r_t, v_t, a_t = target
    t_go = solve_time_to_go(jerk, r, v, r_t, v_t, a_t, jnp.maximum(guess, MIN_TIME_TO_GO_S))
    t_go = jnp.maximum(t_go, MIN_TIME_TO_GO_S)
    return t_go, polynomial_accel(r, v, r_t, v_t, a_t, t_go)


def vertical_arrived(
    g: GuidanceParams, height: Array, v_up: Array, v_h: Array, g_mps2: Array, t_go: Array
) -> Array:
    """The approach's vertical channel has arrived and the terminal phase can take the rest: the lander
    sinks no faster than the low gate's rate, the height left to the gate is less than half what that
    rate covers in the time left (``h - h_gate <= |v_gate| t_go / 2``: the vertical profile is waiting
    for its range; one on profile into the gate has a ratio ~1 and flies on), and the terminal phase,
    tilted at most ``terminal_max_tilt_deg``, nulls its horizontal speed within that time
    (``v_h <= g tan(tilt) t_go``).

    The approach's polynomial ends over the site at the gate's height with no horizontal speed, so a
    lander whose height is ahead of its range levels off at the gate's height and crawls the rest at a
    near hover. Without this test the handover hung on a few metres: one that dipped below the gate's
    height went to the terminal phase at once, one a few metres above flew the crawl (Apollo 11's replay:
    ~28 s and ~125 kg more at the stated inputs with no altitude error, dry at 9 m where the stated
    flight lands). The half keeps Hakuto-R's approach, on profile into its 3 km gate at ~40 m/s, on its
    approach (with the full ``|v_gate| t_go`` it handed over ~650 m above the gate); the horizontal test
    keeps a lander still fast, far out, on its approach."""
    rate = -g.low_gate_vertical_speed_mps  # the gate's sink rate, > 0
    null_s = terminal_null_time_s(g, v_h, g_mps2)
    ahead = height - g.low_gate_altitude_m <= VERTICAL_AHEAD_FRACTION * rate * t_go
    return (v_up >= -rate) & ahead & (null_s <= t_go)


def command_accel(
    g: GuidanceParams,
    hazard: HazardDetectionParams,
    s: GuidanceState,
    radius_m: Array,
    r: Array,
    v: Array,
    gravity_est: Array,
    max_accel_mps2: Array,
) -> tuple[GuidanceState, Array]:
    """One guidance cycle on estimated position ``r`` and velocity ``v``: the new guidance state and the
    total acceleration command (3,), m/s^2 (before limits).

    Phase switches, all on state: braking ends when its time-to-go runs out, at the high gate's height, or
    when its profile needs more than full thrust while the approach's can be flown (a lander corrected
    late, lower than it believed, goes straight to the approach instead of fighting for a gate it can no
    longer meet); the approach ends when its time-to-go runs out, at the low gate's height, or when its
    vertical channel has arrived (``vertical_arrived``)."""
    height = frames.height_above_sphere(r, radius_m)
    braking = s.phase == BRAKING
    t_b, poly_b = _phase_solution(
        s.braking_jerk_mps3, r, v, high_gate_target(g, radius_m), s.t_go_s - g.guidance_period_s
    )
    t_a, poly_a = _phase_solution(
        s.approach_jerk_mps3,
        r,
        v,
        low_gate_target(g),
        jnp.where(braking, g.approach_time_s, s.t_go_s - g.guidance_period_s),
    )
    fits_b = jnp.linalg.norm(poly_b - gravity_est) <= max_accel_mps2
    fits_a = jnp.linalg.norm(poly_a - gravity_est) <= max_accel_mps2
    braking_done = braking & (
        (t_b <= MIN_TIME_TO_GO_S) | (height <= g.high_gate_altitude_m) | (~fits_b & fits_a)
    )
    up = frames.local_up(r, radius_m)
    approach_done = (s.phase == APPROACH) & (
        (t_a <= MIN_TIME_TO_GO_S)
        | (height <= g.low_gate_altitude_m)
        | vertical_arrived(
            g, height, v @ up, jnp.linalg.norm(v - (v @ up) * up), jnp.linalg.norm(gravity_est), t_a
        )
    )
    phase = jnp.where(braking_done, APPROACH, jnp.where(approach_done, TERMINAL, s.phase)).astype(jnp.int32)
    # After a hazard scan the terminal law flies to the chosen spot with the divert's gain and speed.
    diverting = ~jnp.isnan(s.divert_m)
    term = terminal_accel(
        g,
        r,
        v,
        up,
        height,
        s.aim_m,
        jnp.where(diverting, hazard.divert_gain_per_s, g.terminal_position_gain_per_s),
        jnp.where(diverting, hazard.divert_speed_mps, g.terminal_max_horizontal_speed_mps),
        jnp.linalg.norm(gravity_est),
    )
    t_go = jnp.where(phase == BRAKING, t_b, jnp.where(phase == APPROACH, t_a, 0.0))
    accel = jnp.where(phase == BRAKING, poly_b, jnp.where(phase == APPROACH, poly_a, term))
    return s.replace(phase=phase, t_go_s=t_go), accel


def above_low_gate(g: GuidanceParams, height_above_map_m: Array) -> Array:
    """0 at or below the low gate's height, 1 from twice it, linear between: how far a lander is into the
    heights where the final descent's protections (terminal tilt, arresting every sink) are not needed."""
    gate = jnp.maximum(g.low_gate_altitude_m, 1.0)
    return jnp.clip((height_above_map_m - gate) / gate, 0.0, 1.0)


def max_tilt_rad(g: GuidanceParams, phase: Array, height_above_map_m: Array) -> Array:
    """The phase's tilt limit from the local vertical, rad. The terminal descent's limit guards the final
    descent (the rangefinder's view of the ground, the gear's attitude at contact; Apollo's P66 was flown
    near vertical): above the low gate's height a terminal lander (one whose approach ran out of
    time-to-go while still high and fast) has the approach's limit, blended linearly to the terminal one
    between twice the gate's height and the gate, so that it brakes its horizontal speed as the approach
    would (at the terminal 20 deg a lander at 2.3 km with 106 m/s needed ~3 min of hover-class thrust to
    null it and ran dry; measured)."""
    blend = above_low_gate(g, height_above_map_m)
    terminal = g.terminal_max_tilt_deg + blend * jnp.maximum(
        g.approach_max_tilt_deg - g.terminal_max_tilt_deg, 0.0
    )
    deg = jnp.where(
        phase == BRAKING,
        g.braking_max_tilt_deg,
        jnp.where(phase == APPROACH, g.approach_max_tilt_deg, terminal),
    )
    return jnp.deg2rad(deg)


def _leg(hyp: Array, side: Array) -> Array:
    """``sqrt(hyp^2 - side^2)`` (0 where negative) as ``sqrt((hyp - side)(hyp + side))``: near saturation
    the difference of two nearly equal squares loses float32 digits (found by the NumPy twin)."""
    a = jnp.abs(side)
    return jnp.sqrt(jnp.maximum((hyp - a) * (hyp + a), 0.0))


def limit_thrust(
    g: GuidanceParams,
    phase: Array,
    accel_cmd: Array,
    gravity_est: Array,
    v_est: Array,
    up: Array,
    radius_m: Array,
    height_above_map_m: Array,
    horizontal_distance_m: Array,
    max_accel_mps2: Array,
    min_accel_mps2: Array,
) -> tuple[Array, Array]:
    """Thrust acceleration (m/s^2) and unit direction (3,) that best realise ``accel_cmd`` within the
    limits in the module docstring. ``max_accel_mps2``/``min_accel_mps2``: full and minimum thrust over the
    estimated mass."""
    a_th = accel_cmd - gravity_est
    a_v = a_th @ up
    a_h = a_th - a_v * up
    g_local = -(gravity_est @ up)
    v_z = v_est @ up
    v_h2 = jnp.maximum(v_est @ v_est - v_z * v_z, 0.0)
    g_eff = g_local - v_h2 / (radius_m + jnp.maximum(height_above_map_m, 0.0))
    tan_tilt = jnp.tan(max_tilt_rad(g, phase, height_above_map_m))
    # 1. Safety first: the vertical thrust safety needs. Normally that is only "no dive" (a bounded
    # downward acceleration); past the stopping-distance ceiling it is full thrust.
    sink = -v_z
    arrest = jnp.maximum(max_accel_mps2 - g_local, 1e-3)
    # The ceiling never falls below the final touchdown rate (plus TOUCHDOWN_RATE_TOLERANCE_MPS): reaching
    # the ground at that rate is the plan.
    # Glide-slope limit: the height that counts is what lies above a glide slope rising from the site at
    # ``min_glide_slope_deg``, so a lander still far out (or past the site) cannot sink to the ground with
    # its horizontal speed; over the site the slope vanishes and the ground is the floor. The slope is an
    # approach and terminal limit only: in braking, hundreds of km out, a 5 deg slope stands tens of km
    # above the PDI altitude, and the guard then fired full vertical thrust at any sink over the touchdown
    # rate (seen: a heavier lander, sinking early in braking, flipping between vertical and horizontal thrust
    # every ~100 s, minimum throttle through each slew, and never braking in time).
    # In the terminal descent the slope rises from where the lander would stop, not from the site: the
    # terminal law lands where the horizontal motion is nulled (or creeps to the aim at a fraction of a m/s),
    # so what the slope guards is the distance still to slide, ``v_h^2 / (2 g tan(terminal tilt))``. From
    # the site, a lander that ended its approach 1.7 km past it (corrected late and high) met a 150 m floor
    # over its own ground, crept down at the touchdown rate and ran dry 100 m up (measured).
    glide = jnp.where(phase == BRAKING, 0.0, jnp.tan(jnp.deg2rad(g.min_glide_slope_deg)))
    sliding = v_h2 / (2.0 * jnp.maximum(g_local * jnp.tan(jnp.deg2rad(g.terminal_max_tilt_deg)), 1e-6))
    floor = glide * jnp.where(phase == TERMINAL, sliding, horizontal_distance_m)
    usable_height = jnp.maximum(height_above_map_m - floor, 0.0)
    floor_rate = g.terminal_descent_rate_mps + TOUCHDOWN_RATE_TOLERANCE_MPS
    ceiling2 = 2.0 * arrest * usable_height / g.stopping_margin + jnp.square(floor_rate)
    guard = (sink > 0.0) & (sink * sink > ceiling2)
    a_v_safe = jnp.where(guard, max_accel_mps2, jnp.maximum(g_eff - g.max_descent_accel_mps2, 0.0))
    a_v_safe = jnp.clip(a_v_safe, 0.0, max_accel_mps2)
    # 2. Then the horizontal the profile asks for, within what is left; where the tilt limit binds, the
    # vertical is raised (up to hovering) rather than the horizontal braking starved (overshooting the
    # site is as fatal as sinking).
    h_mag = jnp.linalg.norm(a_h)
    h_room = _leg(max_accel_mps2, a_v_safe)
    h_want = jnp.minimum(h_mag, h_room)
    # (at most hovering plus arresting the current sink over TILT_SINK_ARREST_S: slowing a descent is
    # safe, climbing back up is not wanted). Hovering is against gravity, without the centrifugal relief
    # of orbital speed: with it the cap is ~0 near PDI and the tilt limit then forbids all braking (seen:
    # a heavier lander, whose profile first points the thrust down, coasting at minimum throttle past the
    # site); at braking tilts the vertical the limit needs is small (h / tan 85 deg = 0.09 h).
    # Above the low gate only the sink beyond half the stopping guard's ceiling is arrested so: far above
    # the ground a sink is safe and arresting it there spends propellant the descent needs again
    # (measured: a Frigoris lander corrected 2.7 km up at -36 m/s spent 16 kg braking to -6 m/s while it
    # braked its horizontal speed, then ran dry 155 m up). At and below the gate (``above_low_gate``
    # blends between) every sink is arrested as before: left alone at 80 m, a terminal lander sinking 8
    # m/s while it braked 18 m/s of horizontal speed came down at 8 m/s and touched sliding (measured).
    leave = SINK_ARREST_FRACTION * above_low_gate(g, height_above_map_m)
    excess_sink = jnp.maximum(sink - leave * jnp.sqrt(ceiling2), 0.0)
    lift_cap = jnp.maximum(g_local + excess_sink / TILT_SINK_ARREST_S, a_v_safe)
    a_v_tilt = jnp.minimum(h_want / tan_tilt, lift_cap)
    # 3. Then the rest of the vertical profile, in what thrust remains.
    v_room = _leg(max_accel_mps2, h_want)
    a_v = jnp.maximum(jnp.maximum(a_v_safe, a_v_tilt), jnp.minimum(a_v, v_room))
    a_v = jnp.clip(a_v, 0.0, max_accel_mps2)
    h_allowed = jnp.minimum(_leg(max_accel_mps2, a_v), a_v * tan_tilt)
    a_h = a_h * jnp.minimum(1.0, h_allowed / jnp.maximum(h_mag, 1e-9))
    a_th = a_v * up + a_h
    mag = jnp.linalg.norm(a_th)
    direction = jnp.where(mag > 1e-9, a_th / jnp.maximum(mag, 1e-9), up)
    # 4. Minimum throttle: a smaller command is delivered at minimum thrust in its direction.
    return jnp.maximum(mag, min_accel_mps2), direction
