"""``init``, ``step`` and ``finish`` of one descent, and the batched, jitted entry points.

Randomness is counter-based: a sample's key is ``fold_in(key, sample_index)``; from it
``fold_in(., 0)`` draws its dispersed parameters, ``fold_in(., 1)`` its initial draws and
``fold_in(., 2)`` the seed of its per-step noise stream (``riskengine.core.noise``, a hash of
(seed, step)). No draw depends on the batch a sample sits in, so any sample can be recomputed alone.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from riskengine.core import frames, guidance, navigation, noise, sensors, terrain, touchdown, vehicle
from riskengine.core.dispersion import Dispersion, apply_dispersion
from riskengine.core.dynamics import gravity, rk4_step
from riskengine.core.events import Event
from riskengine.core.params import Array, Params
from riskengine.core.result import Result, Trace
from riskengine.core.state import Draws, EventLog, Heights, Row, State, Touchdown

_N_NOISE = 8  # uniforms per step: IMU (3), Doppler (3), altimeter noise, altimeter dropout


def _period_steps(period_s: Array, dt: Array) -> Array:
    return jnp.maximum(jnp.round(period_s / dt), 1.0).astype(jnp.int32)


def _heights(params: Params, p: Array, p_est: Array) -> Heights:
    """Heights of the true position above true terrain and of the estimate above the onboard map."""
    r = params.body.radius_m
    elev, grad = terrain.true_elevation_and_gradient(params.terrain, frames.downrange(p, r))
    map_elev = terrain.map_elevation(params.terrain, frames.downrange(p_est, r))
    return Heights(
        true_m=frames.height_above_sphere(p, r) - elev,
        terrain_gradient=grad,
        estimated_m=frames.height_above_sphere(p_est, r) - map_elev,
    )


def _row(t: Array, v: Array, up: Array, heights: Heights, propellant: Array) -> Row:
    """An event's values (EVENT_FIELDS order) at time ``t``."""
    return (t, heights.true_m, heights.estimated_m, v @ up, propellant)


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
        + nav.initial_vertical_velocity_error_mps * up0
    )

    k_grad, k_rock = jax.random.split(key)
    slope_scale = jnp.tan(jnp.deg2rad(params.terrain.slope_sigma_deg))
    draws = Draws(
        local_gradient=slope_scale * jax.random.normal(k_grad, (2,), dtype=jnp.float32),
        rock_m=params.terrain.rock_height_mean_m * jax.random.exponential(k_rock, dtype=jnp.float32),
    )
    propellant = params.vehicle.propellant_kg
    zero = jnp.zeros_like(propellant)
    heights = _heights(params, p0, p_est)
    row = _row(zero, v0, frames.local_up(p0, r), heights, propellant)
    events = EventLog.empty().record(Event.POWERED_DESCENT_START, jnp.bool_(True), row)
    retrograde = -v0 / jnp.linalg.norm(v0)
    return State(
        step=jnp.int32(0),
        integration_steps=jnp.int32(0),
        position_m=p0,
        velocity_mps=v0,
        propellant_kg=propellant,
        est_position_m=p_est,
        est_velocity_mps=v_est,
        altitude_filter=navigation.initial_filter(nav),
        thrust_dir=retrograde,
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
            ran_dry=jnp.bool_(False),
            contact=jnp.bool_(False),
        ),
        events=events,
        draws=draws,
    )


# Long steps look this far ahead: a lane closing on its altimeter's range within this time steps finely.
LONG_STEP_LOOKAHEAD_S = 20.0


