"""``init``, ``step`` and ``finish`` of one descent, and the batched, jitted entry points.

Randomness is counter-based: a sample's key is ``fold_in(key, sample_index)``; from it
``fold_in(., 0)`` draws its dispersed parameters, ``fold_in(., 1)`` its initial draws and
``fold_in(., 2)`` the seed of its per-step noise stream (``riskengine.core.noise``, a hash of
(seed, step)). No draw depends on the batch a sample sits in, so any sample can be recomputed alone.

A step reads as its story (brax's ``pipeline.step``): ``_sense`` (what the instruments report),
``_navigate`` (the filter's updates, injected into the estimate), ``_guide`` (every guidance period),
``_actuate`` (attitude slew, throttle), ``_integrate`` (truth and strapdown estimate, covariance),
``_contact`` (ground contact, touchdown record) and ``_record`` (events).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from riskengine.core import (
    attitude,
    elevation,
    frames,
    guidance,
    hazard_avoidance,
    linalg,
    navigation,
    noise,
    sensors,
    terrain,
    touchdown,
    vehicle,
)
from riskengine.core.dispersion import Dispersion, apply_dispersion
from riskengine.core.dynamics import gravity, gravity_gradient, rk4_step
from riskengine.core.events import Event
from riskengine.core.params import Array, ElevationModel, Params
from riskengine.core.result import Result, Trace
from riskengine.core.state import Draws, EventLog, Heights, Row, State, Touchdown

# Uniforms per step: accelerometer (3), gyro (3), TRN (2), then per altimeter beam its range noise,
# dropout and Doppler noise.
_IMU, _GYRO, _TRN = slice(0, 3), slice(3, 6), slice(6, 8)
_BEAMS_AT = 8


def _n_noise(params: Params) -> int:
    return _BEAMS_AT + 3 * int(params.altimeter.beam_directions.shape[0])


def _period_steps(period_s: Array, dt: Array) -> Array:
    return jnp.maximum(jnp.round(period_s / dt), 1.0).astype(jnp.int32)


def _heights(params: Params, p: Array, p_est: Array) -> Heights:
    """Heights of the true position above true terrain and of the estimate above the onboard map."""
    true_m, grad, est_m, map_grad = terrain.heights(params.terrain, p, p_est, params.body.radius_m)
    return Heights(true_m=true_m, terrain_gradient=grad, estimated_m=est_m, map_gradient=map_grad)


def _row(t: Array, v: Array, up: Array, heights: Heights, propellant: Array) -> Row:
    """An event's values (EVENT_FIELDS order) at time ``t``."""
    return (t, heights.true_m, heights.estimated_m, v @ up, propellant)


def _deg(x: Array) -> Array:
    return jnp.deg2rad(x)


def init(params: Params, key: Array) -> State:
    """State at powered-descent initiation (PDI)."""
    g = params.guidance
    nav = params.navigation
    r = params.body.radius_m
    p0, up0, along0 = frames.point_at(g.pdi_range_m, g.pdi_altitude_m, r)
    gamma = jnp.deg2rad(g.pdi_flight_path_deg)
    v0 = g.pdi_speed_mps * (jnp.cos(gamma) * along0 + jnp.sin(gamma) * up0)
    p_est = (
        p0
        + nav.initial_downrange_error_m * along0
        + nav.initial_crossrange_error_m * frames.E_Y
        + nav.initial_altitude_error_m * up0
    )
    v_est = (
        v0
        + nav.initial_horizontal_velocity_error_mps * along0
        + nav.initial_crossrange_velocity_error_mps * frames.E_Y
        + nav.initial_vertical_velocity_error_mps * up0
    )

    k_grad, k_rock = jax.random.split(key)
    draws = Draws(
        local_gradient=jax.random.normal(k_grad, (2,), dtype=jnp.float32),
        rock_m=terrain.rock_height_m(params.terrain, jax.random.uniform(k_rock, dtype=jnp.float32)),
    )
    propellant = params.vehicle.propellant_kg
    zero = jnp.zeros_like(propellant)
    heights = _heights(params, p0, p_est)
    row = _row(zero, v0, frames.local_up(p0, r), heights, propellant)
    events = EventLog.empty().record(Event.POWERED_DESCENT_START, jnp.bool_(True), row)
    retrograde = -v0 / jnp.linalg.norm(v0)
    knowledge = jnp.stack(
        [
            _deg(nav.initial_attitude_error_x_deg),
            _deg(nav.initial_attitude_error_y_deg),
            _deg(nav.initial_attitude_error_z_deg),
        ]
    )
    return State(
        step=jnp.int32(0),
        integration_steps=jnp.int32(0),
        position_m=p0,
        velocity_mps=v0,
        propellant_kg=propellant,
        attitude=attitude.initial(retrograde),
        throttle=params.vehicle.min_throttle,
        est_position_m=p_est,
        est_velocity_mps=v_est,
        attitude_knowledge_error_rad=knowledge,
        nav=navigation.initial_filter(
            nav,
            jnp.stack([along0, jnp.asarray(frames.E_Y), up0]),
            int(params.altimeter.beam_directions.shape[0]),
        ),
        # Planned preflight on the nominal PDI state (the dispersed truth is unknown to the plan).
        guidance=guidance.plan(g, r, p0, v0),
        cmd_dir=retrograde,
        cmd_throttle=params.vehicle.min_throttle,
        heights=heights,
        t_in_range_s=jnp.float32(jnp.inf),
        ran_dry=jnp.bool_(False),
        done=jnp.bool_(False),
        touchdown=Touchdown(
            position_m=p0,
            velocity_mps=v0,
            t_s=zero,
            propellant_kg=propellant,
            estimated_height_m=heights.estimated_m,
            thrust_axis=retrograde,
            ran_dry=jnp.bool_(False),
            contact=jnp.bool_(False),
        ),
        events=events,
        draws=draws,
    )


