"""Guidance: the re-solved time-to-go, the quadratic profile's closed form, and the saturation policy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.config import ScenarioSpec, build_params
from riskengine.config.models import GuidanceSpec
from riskengine.config.presets import load_preset
from riskengine.core import frames, guidance
from riskengine.core.params import Params


def _params() -> Params:
    return build_params(ScenarioSpec(), "mare_frigoris", {"fuel_margin_pct": 10.0})


def _pdi(p: Params) -> tuple[jax.Array, jax.Array]:
    g, r = p.guidance, p.body.radius_m
    p0, up0, along0 = frames.point_at(g.pdi_range_m, g.pdi_altitude_m, r)
    gamma = jnp.deg2rad(g.pdi_flight_path_deg)
    return p0, g.pdi_speed_mps * (jnp.cos(gamma) * along0 + jnp.sin(gamma) * up0)


def test_time_to_go_from_the_plan_is_the_planned_duration():
    p = _params()
    g, r = p.guidance, p.body.radius_m
    p0, v0 = _pdi(p)
    plan = guidance.plan(g, r, p0, v0)
    target = guidance.high_gate_target(g, r)
    # Warm-started anywhere near it, Newton lands on the planned 700 s.
    for guess in (650.0, 700.0, 760.0):
        t = guidance.solve_time_to_go(plan.braking_jerk_mps3, p0, v0, *target, jnp.float32(guess))
        assert abs(float(t) - float(g.braking_time_s)) < 0.5, (guess, float(t))
    # A lander 20 km further out needs longer; 20 km closer, less: the clock follows the state.
    ahead = guidance.solve_time_to_go(
        plan.braking_jerk_mps3, p0 + jnp.array([20e3, 0, 0]), v0, *target, g.braking_time_s
    )
    behind = guidance.solve_time_to_go(
        plan.braking_jerk_mps3, p0 - jnp.array([20e3, 0, 0]), v0, *target, g.braking_time_s
    )
    assert float(ahead) < float(g.braking_time_s) < float(behind)


def test_quadratic_profile_meets_its_target_in_closed_form():
    # Without gravity, flying a = 12 (r_T - r)/T^2 - 6 (v_T + v)/T + a_T re-evaluated every 0.1 s while T
    # counts down reaches the target position and velocity (exact for the continuous law).
    r = np.array([-5000.0, 300.0, 2000.0])
    v = np.array([120.0, -3.0, -40.0])
    r_t, v_t, a_t = np.array([0.0, 0.0, 100.0]), np.array([0.0, 0.0, -2.0]), np.zeros(3)
    t_go, dt = 90.0, 0.01
    while t_go > 0.5:
        a = np.asarray(guidance.polynomial_accel(r, v, r_t, v_t, a_t, t_go))
        r, v = r + v * dt + 0.5 * a * dt * dt, v + a * dt
        t_go -= dt
    # Finish the last half second on the final command, as the law's gains diverge at T -> 0.
    a = np.asarray(guidance.polynomial_accel(r, v, r_t, v_t, a_t, t_go))
    r, v = r + v * t_go + 0.5 * a * t_go**2, v + a * t_go
    np.testing.assert_allclose(r, r_t, atol=1.0)
    np.testing.assert_allclose(v, v_t, atol=0.1)


def _limit(p: Params, phase: int, accel: list[float], v: list[float], height: float, distance: float = 0.0):
    up = jnp.array([0.0, 0.0, 1.0])
    g_est = jnp.array([0.0, 0.0, -1.62])
    a, d = guidance.limit_thrust(
        p.guidance,
        jnp.int32(phase),
        jnp.asarray(accel, jnp.float32),
        g_est,
        jnp.asarray(v, jnp.float32),
        up,
        p.body.radius_m,
        jnp.float32(height),
        jnp.float32(distance),
        jnp.float32(5.0),
        jnp.float32(1.0),
    )
    return float(a), np.asarray(d)


def test_stopping_guard_puts_all_thrust_vertical_past_the_ceiling():
    p = _params()
    # 60 m/s down at 500 m: full thrust (5 m/s^2 against 1.62) stops in 540 m > 500 / 2: arrest now.
    a, d = _limit(p, guidance.APPROACH, [-3.0, 0.0, -3.0], [50.0, 0.0, -60.0], 500.0)
    assert a == 5.0 and d[2] > 0.999
    # 10 m/s down at the same height is well inside it: the profile's command passes (no dive below
    # g - 1 m/s^2, so the vertical thrust acceleration is at least 0.62).
    a, d = _limit(p, guidance.APPROACH, [-3.0, 0.0, -3.0], [50.0, 0.0, -10.0], 500.0)
    assert a * d[2] >= 1.62 - float(p.guidance.max_descent_accel_mps2) - 1e-5
    assert d[0] < -0.5  # braking horizontally


def test_stopping_guard_does_not_fire_on_touchdown_rate_noise_below_the_map():
    # A lander that believes itself just below the map (usable height 0) sinking at the planned touchdown
    # rate plus a few cm/s of velocity-estimate noise is on plan: the terminal law's command passes.
    # Past the rate plus TOUCHDOWN_RATE_TOLERANCE_MPS the guard takes over with full thrust.
    p = _params()
    rate = float(p.guidance.terminal_descent_rate_mps)
    hover = [0.0, 0.0, 0.0]  # hold the sink: thrust acceleration = g, well under full thrust
    for noise in (0.0, 0.05, 0.2):
        a, _ = _limit(p, guidance.TERMINAL, hover, [0.0, 0.0, -(rate + noise)], -0.4)
        assert a < 5.0, noise
    a, d = _limit(
        p, guidance.TERMINAL, hover, [0.0, 0.0, -(rate + guidance.TOUCHDOWN_RATE_TOLERANCE_MPS + 0.05)], -0.4
    )
    assert a == 5.0 and d[2] > 0.999


def test_glide_slope_raises_the_floor_far_from_the_site():
    p = _params()
    # 25 m/s down at 300 m is arrestable over the site, but 3 km out the 5 deg slope stands 262 m high.
    a_over, _ = _limit(p, guidance.APPROACH, [0.0, 0.0, -1.0], [0.0, 0.0, -25.0], 300.0, 0.0)
    a_out, d_out = _limit(p, guidance.APPROACH, [0.0, 0.0, -1.0], [0.0, 0.0, -25.0], 300.0, 3000.0)
    assert a_over < 5.0 and a_out == 5.0 and d_out[2] > 0.999


def test_terminal_glide_slope_rises_from_where_the_lander_would_stop():
    # A terminal lander 1.7 km past the site (its approach ran out there, corrected late and high) with its
    # horizontal motion nulled lands where it is: at 150 m a 5 m/s sink is arrestable, and the slope from
    # the site (149 m high there) must not hold it at the touchdown rate. Moving at 30 m/s it would slide
    # 30^2 / (2 g tan 20 deg) = 763 m: the slope stands 67 m over that, so 150 m is 83 m of usable height.
    p = _params()
    hover = [0.0, 0.0, 0.0]
    a, _ = _limit(p, guidance.TERMINAL, hover, [0.0, 0.0, -5.0], 150.0, 1700.0)
    assert a < 5.0
    # The same sink in the approach, which still flies to the site, meets the slope from the site.
    a, d = _limit(p, guidance.APPROACH, hover, [0.0, 0.0, -5.0], 150.0, 1700.0)
    assert a == 5.0 and d[2] > 0.999
    g_tan = 1.62 * np.tan(np.radians(float(p.guidance.terminal_max_tilt_deg)))
    usable = 150.0 - np.tan(np.radians(float(p.guidance.min_glide_slope_deg))) * 30.0**2 / (2.0 * g_tan)
    arrest = 5.0 - 1.62
    floor_rate = float(p.guidance.terminal_descent_rate_mps) + guidance.TOUCHDOWN_RATE_TOLERANCE_MPS
    ceiling = np.sqrt(2.0 * arrest * usable / float(p.guidance.stopping_margin) + floor_rate**2)
    for sink, fires in ((ceiling - 0.3, False), (ceiling + 0.3, True)):
        a, d = _limit(p, guidance.TERMINAL, hover, [30.0, 0.0, -sink], 150.0, 0.0)
        assert (a == 5.0 and d[2] > 0.999) == fires, (sink, ceiling)


def test_terminal_tilt_limit_opens_to_the_approach_limit_above_the_low_gate():
    g = _params().guidance
    gate, term, appr = (
        float(x) for x in (g.low_gate_altitude_m, g.terminal_max_tilt_deg, g.approach_max_tilt_deg)
    )

    def tilt(h: float) -> float:
        return float(np.degrees(guidance.max_tilt_rad(g, jnp.int32(guidance.TERMINAL), jnp.float32(h))))

    assert np.isclose(tilt(0.0), term) and np.isclose(tilt(gate), term)
    assert np.isclose(tilt(1.5 * gate), 0.5 * (term + appr), atol=1e-3)
    assert np.isclose(tilt(2.0 * gate), appr) and np.isclose(tilt(50.0 * gate), appr)
    # Braking and approach keep their own limits at any height.
    for phase, deg in (
        (guidance.BRAKING, g.braking_max_tilt_deg),
        (guidance.APPROACH, g.approach_max_tilt_deg),
    ):
        for h in (10.0, 5000.0):
            assert np.isclose(
                np.degrees(guidance.max_tilt_rad(g, jnp.int32(phase), jnp.float32(h))), float(deg)
            )


def test_a_terminal_lander_high_and_fast_descends_while_it_brakes():
    # Closed form: the sink that reaches the low gate's height when the terminal tilt has nulled v_h.
    g = _params().guidance
    gate, g_moon = float(g.low_gate_altitude_m), 1.62
    null_s = 106.0 / (g_moon * np.tan(np.radians(float(g.terminal_max_tilt_deg))))
    sink = float(
        guidance.descend_while_braking(g, jnp.float32(2300.0), jnp.float32(106.0), jnp.float32(g_moon))
    )
    assert np.isclose(sink, (2300.0 - gate) / null_s, rtol=1e-5)
    assert (
        float(guidance.descend_while_braking(g, jnp.float32(gate), jnp.float32(106.0), jnp.float32(g_moon)))
        == 0.0
    )
    # The law's vertical command: descending at that rate (not hovering) at 2.3 km with 106 m/s; below
    # the gate, hovering until the horizontal speed is under twice the terminal limit, as before.
    up = jnp.array([0.0, 0.0, 1.0])
    aim = jnp.zeros(2)

    def vertical_command(h: float, v_h: float) -> float:
        r = jnp.array([0.0, 0.0, h])
        v = jnp.array([v_h, 0.0, 0.0])
        a = guidance.terminal_accel(
            g, r, v, up, jnp.float32(h), aim, g.terminal_position_gain_per_s,
            g.terminal_max_horizontal_speed_mps, jnp.float32(g_moon),
        )  # fmt: skip
        return float(a[2]) / float(g.terminal_velocity_gain_per_s)  # = reference sink's negative

    assert np.isclose(vertical_command(2300.0, 106.0), -sink, rtol=1e-4)
    assert vertical_command(80.0, 106.0) == 0.0


def test_the_tilt_limited_vertical_arrests_only_an_unsafe_sink():
    # Braking hard at the tilt limit raises the vertical thrust; far above the ground (2.7 km, sinking
    # 36 m/s: full thrust stops that in 190 m) it is raised to hovering, not beyond: arresting a safe sink
    # spends propellant the descent needs again. Below the low gate (60 m, 12 m/s, under the guard's 14.4
    # m/s ceiling) the whole sink is arrested over TILT_SINK_ARREST_S, as the final descent needs.
    p = _params()
    brake = [-6.0, 0.0, 0.0]  # far more horizontal than the tilt limit allows
    a, d = _limit(p, guidance.APPROACH, brake, [90.0, 0.0, -36.0], 2700.0)
    assert a * d[2] <= 1.62 + 1e-4
    a, d = _limit(p, guidance.APPROACH, brake, [10.0, 0.0, -12.0], 60.0)
    assert np.isclose(a * d[2], 1.62 + 12.0 / guidance.TILT_SINK_ARREST_S, atol=1e-3)


def test_tilt_limit_and_full_thrust_bound_every_command():
    p = _params()
    rng = np.random.default_rng(0)
    for _ in range(50):
        accel = rng.normal(0.0, 6.0, 3)
        v = rng.normal(0.0, 40.0, 3)
        for phase in (guidance.BRAKING, guidance.APPROACH, guidance.TERMINAL):
            height = float(rng.uniform(50, 5000))
            a, d = _limit(p, phase, list(accel), list(v), height)
            assert 1.0 - 1e-5 <= a <= 5.0 + 1e-5
            tilt = np.degrees(np.arccos(np.clip(d[2], -1, 1)))
            limit = (
                float(guidance.max_tilt_rad(p.guidance, jnp.int32(phase), jnp.float32(height))) * 180 / np.pi
            )
            assert tilt <= limit + 1e-3, (phase, tilt, limit)


def test_the_approach_hands_over_when_its_vertical_channel_waits_for_its_range():
    g_moon = jnp.float32(1.62)

    base = _params().guidance

    def arrived(guid: str, above_gate_m: float, v_up: float, v_h: float, t_go: float) -> bool:
        # The preset's gate and terminal tilt on the default guidance (the rule reads nothing else).
        spec = load_preset("guidance", guid, GuidanceSpec)
        fields = ("low_gate_altitude_m", "low_gate_vertical_speed_mps", "terminal_max_tilt_deg")
        g = base.replace(**{k: jnp.float32(getattr(spec, k)) for k in fields})
        h = g.low_gate_altitude_m + above_gate_m
        f32 = jnp.float32
        return bool(guidance.vertical_arrived(g, h, f32(v_up), f32(v_h), g_moon, f32(t_go)))

    # Apollo 11's replay with no altitude error at 600 s: 9 m above the 152 m gate, sinking 0.65 m/s
    # (the gate's rate is 0.9), 6.8 m/s to null, 27 s to go: waiting for its range, so P66 takes over.
    assert arrived("apollo", 9.0, -0.65, 6.8, 27.0)
    # Not while it still sinks faster than the gate's rate, nor with the gate still far below.
    assert not arrived("apollo", 9.0, -2.0, 6.8, 27.0)
    assert not arrived("apollo", 30.0, -0.65, 6.8, 27.0)
    # Not with more horizontal speed than the terminal phase's tilt can null in the time left.
    assert not arrived("apollo", 9.0, -0.65, 30.0, 27.0)
    # Hakuto-R on profile into its 3 km gate (656 m above it at 38 m/s with 16 s to go) flies on.
    assert not arrived("hakuto_r", 656.0, -38.0, 2.0, 16.0)