def _long_step(params: Params, state: State, t: Array, guidance_steps: Array, closing_rate: Array) -> Array:
    """Whether this step may span a whole guidance period instead of ``dt_s``.

    Between two guidance updates the commands are held, so while the altimeter is out of range (no
    reading, no Doppler, no contact possible) nothing faster than the guidance period happens but the
    IMU's white noise, whose step-mean is drawn with the long step's variance, and the slew, which in
    braking is far inside its limit. RK4 over 0.5 s of a 6,500 s orbit is accurate to far below a metre.
    Braking is ~80 % of the flight, so this cuts the steps ~3x; ``sim.long_braking_steps = false`` turns it
    off and ``tests/core/test_convergence.py`` checks it does not move the answers.
    """
    g, alt = params.guidance, params.altimeter
    span_s = guidance_steps.astype(jnp.float32) * params.sim.dt_s
    aligned = (state.step % guidance_steps) == 0  # long steps start and end on guidance updates
    in_braking = t + span_s <= g.braking_time_s
    far = state.heights.true_m + LONG_STEP_LOOKAHEAD_S * jnp.minimum(closing_rate, 0.0) > alt.max_range_m
    return (params.sim.long_braking_steps > 0.0) & aligned & in_braking & far & ~state.done


def step(params: Params, state: State, noise_seed: Array) -> State:
    """Advance one step: sense, navigate, guide, actuate, integrate, detect contact.

    The step is ``params.sim.dt_s``, or one guidance period where :func:`_long_step` allows it.
    """
    body, veh, alt = params.body, params.vehicle, params.altimeter
    r = body.radius_m
    fine_dt = params.sim.dt_s
    t = state.step.astype(jnp.float32) * fine_dt
    guidance_steps = _period_steps(params.guidance.guidance_period_s, fine_dt)
    # Materialise the step's uniforms once: XLA would otherwise re-derive them inside every consumer.
    u = jax.lax.optimization_barrier(noise.uniforms(noise_seed, state.step, _N_NOISE))
    z_imu, z_doppler = noise.centred(u[0:3]), noise.centred(u[3:6])
    p, v, p_est, v_est = state.position_m, state.velocity_mps, state.est_position_m, state.est_velocity_mps

    # --- Altimeter: truth seen through the sensor model.
    true_alt, grad = state.heights.true_m, state.heights.terrain_gradient
    up = frames.local_up(p, r)
    alt_rate = v @ up - grad * (v @ frames.local_along(up))
    n_steps = jnp.where(_long_step(params, state, t, guidance_steps, alt_rate), guidance_steps, 1)
    dt = n_steps.astype(jnp.float32) * fine_dt
    in_range = true_alt <= alt.max_range_m
    t_in_range = jnp.where(in_range & jnp.isinf(state.t_in_range_s), t, state.t_in_range_s)
    acquired = t >= t_in_range + alt.acquisition_delay_s
    on_time = (state.step % _period_steps(alt.period_s, fine_dt)) == 0
    valid = in_range & acquired & on_time & (u[7] >= alt.dropout_prob) & ~state.done
    reading = sensors.altimeter_reading(alt, true_alt, alt_rate, noise.gaussian(u[6]))

    # --- Navigation update from the reading, against the onboard map.
    up_est = frames.local_up(p_est, r)
    predicted = state.heights.estimated_m
    failed_before = state.altitude_filter.failed
    filt, dh, dv, rejected = navigation.update(
        state.altitude_filter,
        params.navigation,
        reading,
        predicted,
        sensors.altimeter_sigma(alt, reading),
        valid,
    )
    p_est = p_est + dh * up_est
    v_est = v_est + dv * up_est
    # Doppler channel: velocity relative to the ground, from the same sensor and only while it is trusted.
    gain = jnp.where(valid & ~filt.failed, alt.velocity_gain, 0.0)
    v_est = v_est + gain * (v - v_est + alt.velocity_noise_mps * z_doppler)
    filt = navigation.doppler_update(filt, gain, alt.velocity_noise_mps)

    # --- Guidance on the estimate, recomputed every guidance period and held in between.
    mass = veh.dry_mass_kg + state.propellant_kg  # known on board from propellant gauging

    def guide(_: None) -> tuple[Array, Array]:
        a_cmd = guidance.command_accel(params.guidance, r, t, p_est, v_est)
        force_needed, dir_cmd = guidance.thrust_command(a_cmd, gravity(p_est, body), mass, up_est)
        return vehicle.throttle_for(force_needed, veh), dir_cmd

    def hold(_: None) -> tuple[Array, Array]:
        return state.cmd_throttle, state.cmd_dir

    on_guidance = (state.step % guidance_steps) == 0
    cmd_throttle, cmd_dir = jax.lax.cond(on_guidance, guide, hold, None)

    # --- Actuation: slew-limited direction, pointing bias, throttle; the tanks may run dry mid-step.
    thrust_dir = vehicle.slew_towards(state.thrust_dir, cmd_dir, jnp.deg2rad(veh.slew_rate_dps) * dt)
    thrust, mdot = vehicle.mass_flow(cmd_throttle, veh)
    burn_fraction = jnp.clip(state.propellant_kg / jnp.maximum(mdot * dt, 1e-12), 0.0, 1.0)
    force = (thrust * burn_fraction) * vehicle.apply_pointing_bias(thrust_dir, veh)
    mdot = mdot * burn_fraction

    # --- Truth and navigation propagation. The accelerometer senses the same force, plus its errors.
    p1, v1 = rk4_step(p, v, mass, force, mdot, jnp.zeros(3, jnp.float32), body, dt)
    imu_err = sensors.imu_error(params.imu, dt, z_imu)
    p_est1, v_est1 = rk4_step(p_est, v_est, mass, force, mdot, imu_err, body, dt)
    filt = navigation.propagate_covariance(filt, params.navigation, dt)
    propellant1 = jnp.maximum(state.propellant_kg - mdot * dt, 0.0)
    step1 = state.step + n_steps
    t1 = step1.astype(jnp.float32) * fine_dt
    # Materialise the new state once: XLA's fusion would otherwise recompute both RK4 steps inside every
    # consumer (contact detection, touchdown record, events), each one a full copy of the integration.
    p1, v1, p_est1, v_est1, propellant1 = jax.lax.optimization_barrier((p1, v1, p_est1, v_est1, propellant1))

    # --- Ground contact, interpolated within the step.
    heights1 = _heights(params, p1, p_est1)
    true_alt1 = heights1.true_m
    contact = true_alt1 <= 0.0
    frac = jnp.clip(true_alt / jnp.maximum(true_alt - true_alt1, 1e-9), 0.0, 1.0)
    frac = jnp.where(contact, frac, 1.0)
    td_prop = state.propellant_kg + frac * (propellant1 - state.propellant_kg)
    td = Touchdown(
        position_m=p + frac * (p1 - p),
        velocity_mps=v + frac * (v1 - v),
        t_s=t + frac * dt,
        propellant_kg=td_prop,
        estimated_height_m=predicted + frac * (heights1.estimated_m - predicted),
        ran_dry=state.ran_dry | (td_prop <= 0.0),
        contact=contact,
    )
    # Once done, the step keeps integrating (it is cheaper than freezing every lane every step) but what
    # the result is made of, the touchdown record, the events and the filter's counts, no longer changes.
    td = jax.tree.map(lambda old, new: jnp.where(state.done, old, new), state.touchdown, td)
    timeout = t1 >= params.sim.max_time_s

    # --- Events: the first occurrence of each, stamped with this step's start. Running dry is stamped
    # at the end of the step it happened in, i.e. at the next step's start (or in ``finish``); contact
    # comes from the touchdown record in ``finish``. Only values the step has anyway are recorded:
    # stamping end-of-step or interpolated values every step cost as much as the rest of the physics.
    row_now = jax.lax.optimization_barrier((t, true_alt, predicted, v @ up, state.propellant_kg))
    phase_now = guidance.phase_at(params.guidance, t)
    flying = ~state.done
    events = state.events
    for event, happened in (
        (Event.ALTIMETER_IN_RANGE, in_range),
        (Event.ALTIMETER_FIRST_VALID, valid),
        (Event.ALTIMETER_REJECTED, rejected),
        (Event.ALTIMETER_DECLARED_FAILED, filt.failed & ~failed_before),
        (Event.APPROACH_START, phase_now == guidance.APPROACH),
        (Event.TERMINAL_DESCENT_START, phase_now == guidance.TERMINAL),
    ):
        events = events.record(event, happened & flying, row_now)
    events = events.record(Event.PROPELLANT_EXHAUSTED, state.ran_dry, row_now)

    return State(
        step=step1,
        integration_steps=state.integration_steps + (~state.done).astype(jnp.int32),
        position_m=p1,
        velocity_mps=v1,
        propellant_kg=propellant1,
        est_position_m=p_est1,
        est_velocity_mps=v_est1,
        altitude_filter=filt,
        thrust_dir=thrust_dir,
        cmd_dir=cmd_dir,
        cmd_throttle=cmd_throttle,
        heights=heights1,
        t_in_range_s=t_in_range,
        ran_dry=state.ran_dry | ((propellant1 <= 0.0) & ~state.done),  # frozen once done, as the result is
        done=state.done | contact | timeout,
        touchdown=td,
        events=events,
        draws=state.draws,
    )