class _Clock(NamedTuple):
    t: Array  # s, at the step's start
    dt: Array  # s, the step's length
    guidance_steps: Array  # int32, steps per guidance period (also the covariance propagation period)
    u: Array  # (_N_NOISE,) uniforms


def _clock(params: Params, state: State, noise_seed: Array) -> _Clock:
    # Every lane takes the same fixed step, so the step counter is one value for all lanes and every
    # periodic decision (guidance, covariance propagation, measurement updates) is a real branch. The
    # previous engine's long braking steps (one guidance period per step while the altimeter was out of
    # range) made the counter per lane; with the heavier GN&C they cost more in per-lane selects than they
    # saved in steps (measured at 1024 lanes on one core: 1420 vs 490 ns per lane-iteration, 154 vs 200
    # trajectories/s) and were removed.
    fine_dt = params.sim.dt_s
    # Materialise the step's uniforms once: XLA would otherwise re-derive them inside every consumer.
    u = jax.lax.optimization_barrier(noise.uniforms(noise_seed, state.step, _n_noise(params)))
    return _Clock(
        t=state.step.astype(jnp.float32) * fine_dt,
        dt=fine_dt,
        guidance_steps=_period_steps(params.guidance.guidance_period_s, fine_dt),
        u=u,
    )


class _Sensed(NamedTuple):
    in_range: Array  # some beam has a return this step
    valid: Array  # (B,) beam readings valid this step
    reading_m: Array  # (B,) slant ranges
    doppler_mps: Array  # (B,) line-of-sight velocities
    trn_valid: Array
    trn_measured_m: Array  # (2,) along-track and crossrange position fix


def _beam_geometry(
    params: Params,
    model: ElevationModel | elevation.Surface,
    c: Array,
    p: Array,
    v: Array,
    reach_m: Array | None = None,
) -> tuple[Array, sensors.BeamGeometry]:
    """Every beam's site-frame direction (B, 3) under attitude ``c`` and what it sees of ``model`` from
    ``p`` moving at ``v`` out to ``reach_m`` (fields with a leading beam axis): the beams are cast
    together, vectorised."""
    beams = jax.vmap(lambda d: linalg.matvec(c, d))(sensors.beam_directions_body(params.altimeter))
    geo = jax.vmap(
        lambda u: sensors.beam_geometry(params.altimeter, model, p, v, u, params.body.radius_m, reach_m)
    )(beams)
    return beams, geo


# How far the filter's predicted beams reach, in multiples of the instrument's maximum range.
PREDICTION_REACH = 4.0


def _beams_sensed(params: Params, state: State, c_true: Array, u: Array) -> tuple[Array, Array, Array]:
    """(returns (B,), readings (B,), Doppler (B,)) of every beam, cast against the true terrain."""
    alt = params.altimeter
    n = alt.beam_directions.shape[0]
    beams, geo = _beam_geometry(params, params.terrain.truth, c_true, state.position_m, state.velocity_mps)
    z = noise.gaussian(u[_BEAMS_AT : _BEAMS_AT + n])
    reading = sensors.altimeter_reading(alt, geo.range_m, geo.range_rate_mps, z)
    velocity = linalg.matvec(beams, state.velocity_mps)
    doppler = velocity + alt.velocity_noise_mps * noise.centred(u[_BEAMS_AT + 2 * n : _BEAMS_AT + 3 * n])
    return geo.ok, reading, doppler


def _sense(
    params: Params, state: State, clock: _Clock, c_true: Array, lanes_axis: str | None
) -> tuple[State, _Sensed]:
    """What the instruments report this step (from the truth, through their error models)."""
    alt, nav, r = params.altimeter, params.navigation, params.body.radius_m
    p, u = state.position_m, clock.u
    n_beams = alt.beam_directions.shape[0]
    on_time = (state.step % _period_steps(alt.period_s, params.sim.dt_s)) == 0
    # Beams are cast only on reading steps, and only while some lane is within range of the highest
    # ground: casting costs ~25 terrain lookups per beam, and most of braking is far above any return.
    reach = frames.height_above_sphere(p, r) - params.terrain.truth.max_height_m <= alt.max_range_m
    could = on_time & reach & ~state.done

    def cast(_: None) -> tuple[Array, Array, Array]:
        return _beams_sensed(params, state, c_true, u)

    def none(_: None) -> tuple[Array, Array, Array]:
        zeros = jnp.zeros(n_beams, jnp.float32)
        return jnp.zeros(n_beams, bool), zeros, zeros

    ok, reading, doppler = jax.lax.cond(_any(could, lanes_axis), cast, none, None)
    ok = ok & could
    in_range = jnp.any(ok)
    t_in_range = jnp.where(in_range & jnp.isinf(state.t_in_range_s), clock.t, state.t_in_range_s)
    acquired = clock.t >= t_in_range + alt.acquisition_delay_s
    kept = jnp.stack([u[_BEAMS_AT + n_beams + b] >= alt.dropout_prob for b in range(n_beams)])
    valid = ok & acquired & kept
    true_alt = state.heights.true_m
    trn_on = (
        (nav.trn_sigma_m > 0.0)
        & (true_alt >= nav.trn_min_altitude_m)
        & (true_alt <= nav.trn_max_altitude_m)
        & ((state.step % _period_steps(nav.trn_period_s, params.sim.dt_s)) == 0)
        & ~state.done
    )
    along_est = frames.local_along(frames.local_up(state.est_position_m, r))
    dirs = jnp.stack([along_est, jnp.asarray(frames.E_Y)])
    trn = linalg.matvec(dirs, p) + nav.trn_sigma_m * noise.centred(u[_TRN])
    sensed = _Sensed(in_range, valid, reading, doppler, trn_on, trn)
    return state.replace(t_in_range_s=t_in_range), sensed


def _any(flags: Array, lanes_axis: str | None) -> Array:
    """Whether any lane has ``flags`` (a collective over the lanes when they run in lockstep), so that a
    measurement update becomes a real branch, skipped while no lane has a reading (most of braking)."""
    if lanes_axis is None:
        return flags
    return jax.lax.psum(flags.astype(jnp.int32), lanes_axis) > 0


def _predicted_ranges(
    params: Params, state: State, beams: Array, geo: sensors.BeamGeometry, up_est: Array
) -> tuple[Array, Array, Array, Array]:
    """(predicted range, up, slope tan, predictable), each (B,) or (B, 3), for the filter's range rows.

    Where the estimate lies above the onboard map the range is the ray cast (``geo``). Where it lies at or
    below the map, a beam cast from the estimate meets no ground, and a lander that believed itself
    underground used to discard every reading unseen (measured: 4 of 128 matched-truth samples, their
    estimate kilometres low after dead reckoning, crashed with valid readings coming in). There the
    prediction is the range row's own level-ground model, ``h_est / (-u . up)`` with ``h_est <= 0`` the
    estimated height above the map: the linear model the filter updates with, continued below the
    surface, so that the innovation gate, not the geometry of an impossible belief, judges the reading.

    Either way the prediction is taken at the reading's time of validity, ``latency_s`` before the step:
    ``r - latency * dr/dt`` with the estimate's range rate, the first-order model the instrument's
    readings follow (``sensors.altimeter_reading``). A flight filter compensates a known latency so (Groves
    2013, sec. 3.3.3, time of validity); uncompensated, the 0.05 s of the presets was a range error of
    latency times range rate, 0.5-2.5 m through the approach, persistent and correlated with the descent
    rate, which the matched-truth set showed as half the vertical channel's excess (e^2/P 4.1 -> 2.4 at 64
    samples with the latency set to 0)."""
    below = state.heights.estimated_m <= 0.0
    descent = -linalg.matvec(beams, up_est)
    level = state.heights.estimated_m / jnp.maximum(descent, elevation.MIN_DESCENT)
    level_rate = (state.est_velocity_mps @ up_est) / jnp.maximum(descent, elevation.MIN_DESCENT)
    rate = jnp.where(below, level_rate, geo.range_rate_mps)
    predicted = jnp.where(below, level, geo.range_m) - params.altimeter.latency_s * rate
    up = jnp.where(below, up_est[None, :], geo.up)
    slope_tan = jnp.where(below, 0.0, geo.slope_tan)
    predictable = jnp.where(below, descent > elevation.MIN_DESCENT, geo.ok)
    return predicted, up, slope_tan, predictable


def _navigate(
    params: Params, state: State, sensed: _Sensed, c_true: Array, lanes_axis: str | None
) -> tuple[State, Array]:
    """The filter's measurement updates, injected into the estimate; returns (state, rejected flag)."""
    alt, nav, r = params.altimeter, params.navigation, params.body.radius_m
    p_est, v_est = state.est_position_m, state.est_velocity_mps
    up_est = frames.local_up(p_est, r)
    along_est = frames.local_along(up_est)

    c_est = c_true + linalg.matmul(c_true, navigation.skew(state.attitude_knowledge_error_rad))
    onboard = terrain.onboard_surface(params.terrain)

    def beams(f: navigation.NavFilter) -> tuple[navigation.NavFilter, Array]:
        # Each beam as navigation believes it points, cast against the onboard map from the estimate;
        # ranges first (each gated on its own), then the Doppler channel of the beams still trusted. The
        # prediction reaches PREDICTION_REACH times the instrument's range: a filter that believes itself
        # higher than it is predicts the ground beyond the instrument's reach, and the innovation gate,
        # not that reach, judges the reading (with the instrument's reach, a lander kilometres high in its
        # belief discarded every valid reading unseen, whatever its gate).
        beams, geo = _beam_geometry(
            params, onboard, c_est, p_est, v_est, PREDICTION_REACH * params.altimeter.max_range_m
        )
        predicted, up, slope_tan, predictable = _predicted_ranges(params, state, beams, geo, up_est)
        rejected = jnp.zeros((), bool)
        for b in range(sensed.valid.shape[0]):
            f, rej = navigation.range_update(
                f,
                nav,
                beams[b],
                up[b],
                slope_tan[b],
                sensed.reading_m[b],
                predicted[b],
                sensors.altimeter_sigma(alt, sensed.reading_m[b]),
                sensed.valid[b] & predictable[b] & (alt.beam_ranges[b] > 0.0),
                b,
                p_est + predicted[b] * beams[b],
            )
            rejected = rejected | rej
        doppler = (alt.velocity_channel > 0.0) & ~f.failed
        # Doppler takes the beams the range does (``predictable``): its row does not use the ground, so a
        # lander that believes itself below the map keeps it too (with ``geo.ok`` it dropped every Doppler
        # reading there while taking the ranges; found by the NumPy twin's step test, session 15).
        for b in range(sensed.valid.shape[0]):
            weight = (sensed.valid[b] & predictable[b] & doppler).astype(jnp.float32) * alt.beam_velocities[b]
            f = navigation.doppler_update(
                f, beams[b], sensed.doppler_mps[b], v_est, alt.velocity_noise_mps, weight
            )
        return f, rejected

    def no_reading(f: navigation.NavFilter) -> tuple[navigation.NavFilter, Array]:
        return f, jnp.zeros((), bool)

    usable = jnp.any(sensed.valid) & ~state.nav.failed
    filt, rejected = jax.lax.cond(_any(usable, lanes_axis), beams, no_reading, state.nav)
    dirs = jnp.stack([along_est, jnp.asarray(frames.E_Y)])
    filt = jax.lax.cond(
        _any(sensed.trn_valid, lanes_axis),
        lambda f: navigation.position_fix_update(
            f,
            dirs,
            sensed.trn_measured_m,
            linalg.matvec(dirs, p_est),
            nav.trn_sigma_m,
            sensed.trn_valid.astype(jnp.float32),
        ),
        lambda f: f,
        filt,
    )
    filt, dr, dv, eps, _ = navigation.take_correction(filt)
    return (
        state.replace(
            nav=filt,
            est_position_m=p_est + dr,
            est_velocity_mps=v_est + dv,
            attitude_knowledge_error_rad=state.attitude_knowledge_error_rad + linalg.rmatvec(c_true, eps),
        ),
        rejected,
    )