def finish(params: Params, state: State) -> Result:
    """Classify the final state into a :class:`Result`."""
    r = params.body.radius_m
    td = state.touchdown
    contacted = td.contact
    up = frames.local_up(td.position_m, r)
    vz, v_h = frames.split_velocity(td.velocity_mps, up)
    sink = -vz
    h_speed = jnp.linalg.norm(v_h)
    s = frames.downrange(td.position_m, r)
    elev, grad = terrain.true_elevation_and_gradient(params.terrain, s)
    along = frames.local_along(up)
    v_h2 = jnp.stack([v_h @ along, v_h @ frames.E_Y])  # local horizontal: along track, crossrange
    gradient = jnp.stack([grad + state.draws.local_gradient[0], state.draws.local_gradient[1]])
    rock_tilt = jnp.rad2deg(jnp.arctan(state.draws.rock_m / (2.0 * params.vehicle.footprint_radius_m)))
    slope = touchdown.tilt_deg(gradient, rock_tilt)
    g_surface = params.body.mu_m3ps2 / jnp.square(r)
    outcome, mode = touchdown.classify(
        params.vehicle, contacted, td.ran_dry, sink, v_h2, gradient, rock_tilt, g_surface
    )

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
        propellant_remaining_kg=td.propellant_kg,
        miss_distance_m=jnp.where(contacted, jnp.hypot(s, td.position_m[1]), nan),
        duration_s=td.t_s,
        altimeter_rejections=state.altitude_filter.total_rejections,
        integration_steps=state.integration_steps,
        events=events.table(),
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
    lanes: the loop needs no per-lane select of its carry, and where the step counter is the same in every
    lane (``sim.long_braking_steps`` off) the periodic decisions (guidance) become real branches. A lane
    that is done keeps stepping: the step is safe to repeat once done and leaves the result unchanged, so a
    sample's result never depends on its neighbours (measured: one step per iteration beats several per
    loop check, 185-210 vs 342 ns per lane-step; a loop nested in the while loop costs carry copies).
    """
    _, k_init, k_noise = _keys(key)
    seed = noise.lane_seed(k_noise)
    state = init(params, k_init)
    state = jax.lax.while_loop(
        lambda s: _still_flying(s.done, lanes_axis), lambda s: step(params, s, seed), state
    )
    return finish(params, state)


def simulate_sample(
    params: Params, dispersion: Dispersion, key: Array, sample_index: Array, lanes_axis: str | None = None
) -> Result:
    """Sample ``sample_index`` of a study cell: parameters dispersed from its own key, then simulated."""
    k = jax.random.fold_in(key, sample_index)
    k_disp, _, _ = _keys(k)
    return simulate(apply_dispersion(params, dispersion, k_disp), k, lanes_axis)


_vmapped = jax.vmap(
    functools.partial(simulate_sample, lanes_axis=LANES), in_axes=(None, None, None, 0), axis_name=LANES
)


@jax.jit
def _simulate_blocks(params: Params, dispersion: Dispersion, key: Array, idx: Array) -> Result:
    """``idx`` (n_blocks, block): blocks run one after another, each until its own slowest lane lands."""
    return jax.lax.map(lambda block: _vmapped(params, dispersion, key, block), idx)


# XLA's CPU loops run a vector body over full SIMD widths and a scalar epilogue over the rest; the two may
# round differently (fused multiply-add). Padding every batch to a whole number of LANE_MULTIPLE lanes keeps
# every sample on the vector path, so a sample's bits never depend on the batch size or its position.
LANE_MULTIPLE = 64
# Larger batches run as blocks of this many lanes: per-lane cost is lowest near 1024 on CPU (the step's
# intermediates stay in the 1.25 MB L2; measured 118 ns/lane-step at 1024, 135 at 256, 345 at 2048, 419 at
# 4096; below ~256 lanes each iteration's ~60 us of fixed kernel-launch cost dominates), and a block whose lanes
# have all landed stops instead of waiting for the slowest lane of the whole batch.
BLOCK_LANES = 1024


def simulate_batch(params: Params, dispersion: Dispersion, key: Array, sample_index: Array) -> Result:
    """``simulate_batch(params, dispersion, key, sample_index[B]) -> Result`` with leading dimension B.

    Sample ``i`` is computed from ``fold_in(key, sample_index[i])`` alone: bit-identical in any batch.
    """
    idx = jnp.asarray(sample_index, dtype=jnp.int32)
    n = int(idx.shape[0])
    block = BLOCK_LANES if n > BLOCK_LANES else max(LANE_MULTIPLE, -(-n // LANE_MULTIPLE) * LANE_MULTIPLE)
    padded = -(-n // block) * block
    if padded != n:
        idx = jnp.concatenate(
            [idx, jnp.broadcast_to(idx[:1] if n else jnp.zeros(1, jnp.int32), (padded - n,))]
        )
    result = _simulate_blocks(params, dispersion, key, idx.reshape(padded // block, block))
    return jax.tree.map(lambda x: x.reshape(padded, *x.shape[2:])[:n], result)


def trace_length(params: Params, record_every: int) -> int:
    """Number of trace records that cover ``params.sim.max_time_s`` (host-side, concrete params)."""
    return math.ceil(float(params.sim.max_time_s) / (float(params.sim.dt_s) * record_every)) + 1


def simulate_trace(params: Params, key: Array, record_every: int, n_records: int) -> tuple[Result, Trace]:
    """One descent like :func:`simulate`, also returning a time history for plots and replays."""
    _, k_init, k_noise = _keys(key)
    seed = noise.lane_seed(k_noise)
    state0 = init(params, k_init)

    def record(s: State) -> Trace:
        true_alt, est_alt = s.heights.true_m, s.heights.estimated_m
        t = jnp.where(s.done, s.touchdown.t_s, s.step.astype(jnp.float32) * params.sim.dt_s)
        return Trace(
            t_s=t,
            true_altitude_m=jnp.where(s.done & (true_alt < 0), 0.0, true_alt),
            estimated_altitude_m=est_alt,
            vertical_speed_mps=s.velocity_mps @ frames.local_up(s.position_m, params.body.radius_m),
            propellant_kg=s.propellant_kg,
            downrange_m=frames.downrange(s.position_m, params.body.radius_m),
            phase=guidance.phase_at(params.guidance, t),
        )

    def chunk(s: State, i: Array) -> tuple[State, Trace]:
        # Records every ``record_every`` steps of dt_s in time, however long the steps taken were.
        rec = record(s)
        target = (i + 1) * record_every
        s = jax.lax.while_loop(lambda x: (x.step < target) & ~x.done, lambda x: step(params, x, seed), s)
        return s, rec

    state, trace = jax.lax.scan(chunk, state0, jnp.arange(n_records, dtype=jnp.int32))
    return finish(params, state), trace