def _follow_corrections(state: State, est_before_updates_m: Array) -> State:
    """After a hazard scan the aim point moves with every measurement correction of the horizontal
    estimate (``est_before_updates_m``: the estimate before this step's updates), so the divert is flown on
    the velocity-integrated displacement since the scan, as a divert relative to the imaged ground is.
    Measured without it: range updates over rough ground moved a hovering lander's horizontal estimate by
    10-20 m within seconds (its absolute error was ~100 m), and the lander chased them until dry."""
    gs = state.guidance
    correction = state.est_position_m[:2] - est_before_updates_m[:2]
    aim = jnp.where(jnp.isnan(gs.divert_m), gs.aim_m, gs.aim_m + correction)
    return state.replace(guidance=gs.replace(aim_m=aim))


def _scan_hazards(
    params: Params, state: State, noise_seed: Array, lanes_axis: str | None
) -> guidance.GuidanceState:
    """The guidance state after this guidance cycle's hazard-detection scan, if it takes one
    (``hazard_avoidance``): once, on the first cycle of the terminal descent at or below the scan height
    (estimated, above the map). A real branch taken when some lane scans (~330 terrain lookups)."""
    h, gs = params.hazard_detection, state.guidance
    # The scan waits for the terminal law to null the horizontal motion (it descends at the full rate only
    # below this speed), as Chang'e-3 scanned from a hover: a lander still sliding at the terminal phase's
    # start would otherwise image the ground it is leaving and fly back to it (measured: a Frigoris sample
    # entering at 17 m/s scanned 230 m before it stopped and ran dry flying back).
    _, v_h_est = frames.split_velocity(
        state.est_velocity_mps, frames.local_up(state.est_position_m, params.body.radius_m)
    )
    scans = (
        (h.scan_height_m > 0.0)
        & jnp.isnan(gs.divert_m)
        & (gs.phase == guidance.TERMINAL)
        & (state.heights.estimated_m <= h.scan_height_m)
        & (jnp.linalg.norm(v_h_est) <= params.guidance.terminal_max_horizontal_speed_mps)
        & ~state.done
    )

    def scan(_: None) -> tuple[Array, Array]:
        z = hazard_avoidance.scan_noise(noise_seed, state.step)
        offset, _tilt = hazard_avoidance.choose_spot(params, state.position_m, z)
        return state.est_position_m[:2] + offset, jnp.hypot(offset[0], offset[1])

    def none(_: None) -> tuple[Array, Array]:
        return gs.aim_m, gs.divert_m

    aim, divert = jax.lax.cond(_any(scans, lanes_axis), scan, none, None)
    return gs.replace(aim_m=jnp.where(scans, aim, gs.aim_m), divert_m=jnp.where(scans, divert, gs.divert_m))


def _guide(params: Params, state: State, clock: _Clock, noise_seed: Array, lanes_axis: str | None) -> State:
    """Guidance on the estimate, recomputed every guidance period and held in between."""
    veh, r = params.vehicle, params.body.radius_m
    p_est, v_est = state.est_position_m, state.est_velocity_mps
    mass = veh.dry_mass_kg + state.propellant_kg  # known on board from propellant gauging

    def guide(_: None) -> tuple[guidance.GuidanceState, Array, Array]:
        g_est = gravity(p_est, params.body)
        max_accel = veh.max_thrust_n / mass
        scanned = _scan_hazards(params, state, noise_seed, lanes_axis)
        gs, a_cmd = guidance.command_accel(
            params.guidance, params.hazard_detection, scanned, r, p_est, v_est, g_est, max_accel
        )
        # The approach's glide slope rises from the aim: the site (a hazard scan, which moves the aim, is
        # taken in the terminal descent, whose slope rises from where the lander would stop instead).
        aim = scanned.aim_m
        accel, direction = guidance.limit_thrust(
            params.guidance,
            gs.phase,
            a_cmd,
            g_est,
            v_est,
            frames.local_up(p_est, r),
            r,
            state.heights.estimated_m,
            jnp.hypot(frames.downrange(p_est, r) - aim[0], p_est[1] - aim[1]),
            max_accel,
            veh.min_throttle * max_accel,
        )
        return gs, vehicle.throttle_for(mass * accel, veh), direction

    def hold(_: None) -> tuple[guidance.GuidanceState, Array, Array]:
        return state.guidance, state.cmd_throttle, state.cmd_dir

    # The step counter is shared by the lanes, so the period is a real branch (asked of all lanes: a
    # per-lane predicate under vmap would run guidance every step); lanes already down hold their command.
    on_guidance = ((state.step % clock.guidance_steps) == 0) & ~state.done
    new = jax.lax.cond(_any(on_guidance, lanes_axis), guide, hold, None)
    gs, throttle, direction = jax.tree.map(
        lambda a, b: jnp.where(on_guidance, a, b), new, (state.guidance, state.cmd_throttle, state.cmd_dir)
    )
    return state.replace(guidance=gs, cmd_throttle=throttle, cmd_dir=direction)


def _actuate(
    params: Params, state: State, clock: _Clock, c_before: Array, c_est_axis: Array
) -> tuple[State, Array, Array]:
    """Attitude slew (estimated axis towards the command), throttle gated on pointing error, lag and
    tanks; ``c_before`` is the body-to-site matrix of ``state.attitude``. Returns (state, thrust force
    (3,) N, mass flow kg/s)."""
    veh = params.vehicle
    cos_max = jnp.cos(jnp.minimum(_deg(veh.slew_rate_dps) * clock.dt, jnp.pi))
    q = attitude.slew(state.attitude, c_est_axis, state.cmd_dir, cos_max)
    c_true = attitude.dcm(q)
    # The gyros measure the slew, so the estimate turns with the body: the knowledge error stays fixed in
    # the site frame (C_true = (I + [eps x]) C_est with eps constant but for gyro errors), i.e. its body
    # components turn by the slew's inverse.
    knowledge = linalg.rmatvec(c_true, linalg.matvec(c_before, state.attitude_knowledge_error_rad))
    axis_est = attitude.estimated_axis(c_true, knowledge)
    # Throttle gated on pointing: the thrust delivered along the command is kept (the command scaled by
    # the cosine of the pointing error, never below minimum throttle), and beyond the gate angle the engine
    # is held at minimum throttle, as lander flight software gates throttle-up on attitude. A hard gate at
    # small angles was tried and dropped: a lander slewing to vertical for an urgent arrest sat at minimum
    # throttle for seconds and crashed.
    cos_err = axis_est @ state.cmd_dir
    pointed = cos_err >= jnp.cos(_deg(params.guidance.attitude_gate_deg))
    commanded = jnp.where(
        pointed, jnp.maximum(state.cmd_throttle * cos_err, veh.min_throttle), veh.min_throttle
    )
    throttle = vehicle.throttle_response(state.throttle, commanded, veh, clock.dt)
    thrust, mdot = vehicle.mass_flow(throttle, veh)
    burn_fraction = jnp.clip(state.propellant_kg / jnp.maximum(mdot * clock.dt, 1e-12), 0.0, 1.0)
    line = attitude.thrust_line(c_true, _deg(veh.pointing_bias_x_deg), _deg(veh.pointing_bias_y_deg))
    force = (thrust * burn_fraction) * line
    return (
        state.replace(attitude=q, throttle=throttle, attitude_knowledge_error_rad=knowledge),
        force,
        mdot * burn_fraction,
    )


def _integrate(
    params: Params, state: State, clock: _Clock, force: Array, mdot: Array, lanes_axis: str | None
) -> tuple[State, tuple[Array, Array, Array, Array, Array]]:
    """Truth, strapdown estimate, attitude knowledge and covariance over the step."""
    body, imu, u, dt = params.body, params.imu, clock.u, clock.dt
    mass = params.vehicle.dry_mass_kg + state.propellant_kg
    p, v, p_est, v_est = state.position_m, state.velocity_mps, state.est_position_m, state.est_velocity_mps
    c_true = attitude.dcm(state.attitude)
    knowledge = state.attitude_knowledge_error_rad

    def resolve_est(body_vec: Array) -> Array:  # C_est b = C_true (b + e x b)
        return linalg.matvec(c_true, body_vec + jnp.cross(knowledge, body_vec))

    # The accelerometer senses the thrust (its scale factor and misalignment), plus bias and noise; the
    # navigation resolves that with its attitude and removes its bias estimate.
    measured = sensors.measured_body(imu, linalg.rmatvec(c_true, force))
    force_est = resolve_est(measured)
    # ... and removes its estimates of the bias and of the thrust-proportional error (k f_z, navigation.SFM).
    error_body = (
        sensors.accel_bias(imu)
        - state.nav.bias_est_mps2
        - state.nav.thrust_error_est_ppm * (sensors.PPM * measured[2] / mass)
        + sensors.white_accel(imu, dt, noise.centred(u[_IMU]))
    )
    accel_error_est = resolve_est(error_body)
    p1, v1 = rk4_step(p, v, mass, force, mdot, jnp.zeros(3, jnp.float32), body, dt)
    p_est1, v_est1 = rk4_step(p_est, v_est, mass, force_est, mdot, accel_error_est, body, dt)
    specific_est = force_est / mass + accel_error_est
    c_est = c_true + linalg.matmul(c_true, navigation.skew(knowledge))
    filt = navigation.accumulate(state.nav, specific_est, dt)
    # Covariance once per guidance period (at the end of a step that completes one), branching on
    # whether any lane's period is complete.
    due = (((state.step + 1) % clock.guidance_steps) == 0) & ~state.done
    filt = jax.lax.cond(
        _any(due, lanes_axis),
        lambda f: navigation.propagate_pending(
            f, params.navigation, imu, c_est, gravity_gradient(p_est, body), due
        ),
        lambda f: f,
        filt,
    )
    gyro = attitude.grow_knowledge_error(
        knowledge,
        (sensors.gyro_bias_dph(imu) - state.nav.gyro_bias_est_dph) * attitude.DPH_TO_RADPS,
        imu.gyro_angle_random_walk_deg_per_sqrt_h * attitude.DEG_PER_SQRT_H_TO_RAD_PER_SQRT_S,
        dt,
        noise.centred(u[_GYRO]),
    )
    propellant1 = jnp.maximum(state.propellant_kg - mdot * dt, 0.0)
    # Materialise the new state once: XLA's fusion would otherwise recompute both RK4 steps inside every
    # consumer (contact detection, touchdown record, events), each one a full copy of the integration.
    new = jax.lax.optimization_barrier((p1, v1, p_est1, v_est1, propellant1))
    return state.replace(nav=filt, attitude_knowledge_error_rad=gyro), new


def _contact(
    params: Params, state: State, clock: _Clock, new: tuple[Array, Array, Array, Array, Array]
) -> State:
    """Ground contact, interpolated within the step; the touchdown record freezes once done."""
    p1, v1, p_est1, v_est1, propellant1 = new
    p, v = state.position_m, state.velocity_mps
    true_alt = state.heights.true_m
    heights1 = _heights(params, p1, p_est1)
    contact = heights1.true_m <= 0.0
    frac = jnp.clip(true_alt / jnp.maximum(true_alt - heights1.true_m, 1e-9), 0.0, 1.0)
    frac = jnp.where(contact, frac, 1.0)
    td_prop = state.propellant_kg + frac * (propellant1 - state.propellant_kg)
    td = Touchdown(
        position_m=p + frac * (p1 - p),
        velocity_mps=v + frac * (v1 - v),
        t_s=clock.t + frac * clock.dt,
        propellant_kg=td_prop,
        estimated_height_m=state.heights.estimated_m
        + frac * (heights1.estimated_m - state.heights.estimated_m),
        thrust_axis=attitude.dcm(state.attitude)[:, 2],
        ran_dry=state.ran_dry | (td_prop <= 0.0),
        contact=contact,
    )
    # Once done, the step keeps integrating (it is cheaper than freezing every lane every step) but what
    # the result is made of, the touchdown record, the events and the filter's counts, no longer changes.
    td = jax.tree.map(lambda old, new_: jnp.where(state.done, old, new_), state.touchdown, td)
    step1 = state.step + 1
    timeout = step1.astype(jnp.float32) * params.sim.dt_s >= params.sim.max_time_s
    return state.replace(
        step=step1,
        integration_steps=state.integration_steps + (~state.done).astype(jnp.int32),
        position_m=p1,
        velocity_mps=v1,
        propellant_kg=propellant1,
        est_position_m=p_est1,
        est_velocity_mps=v_est1,
        heights=heights1,
        ran_dry=state.ran_dry | ((propellant1 <= 0.0) & ~state.done),  # frozen once done, as the result is
        done=state.done | contact | timeout,
        touchdown=td,
    )


def step(params: Params, state: State, noise_seed: Array, lanes_axis: str | None = None) -> State:
    """Advance one step: sense, navigate, guide, actuate, integrate, detect contact, record events.

    The step is ``params.sim.dt_s``.
    ``lanes_axis``: the vmapped axis name when lanes run in lockstep (measurement updates then branch on
    whether any lane has a reading).
    """
    r = params.body.radius_m
    clock = _clock(params, state, noise_seed)
    before = state
    c_true = attitude.dcm(state.attitude)
    state, sensed = _sense(params, state, clock, c_true, lanes_axis)
    est_before_updates = state.est_position_m
    state, rejected = _navigate(params, state, sensed, c_true, lanes_axis)
    state = _follow_corrections(state, est_before_updates)
    state = _guide(params, state, clock, noise_seed, lanes_axis)
    axis_est = attitude.estimated_axis(c_true, state.attitude_knowledge_error_rad)
    state, force, mdot = _actuate(params, state, clock, c_true, axis_est)
    state, new = _integrate(params, state, clock, force, mdot, lanes_axis)
    state = _contact(params, state, clock, new)

    # Events: the first occurrence of each, stamped with this step's start. Running dry is stamped at the
    # end of the step it happened in, i.e. at the next step's start (or in ``finish``); contact comes from
    # the touchdown record in ``finish``. Only values the step has anyway are recorded: stamping
    # end-of-step or interpolated values every step cost as much as the rest of the physics.
    up = frames.local_up(before.position_m, r)
    row_now = jax.lax.optimization_barrier(
        (
            clock.t,
            before.heights.true_m,
            before.heights.estimated_m,
            before.velocity_mps @ up,
            before.propellant_kg,
        )
    )
    flying = ~before.done

    def stamp(events: EventLog) -> EventLog:
        for event, happened in (
            (Event.ALTIMETER_IN_RANGE, sensed.in_range),
            (Event.ALTIMETER_FIRST_VALID, jnp.any(sensed.valid)),
            (Event.ALTIMETER_REJECTED, rejected),
            (Event.ALTIMETER_DECLARED_FAILED, state.nav.failed & ~before.nav.failed),
            (Event.APPROACH_START, state.guidance.phase == guidance.APPROACH),
            (Event.TERMINAL_DESCENT_START, state.guidance.phase == guidance.TERMINAL),
            (Event.HAZARD_SCAN, ~jnp.isnan(state.guidance.divert_m)),
        ):
            events = events.record(event, happened & flying, row_now)
        return events

    # These events can only happen on an altimeter reading step or a guidance step (readings, their
    # updates and phase changes happen nowhere else): a real branch on the shared step counter, since
    # stamping them every step cost as much as the terrain lookups (~250 ns per lane-step).
    periodic = (before.step % _period_steps(params.altimeter.period_s, params.sim.dt_s) == 0) | (
        before.step % clock.guidance_steps == 0
    )
    events = jax.lax.cond(_any(periodic, lanes_axis), stamp, lambda e: e, state.events)
    events = events.record(Event.PROPELLANT_EXHAUSTED, before.ran_dry, row_now)
    return state.replace(events=events)


def finish(params: Params, state: State) -> Result:
    """Classify the final state into a :class:`Result`."""
    r = params.body.radius_m
    td = state.touchdown
    contacted = td.contact
    up = frames.local_up(td.position_m, r)
    vz, v_h = frames.split_velocity(td.velocity_mps, up)
    sink = -vz
    h_speed = jnp.linalg.norm(v_h)
    s, c = elevation.track_coordinates(td.position_m, r)
    elev, _ = terrain.true_elevation_and_gradient(params.terrain, s, c)
    along = frames.local_along(up)
    v_h2 = jnp.stack([v_h @ along, v_h @ jnp.cross(up, along)])  # local horizontal: along track, crossrange
    # The ground's gradient across the footpad span at the touchdown point (the landing area's cells are
    # metres) plus the roughness the grid does not resolve there, from the draw made at initialisation.
    half = params.vehicle.footprint_radius_m
    span = 2.0 * half
    sub = terrain.subgrid_gradient_sigma(
        params.terrain, elevation.cell_size(params.terrain.truth, s, c), span
    )
    gradient = terrain.footprint_gradient(params.terrain, s, c, half) + sub * state.draws.local_gradient
    rock_tilt = jnp.rad2deg(jnp.arctan(state.draws.rock_m / (2.0 * params.vehicle.footprint_radius_m)))
    slope = touchdown.tilt_deg(gradient, rock_tilt)
    g_surface = params.body.mu_m3ps2 / jnp.square(r)
    outcome, mode = touchdown.classify(
        params.vehicle, contacted, td.ran_dry, sink, v_h2, gradient, rock_tilt, g_surface
    )
    tilt = jnp.rad2deg(attitude.angle_between(td.thrust_axis, up))

    # Events the loop leaves to the end: running dry in the very last step, and the contact itself.
    final_up = frames.local_up(state.position_m, r)
    t_final = state.step.astype(jnp.float32) * params.sim.dt_s
    final_row = _row(t_final, state.velocity_mps, final_up, state.heights, state.propellant_kg)
    events = state.events.record(Event.PROPELLANT_EXHAUSTED, state.ran_dry, final_row)
    true_height = frames.height_above_sphere(td.position_m, r) - elev
    contact_row = (td.t_s, true_height, td.estimated_height_m, vz, td.propellant_kg)
    events = events.record(Event.TOUCHDOWN, contacted, contact_row)

    nan = jnp.float32(jnp.nan)
    return Result(
        outcome=outcome,
        touchdown_mode=mode,
        touchdown_vertical_speed_mps=jnp.where(contacted, sink, nan),
        touchdown_horizontal_speed_mps=jnp.where(contacted, h_speed, nan),
        slope_deg=jnp.where(contacted, slope, nan),
        tilt_deg=jnp.where(contacted, tilt, nan),
        propellant_remaining_kg=td.propellant_kg,
        miss_distance_m=jnp.where(contacted, jnp.hypot(s, c), nan),
        touchdown_downrange_m=jnp.where(contacted, s, nan),
        touchdown_crossrange_m=jnp.where(contacted, c, nan),
        duration_s=td.t_s,
        altimeter_rejections=state.nav.total_rejections,
        nis_sum=state.nav.nis_sum,
        nis_count=state.nav.nis_count,
        integration_steps=state.integration_steps,
        hazard_divert_m=state.guidance.divert_m,
        events=events.table(),
    )


def nav_error(params: Params, state: State) -> Array:
    """(NAV_STATE_DIM,) truth minus estimate in the filter's units (position m, velocity m/s, attitude
    mrad site frame, accelerometer bias mm/s^2 body, thrust-proportional error ppm body, gyro bias deg/h
    body) — what the filter's covariance claims to bound."""
    c_true = attitude.dcm(state.attitude)
    eps = -linalg.matvec(c_true, state.attitude_knowledge_error_rad) / navigation.MILLI
    nav = state.nav
    bias = (sensors.accel_bias(params.imu) - nav.bias_est_mps2) / navigation.MILLI
    thrust = sensors.thrust_error_ppm(params.imu) - nav.thrust_error_est_ppm
    gyro = sensors.gyro_bias_dph(params.imu) - nav.gyro_bias_est_dph
    return jnp.concatenate(
        [
            state.position_m - state.est_position_m,
            state.velocity_mps - state.est_velocity_mps,
            eps,
            bias,
            thrust,
            gyro,
        ]
    )


def _keys(key: Array) -> tuple[Array, Array, Array]:
    return jax.random.fold_in(key, 0), jax.random.fold_in(key, 1), jax.random.fold_in(key, 2)


# Name of the vmapped lane axis in ``simulate_batch``: the loop asks "is any lane still flying?" with a
# collective over it, so the loop's step counter stays one shared scalar instead of one per lane.
LANES = "lanes"


def _still_flying(done: Array, lanes_axis: str | None) -> Array:
    if lanes_axis is None:
        return ~done
    return jax.lax.psum((~done).astype(jnp.int32), lanes_axis) > 0


def simulate(params: Params, key: Array, lanes_axis: str | None = None) -> Result:
    """One descent with fixed parameters, run until contact or the time limit.

    ``lanes_axis``: the vmapped axis name when the caller runs lanes in lockstep (``simulate_batch``).
    The loop then runs, one step per iteration, until every lane is done, asked by a collective over the
    lanes: the loop needs no per-lane select of its carry, and the step counter being the same in every
    lane, the periodic decisions (guidance, covariance, measurement updates) are real branches. A lane
    that is done keeps stepping: the step is safe to repeat once done and leaves the result unchanged, so a
    sample's result never depends on its neighbours (measured: one step per iteration beats several per
    loop check, 185-210 vs 342 ns per lane-step; a loop nested in the while loop costs carry copies).
    """
    _, k_init, k_noise = _keys(key)
    seed = noise.lane_seed(k_noise)
    state = init(params, k_init)
    state = jax.lax.while_loop(
        lambda s: _still_flying(s.done, lanes_axis), lambda s: step(params, s, seed, lanes_axis), state
    )
    return finish(params, state)


def simulate_sample(
    params: Params,
    dispersion: Dispersion,
    key: Array,
    sample_index: Array,
    lanes_axis: str | None = None,
    drawn: Array | None = None,
) -> Result:
    """Sample ``sample_index`` of a study cell: parameters dispersed from its own key, then simulated.
    ``drawn`` (D,) bool, optional: dispersed paths left at their undispersed value where False (the same
    sample, same noise and initial draws, with those dispersions removed)."""
    k = jax.random.fold_in(key, sample_index)
    k_disp, _, _ = _keys(k)
    return simulate(apply_dispersion(params, dispersion, k_disp, drawn), k, lanes_axis)


def _lane(params: Params, dispersion: Dispersion, key: Array, sample_index: Array, drawn: Array) -> Result:
    return simulate_sample(params, dispersion, key, sample_index, LANES, drawn)


_vmapped = jax.vmap(_lane, in_axes=(None, None, None, 0, 0), axis_name=LANES)


@jax.jit
def _simulate_block(params: Params, dispersion: Dispersion, key: Array, idx: Array, drawn: Array) -> Result:
    """One block of ``BLOCK_LANES`` samples (``idx``, with their (B, D) ``drawn`` masks), run until its
    slowest lane lands. Every batch, counterfactual or not, is a sequence of calls of this one compiled
    program (see ``BLOCK_LANES``)."""
    return _vmapped(params, dispersion, key, idx, drawn)


# Every batch runs as whole blocks of BLOCK_LANES lanes (padded with copies of its first sample), one
# block after another, each until its own slowest lane lands. One block shape means one compiled loop
# body, so a sample's bits never depend on the batch it ran in: XLA's CPU backend rounds some per-lane
# operations (square roots among them, measured) differently for different vector lengths, which with the
# richer GN&C showed as different trajectories for the same sample in 64- and 128-lane batches.
# Block size measured on one core (python -m bench --quick --sizes 2e3 ..., trajectories/s): 32: 116,
# 64: 176, 128: 172, 256: 138, 512: 73, 1024: 66. Each lane now carries a 12 x 12 covariance, so past ~128
# lanes the state leaves the L2 cache; 64 also keeps small batches cheap and waits for fewer slow lanes.
BLOCK_LANES = 64


def simulate_batch(
    params: Params, dispersion: Dispersion, key: Array, sample_index: Array, drawn: Array | None = None
) -> Result:
    """``simulate_batch(params, dispersion, key, sample_index[B]) -> Result`` with leading dimension B.

    Sample ``i`` is computed from ``fold_in(key, sample_index[i])`` alone: bit-identical in any batch.
    ``drawn`` (B, D) bool, optional: per sample, which dispersed paths take their drawn value (the rest
    keep the undispersed value of ``params``): counterfactual re-flights of the same samples. All True
    (the default) is the study's own sample, bit for bit.
    """
    idx = jnp.asarray(sample_index, dtype=jnp.int32)
    n = int(idx.shape[0])
    d = len(dispersion.paths)
    mask = jnp.ones((n, d), bool) if drawn is None else jnp.asarray(drawn, bool).reshape(n, d)
    blocks = max(-(-n // BLOCK_LANES), 1)
    padded = blocks * BLOCK_LANES
    if padded != n:
        idx = jnp.concatenate(
            [idx, jnp.broadcast_to(idx[:1] if n else jnp.zeros(1, jnp.int32), (padded - n,))]
        )
        mask = jnp.concatenate([mask, jnp.ones((padded - n, d), bool)])
    # A Python loop over calls of one program, not one program over all blocks: XLA fuses a loop of one
    # block differently from a loop of many (measured: a last-bit difference in an initial event row).
    parts = [
        _simulate_block(
            params,
            dispersion,
            key,
            idx[b * BLOCK_LANES : (b + 1) * BLOCK_LANES],
            mask[b * BLOCK_LANES : (b + 1) * BLOCK_LANES],
        )
        for b in range(blocks)
    ]
    result = jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=0), *parts) if blocks > 1 else parts[0]
    return jax.tree.map(lambda x: x[:n], result)


def trace_length(params: Params, record_every: int) -> int:
    """Number of trace records that cover ``params.sim.max_time_s`` (host-side, concrete params)."""
    return math.ceil(float(params.sim.max_time_s) / (float(params.sim.dt_s) * record_every)) + 1


def simulate_trace(
    params: Params, key: Array, record_every: int, n_records: int, lanes_axis: str | None = None
) -> tuple[Result, Trace]:
    """One descent like :func:`simulate`, also returning a time history for plots, replays and the
    navigation-consistency check (``Trace.nees``). ``lanes_axis``: the vmapped axis name when the caller
    vmaps over samples (the measurement and ray-cast branches then run only when some lane needs them;
    without it, under ``vmap`` every branch runs every step)."""
    _, k_init, k_noise = _keys(key)
    seed = noise.lane_seed(k_noise)
    state0 = init(params, k_init)
    r = params.body.radius_m

    def record(s: State) -> Trace:
        true_alt, est_alt = s.heights.true_m, s.heights.estimated_m
        t = jnp.where(s.done, s.touchdown.t_s, s.step.astype(jnp.float32) * params.sim.dt_s)
        up = frames.local_up(s.position_m, r)
        axis = attitude.dcm(s.attitude)[:, 2]
        error = nav_error(params, s)
        return Trace(
            t_s=t,
            true_altitude_m=jnp.where(s.done & (true_alt < 0), 0.0, true_alt),
            estimated_altitude_m=est_alt,
            vertical_speed_mps=s.velocity_mps @ up,
            horizontal_speed_mps=jnp.linalg.norm(s.velocity_mps - (s.velocity_mps @ up) * up),
            propellant_kg=s.propellant_kg,
            downrange_m=frames.downrange(s.position_m, r),
            crossrange_m=elevation.track_coordinates(s.position_m, r)[1],
            phase=s.guidance.phase,
            t_go_s=s.guidance.t_go_s,
            throttle=s.throttle,
            tilt_deg=jnp.rad2deg(attitude.angle_between(axis, up)),
            altitude_sigma_m=jnp.sqrt(jnp.maximum(up @ linalg.matvec(s.nav.cov[:3, :3], up), 0.0)),
            nees=jnp.where(s.done, jnp.nan, navigation.nees(s.nav.cov, error)),
            nav_error=error,
            nav_sigma=jnp.sqrt(jnp.maximum(jnp.diagonal(s.nav.cov), 0.0)),
            # (|p| - R - true height) - (|p_est| - R - estimated height): the ground's radius under the
            # truth less the map's under the estimate, what a range reading sees beyond the position error.
            terrain_offset_m=(frames.height_above_sphere(s.position_m, r) - true_alt)
            - (frames.height_above_sphere(s.est_position_m, r) - est_alt),
        )

    def chunk(s: State, i: Array) -> tuple[State, Trace]:
        # Records every ``record_every`` steps of dt_s in time, however long the steps taken were.
        rec = record(s)
        target = (i + 1) * record_every
        s = jax.lax.while_loop(
            lambda x: (x.step < target) & ~x.done, lambda x: step(params, x, seed, lanes_axis), s
        )
        return s, rec

    state, trace = jax.lax.scan(chunk, state0, jnp.arange(n_records, dtype=jnp.int32))
    return finish(params, state), trace
