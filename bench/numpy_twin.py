"""The engine's step written again in plain NumPy, vectorised over trajectories: a baseline and a cross-check.

Same equations as ``riskengine.core`` (read ``core/engine.py:step`` beside it): float32 throughout, the same
RK4, sensors, navigation filter, guidance, actuation, contact interpolation, events and classification, and
the same per-step noise (``lowbias32`` hash re-implemented on numpy ``uint32``). The inputs come from the
engine's own functions so both start identical: each sample's dispersed parameters (``apply_dispersion``),
initial draws (``init``) and noise seed words (``noise.lane_seed``).

Arrays: per-trajectory scalars ``(B,)``, vectors ``(B, 3)`` in the site frame; parameters are float32
scalars or ``(B,)`` arrays (the dispersed ones), terrain grids ``(N,)`` shared by all trajectories.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields, replace
from types import SimpleNamespace
from typing import Any

import jax
import numpy as np
from scipy.special import erfinv

from riskengine.core import Dispersion, Params, apply_dispersion, get_path, init
from riskengine.core.constants import G0_MPS2
from riskengine.core.engine import LONG_STEP_LOOKAHEAD_S, _keys
from riskengine.core.events import EVENTS, Event
from riskengine.core.noise import lane_seed
from riskengine.core.outcomes import MODE_OUTCOME, TouchdownMode

F = np.float32
A = np.ndarray
_M1, _M2 = np.uint32(0x7FEB352D), np.uint32(0x846CA68B)
_N_NOISE = 8
_MIN_TIME_TO_GO_S = 4.0
_BRAKING, _APPROACH, _TERMINAL = 0, 1, 2


# ----------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Inputs:
    """Everything the twin needs for B samples, taken from the engine's own functions."""

    params: Any  # namespace tree like ``Params``: float32 scalars, (B,) dispersed leaves, (N,) grids
    lane_paths: tuple[str, ...]  # the dispersed (per-sample, (B,)) leaves of ``params``
    seed: A  # (B, 2) uint32 noise seed words
    local_gradient: A  # (B, 2)
    rock_m: A  # (B,)

    def take(self, i: int) -> Inputs:
        """Sample ``i`` alone, as a batch of one."""
        sl = slice(i, i + 1)
        params = copy.deepcopy(self.params)
        for path in self.lane_paths:
            node, leaf = _parent(params, path)
            setattr(node, leaf, getattr(node, leaf)[sl])
        return Inputs(params, self.lane_paths, self.seed[sl], self.local_gradient[sl], self.rock_m[sl])


def _parent(tree: Any, path: str) -> tuple[Any, str]:
    *parents, leaf = path.split(".")
    for part in parents:
        tree = getattr(tree, part)
    return tree, leaf


def _to_namespace(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return SimpleNamespace(**{f.name: _to_namespace(getattr(obj, f.name)) for f in fields(obj)})
    arr = np.asarray(obj)
    return arr.astype(F) if arr.ndim else (F(arr) if arr.dtype.kind == "f" else arr[()])


def inputs_from_engine(params: Params, dispersion: Dispersion, key: jax.Array, sample_index: Any) -> Inputs:
    """Dispersed parameters, draws and seeds of samples ``sample_index`` exactly as ``simulate_sample``
    derives them from ``fold_in(key, i)``."""

    def one(i: jax.Array) -> tuple[list[jax.Array], jax.Array, jax.Array, jax.Array]:
        k = jax.random.fold_in(key, i)
        k_disp, k_init, k_noise = _keys(k)
        p = apply_dispersion(params, dispersion, k_disp)
        draws = init(p, k_init).draws
        values = [get_path(p, path) for path in dispersion.paths]
        return values, lane_seed(k_noise), draws.local_gradient, draws.rock_m

    values, seed, grad, rock = jax.jit(jax.vmap(one))(np.asarray(sample_index, dtype=np.int32))
    tree = _to_namespace(params)
    for path, val in zip(dispersion.paths, values, strict=True):
        node, leaf = _parent(tree, path)
        setattr(node, leaf, np.asarray(val, dtype=F))
    return Inputs(
        tree,
        tuple(dispersion.paths),
        np.asarray(seed, dtype=np.uint32),
        np.asarray(grad, F),
        np.asarray(rock, F),
    )


# ------------------------------------------------------------------------------------- small vector helpers
def _c(x: Any) -> Any:
    """Column view of a (B,) array (or a scalar) to scale (B, 3) vectors."""
    return np.asarray(x)[..., None]


def _dot(a: A, b: A) -> A:
    return np.einsum("...i,...i->...", a, b)


def _norm(a: A) -> A:
    return np.sqrt(_dot(a, a))


def _vec(x: Any, y: Any, z: Any) -> A:
    x, y, z = np.broadcast_arrays(F(0) + x, F(0) + y, F(0) + z)
    return np.stack([x, y, z], axis=-1).astype(F)


# --------------------------------------------------------------------------------------------- noise
def _mix(x: A) -> A:
    x = x ^ (x >> np.uint32(16))
    x = x * _M1
    x = x ^ (x >> np.uint32(15))
    x = x * _M2
    return x ^ (x >> np.uint32(16))


def uniforms(seed: A, step: Any) -> A:
    """(B, 8) float32 uniforms on (0, 1) for ``step`` (one per lane, or shared): ``riskengine.core.noise.uniforms``
    in numpy."""
    step = np.asarray(step).astype(np.uint32)[..., None]
    counter = step * np.uint32(_N_NOISE) + np.arange(_N_NOISE, dtype=np.uint32)
    h = _mix(_mix(counter ^ seed[:, :1]) + seed[:, 1:2])
    return ((h >> np.uint32(8)).astype(F) + F(0.5)) * F(2.0**-24)


def _centred(u: A) -> A:
    return (u - F(0.5)) * F(12.0**0.5)


def _gaussian(u: A) -> A:
    return F(2.0**0.5) * erfinv(F(2.0) * u - F(1.0)).astype(F)


# ------------------------------------------------------------------------------------ frames and terrain
def _height(p: A, r: Any) -> A:
    q = p + _c(r) * np.array([0, 0, 1], F)
    return (_dot(p, p) + F(2.0) * r * p[..., 2]) / (_norm(q) + r)


def _up(p: A, r: Any) -> A:
    q = p + _c(r) * np.array([0, 0, 1], F)
    return q / _c(_norm(q))


def _along(up: A) -> A:
    along = _vec(up[..., 2], 0.0, -up[..., 0])  # cross(e_y, up)
    return along / _c(_norm(along))


def _downrange(p: A, r: Any) -> A:
    return r * np.arctan2(p[..., 0], r + p[..., 2])


def _point_at(range_m: Any, height_m: Any, r: Any) -> tuple[A, A, A]:
    theta = -range_m / r
    up = _vec(np.sin(theta), 0.0, np.cos(theta))
    along = _vec(np.cos(theta), 0.0, -np.sin(theta))
    p = _c(r + height_m) * up - _c(r) * np.array([0, 0, 1], F)
    return p, up, along


def _lookup(values: A, start: Any, step: Any, s: A) -> tuple[A, A]:
    u = (s - start) / step
    i = np.clip(np.floor(u), 0, values.shape[0] - 2).astype(np.int32)
    f = np.clip(u - i.astype(F), F(0), F(1))  # JAX promotes float32 - int32 to float32; numpy would not
    z0, z1 = values[i], values[i + 1]
    return z0 + f * (z1 - z0), (z1 - z0) / step


def _true_elev(t: Any, s: A) -> tuple[A, A]:
    return _lookup(t.elevation_m, t.grid_start_m, t.grid_step_m, s)


def _map_elev(t: Any, s: A) -> A:
    base = _lookup(t.map_base_m, t.grid_start_m, t.grid_step_m, s - t.map_shift_m)[0]
    return t.map_fidelity * base + t.map_offset_m


def _gravity(p: A, body: Any) -> A:
    q = p + _c(body.radius_m) * np.array([0, 0, 1], F)
    r2 = _dot(q, q)
    return -_c(body.mu_m3ps2) * q / _c(r2 * np.sqrt(r2))


def _rk4(p: A, v: A, m: A, force: A, mdot: A, extra: Any, body: Any, dt: Any) -> tuple[A, A]:
    def accel(pos: A, mass: A) -> A:
        return _gravity(pos, body) + force / _c(mass) + extra

    half = F(0.5) * dt
    m_mid, m_end = m - mdot * half, m - mdot * dt
    h, d, sixth = _c(half), _c(dt), _c(dt / F(6.0))  # dt: one per lane (long steps) or shared
    a1 = accel(p, m)
    v2 = v + h * a1
    a2 = accel(p + h * v, m_mid)
    v3 = v + h * a2
    a3 = accel(p + h * v2, m_mid)
    v4 = v + d * a3
    a4 = accel(p + d * v3, m_end)
    return (p + sixth * (v + F(2.0) * v2 + F(2.0) * v3 + v4),
            v + sixth * (a1 + F(2.0) * a2 + F(2.0) * a3 + a4))  # fmt: skip


def _period_steps(period_s: Any, dt: Any) -> Any:
    return np.maximum(np.round(period_s / dt), 1.0).astype(np.int32)


# --------------------------------------------------------------------------------------------- guidance
def _phase(g: Any, t: Any) -> Any:
    return np.where(t < g.braking_time_s, _BRAKING,
                    np.where(t < g.braking_time_s + g.approach_time_s, _APPROACH, _TERMINAL))  # fmt: skip


def _command_accel(g: Any, r_m: Any, t: Any, r: A, v: A) -> A:
    phase = _phase(g, t)
    height = _height(r, r_m)
    hg_p, hg_up, hg_along = _point_at(g.high_gate_range_m, np.minimum(g.high_gate_altitude_m, height), r_m)
    hg_v = _c(g.high_gate_horizontal_speed_mps) * hg_along + _c(g.high_gate_vertical_speed_mps) * hg_up
    hg_a = _c(g.high_gate_horizontal_accel_mps2) * hg_along + _c(g.high_gate_vertical_accel_mps2) * hg_up
    lg_p = _vec(0.0, 0.0, g.low_gate_altitude_m)
    lg_v = _vec(0.0, 0.0, g.low_gate_vertical_speed_mps)
    braking = _c(phase == _BRAKING)
    end = np.where(phase == _BRAKING, g.braking_time_s, g.braking_time_s + g.approach_time_s)
    t_go = _c(np.maximum(end - t, F(_MIN_TIME_TO_GO_S)))
    r_t, v_t = np.where(braking, hg_p, lg_p), np.where(braking, hg_v, lg_v)
    a_t = np.where(braking, hg_a, F(0))
    poly = F(12.0) * (r_t - r) / t_go**2 - F(6.0) * (v_t + v) / t_go + a_t
    # Terminal descent: velocity hold towards a height-scheduled sink rate over the site.
    up = _up(r, r_m)
    r_h = r - _c(_dot(r, up)) * up
    v_ref_h = -_c(g.terminal_position_gain_per_s) * r_h
    speed = _norm(v_ref_h)
    v_ref_h = v_ref_h * _c(
        np.minimum(F(1.0), g.terminal_max_horizontal_speed_mps / np.maximum(speed, F(1e-6)))
    )
    sink = np.clip(height / g.terminal_time_constant_s, g.terminal_descent_rate_mps, g.terminal_max_sink_mps)
    term = _c(g.terminal_velocity_gain_per_s) * (v_ref_h - _c(sink) * up - v)
    return np.where(_c(phase == _TERMINAL), term, poly)


def _thrust_command(a_cmd: A, g_est: A, mass: A, up: A) -> tuple[A, A]:
    a = a_cmd - g_est
    a = a - _c(np.minimum(_dot(a, up), F(0))) * up
    mag = _norm(a)
    direction = np.where(_c(mag > 1e-6), a / _c(np.maximum(mag, F(1e-6))), up)
    return mass * mag, direction


# --------------------------------------------------------------------------------------------- vehicle
def _slew(cur: A, target: A, max_angle: Any) -> A:
    cos_a = np.clip(_dot(cur, target), F(-1), F(1))
    angle = np.arccos(cos_a)
    ortho = target - _c(cos_a) * cur
    ortho = ortho / _c(np.maximum(_norm(ortho), F(1e-12)))
    st = np.minimum(angle, max_angle)
    turned = _c(np.cos(st)) * cur + _c(np.sin(st)) * ortho
    return np.where(_c(angle <= max_angle), target, turned / _c(_norm(turned)))


def _pointing_bias(d: A, veh: Any) -> A:
    bx, by = np.deg2rad(veh.pointing_bias_x_deg), np.deg2rad(veh.pointing_bias_y_deg)
    cross = _vec(
        by * d[..., 2], -bx * d[..., 2], bx * d[..., 1] - by * d[..., 0]
    )  # omega x d, omega=(bx,by,0)
    biased = d + cross
    return biased / _c(_norm(biased))


def _mass_flow(throttle: A, veh: Any) -> tuple[A, A]:
    span = np.maximum(F(1.0) - veh.min_throttle, F(1e-6))
    frac = np.clip((throttle - veh.min_throttle) / span, F(0), F(1))
    isp = veh.isp_min_throttle_s + (veh.isp_s - veh.isp_min_throttle_s) * frac
    thrust = throttle * veh.max_thrust_n
    return thrust, thrust / (isp * F(G0_MPS2))


# ------------------------------------------------------------------------------------------------ state
@dataclass(frozen=True)
class TwinState:
    """Dynamic state of B descents (``riskengine.core.state.State`` with a leading batch axis)."""

    step: A  # (B,) int32: each lane's step count in units of dt_s (long steps advance it by several)
    p: A
    v: A
    prop: A
    p_est: A
    v_est: A
    p_hh: A
    p_hv: A
    p_vv: A
    consecutive: A
    rejections: A
    failed: A
    thrust_dir: A
    cmd_dir: A
    cmd_throttle: A
    t_in_range: A
    ran_dry: A
    done: A
    td_p: A
    td_v: A
    td_t: A
    td_prop: A
    td_ran_dry: A
    events: A  # (B, n_events, 5)


def _event_row(prm: Any, t: Any, p: A, v: A, p_est: A, prop: A) -> A:
    r = prm.body.radius_m
    true_alt = _height(p, r) - _true_elev(prm.terrain, _downrange(p, r))[0]
    est_alt = _height(p_est, r) - _map_elev(prm.terrain, _downrange(p_est, r))
    vz = _dot(v, _up(p, r))
    return np.stack(np.broadcast_arrays(F(0) + t, true_alt, est_alt, vz, prop), axis=-1).astype(F)


def initial_state(inp: Inputs) -> TwinState:
    """``riskengine.core.engine.init`` for B samples."""
    prm, b = inp.params, inp.seed.shape[0]
    g, nav, r = prm.guidance, prm.navigation, prm.body.radius_m
    p0, up0, along0 = _point_at(g.pdi_range_m, g.pdi_altitude_m, r)
    gamma = np.deg2rad(g.pdi_flight_path_deg)
    v0 = _c(g.pdi_speed_mps) * (_c(np.cos(gamma)) * along0 + _c(np.sin(gamma)) * up0)
    p_est = (p0 + _c(nav.initial_downrange_error_m) * along0 + _c(nav.initial_crossrange_error_m)
             * np.array([0, 1, 0], F) + _c(nav.initial_altitude_error_m) * up0)  # fmt: skip
    v_est = (v0 + _c(nav.initial_horizontal_velocity_error_mps) * along0
             + _c(nav.initial_vertical_velocity_error_mps) * up0)  # fmt: skip
    p0, v0, p_est, v_est = (np.broadcast_to(x, (b, 3)).astype(F) for x in (p0, v0, p_est, v_est))
    prop = np.full(b, prm.vehicle.propellant_kg, F) if np.ndim(prm.vehicle.propellant_kg) == 0 else (
        np.asarray(prm.vehicle.propellant_kg, F).copy())  # fmt: skip
    events = np.full((b, len(EVENTS), 5), np.nan, F)
    events[:, Event.POWERED_DESCENT_START] = _event_row(prm, 0.0, p0, v0, p_est, prop)
    retro = -v0 / _c(_norm(v0))
    zeros_b = np.zeros(b, F)
    return TwinState(
        step=np.zeros(b, np.int32), p=p0, v=v0, prop=prop, p_est=p_est, v_est=v_est,
        p_hh=zeros_b + nav.assumed_altitude_sigma_m**2, p_hv=zeros_b.copy(),
        p_vv=zeros_b + nav.assumed_vertical_velocity_sigma_mps**2,
        consecutive=np.zeros(b, np.int32), rejections=np.zeros(b, np.int32), failed=np.zeros(b, bool),
        thrust_dir=retro, cmd_dir=retro, cmd_throttle=zeros_b + prm.vehicle.min_throttle,
        t_in_range=np.full(b, np.inf, F), ran_dry=np.zeros(b, bool), done=np.zeros(b, bool),
        td_p=p0, td_v=v0, td_t=zeros_b.copy(), td_prop=prop, td_ran_dry=np.zeros(b, bool), events=events,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------- step
def step(prm: Any, s: TwinState, seed: A) -> TwinState:
    """``riskengine.core.engine.step`` for B trajectories at once."""
    body, veh, alt, nav, ter = prm.body, prm.vehicle, prm.altimeter, prm.navigation, prm.terrain
    fine_dt, r = prm.sim.dt_s, body.radius_m
    t = (s.step * fine_dt).astype(F)
    u = uniforms(seed, s.step)
    z_imu, z_doppler = _centred(u[:, 0:3]), _centred(u[:, 3:6])
    p, v, p_est, v_est = s.p, s.v, s.p_est, s.v_est

    # Altimeter: truth seen through the sensor model.
    elev, grad = _true_elev(ter, _downrange(p, r))
    up = _up(p, r)
    true_alt = _height(p, r) - elev
    alt_rate = _dot(v, up) - grad * _dot(v, _along(up))
    # Long steps (engine._long_step): a guidance period at once while out of the altimeter's reach.
    n_g = _period_steps(prm.guidance.guidance_period_s, fine_dt)
    long = ((prm.sim.long_braking_steps > 0) & (s.step % n_g == 0)
            & (t + F(n_g) * fine_dt <= prm.guidance.braking_time_s)
            & (true_alt + F(LONG_STEP_LOOKAHEAD_S) * np.minimum(alt_rate, F(0)) > alt.max_range_m) & ~s.done)  # fmt: skip
    n_steps = np.where(long, n_g, 1).astype(np.int32)
    dt = (n_steps * fine_dt).astype(F)
    in_range = true_alt <= alt.max_range_m
    t_in_range = np.where(in_range & np.isinf(s.t_in_range), t, s.t_in_range).astype(F)
    acquired = t >= t_in_range + alt.acquisition_delay_s
    on_time = (s.step % _period_steps(alt.period_s, fine_dt)) == 0
    valid = in_range & acquired & on_time & (u[:, 7] >= alt.dropout_prob) & ~s.done
    delayed = true_alt - alt.latency_s * alt_rate
    reading = delayed + (alt.noise_floor_m + alt.noise_fraction * np.abs(delayed)) * _gaussian(u[:, 6])

    # Navigation: gate and apply the reading against the onboard map, then the Doppler channel.
    up_est = _up(p_est, r)
    predicted = _height(p_est, r) - _map_elev(ter, _downrange(p_est, r))
    sigma = alt.noise_floor_m + alt.noise_fraction * np.abs(reading)
    usable = valid & ~s.failed
    innovation = reading - predicted
    s_inn = s.p_hh + sigma**2
    gate = np.maximum(nav.gate_sigma * np.sqrt(s_inn), nav.gate_floor_m)
    accepted = usable & (np.abs(innovation) <= gate)
    rejected = usable & ~accepted
    k_h, k_v = s.p_hh / s_inn, s.p_hv / s_inn
    dh = np.where(accepted, k_h * innovation, F(0))
    dv = np.where(accepted, k_v * innovation, F(0))
    p_hh = np.where(accepted, (F(1) - k_h) * s.p_hh, s.p_hh)
    p_hv = np.where(accepted, (F(1) - k_h) * s.p_hv, s.p_hv)
    p_vv = np.where(accepted, s.p_vv - k_v * s.p_hv, s.p_vv)
    consecutive = np.where(rejected, s.consecutive + 1, np.where(accepted, 0, s.consecutive)).astype(np.int32)
    limit = nav.max_consecutive_rejections
    failed = s.failed | ((limit > 0) & (consecutive.astype(F) >= limit))
    p_est = p_est + _c(dh) * up_est
    v_est = v_est + _c(dv) * up_est
    gain = np.where(valid & ~failed, alt.velocity_gain, F(0)).astype(F)
    v_est = v_est + _c(gain) * (v - v_est + _c(alt.velocity_noise_mps) * z_doppler)
    keep = F(1) - gain
    p_hv, p_vv = keep * p_hv, keep * keep * p_vv + gain * gain * alt.velocity_noise_mps**2

    # Guidance on the estimate, recomputed every guidance period and held in between.
    mass = veh.dry_mass_kg + s.prop
    a_cmd = _command_accel(prm.guidance, r, t, p_est, v_est)
    force_needed, dir_cmd = _thrust_command(a_cmd, _gravity(p_est, body), mass, up_est)
    on_guidance = (s.step % n_g) == 0
    cmd_throttle = np.where(on_guidance, np.clip(force_needed / veh.max_thrust_n, veh.min_throttle, F(1)),
                            s.cmd_throttle).astype(F)  # fmt: skip
    cmd_dir = np.where(_c(on_guidance), dir_cmd, s.cmd_dir)

    # Actuation: slew-limited direction, pointing bias, throttle; the tanks may run dry mid-step.
    thrust_dir = _slew(s.thrust_dir, cmd_dir, np.deg2rad(veh.slew_rate_dps) * dt)
    thrust, mdot = _mass_flow(cmd_throttle, veh)
    burn = np.clip(s.prop / np.maximum(mdot * dt, F(1e-12)), F(0), F(1))
    force = _c(thrust * burn) * _pointing_bias(thrust_dir, veh)
    mdot = mdot * burn

    # Truth and navigation propagation; the accelerometer senses the same force plus its errors.
    p1, v1 = _rk4(p, v, mass, force, mdot, F(0), body, dt)
    imu = prm.imu
    imu_err = _vec(imu.bias_x_mps2, imu.bias_y_mps2, imu.bias_z_mps2) + (
        _c(imu.velocity_random_walk_mps_per_sqrt_s / np.sqrt(dt)) * z_imu)  # fmt: skip
    p_est1, v_est1 = _rk4(p_est, v_est, mass, force, mdot, imu_err, body, dt)
    q = nav.process_accel_sigma_mps2**2
    p_hh, p_hv, p_vv = (p_hh + dt * (F(2) * p_hv + dt * p_vv) + q * dt**3 / F(3),
                        p_hv + dt * p_vv + q * dt**2 / F(2), p_vv + q * dt)  # fmt: skip
    prop1 = np.maximum(s.prop - mdot * dt, F(0))
    step1 = s.step + n_steps
    t1 = (step1 * fine_dt).astype(F)

    # Ground contact, interpolated within the step; frozen once done.
    row_now = np.stack([np.broadcast_to(t, true_alt.shape), true_alt, predicted, _dot(v, up), s.prop], -1)
    row_next = _event_row(prm, t1, p1, v1, p_est1, prop1)
    true_alt1 = row_next[:, 1]
    contact = true_alt1 <= 0.0
    frac = np.clip(true_alt / np.maximum(true_alt - true_alt1, F(1e-9)), F(0), F(1))
    frac = np.where(contact, frac, F(1)).astype(F)
    td_prop = s.prop + frac * (prop1 - s.prop)
    d, dc = s.done, _c(s.done)
    td_p = np.where(dc, s.td_p, p + _c(frac) * (p1 - p))
    td_v = np.where(dc, s.td_v, v + _c(frac) * (v1 - v))
    td_t = np.where(d, s.td_t, t + frac * dt)
    td_ran_dry = np.where(d, s.td_ran_dry, s.ran_dry | (td_prop <= 0.0))
    td_prop = np.where(d, s.td_prop, td_prop)
    row_td = row_now + _c(frac) * (row_next - row_now)

    # Events: each one's first occurrence.
    phase = _phase(prm.guidance, t)
    b = true_alt.shape[0]
    happened = np.stack(np.broadcast_arrays(
        False, in_range, valid, rejected, failed & ~s.failed, phase == _APPROACH, phase == _TERMINAL,
        (prop1 <= 0.0) & (s.prop > 0.0), contact), axis=-1)  # fmt: skip
    rows = np.concatenate(
        [np.repeat(row_now[:, None], 7, axis=1), row_next[:, None], row_td[:, None]], axis=1
    )
    first = happened & np.isnan(s.events[:, :, 0]) & ~_c(s.done)
    events = np.where(first[..., None], rows, s.events)
    assert events.shape == (b, len(EVENTS), 5)

    return replace(
        s, step=step1, p=p1, v=v1, prop=prop1, p_est=p_est1, v_est=v_est1,
        p_hh=p_hh, p_hv=p_hv, p_vv=p_vv, consecutive=consecutive,
        rejections=s.rejections + rejected.astype(np.int32), failed=failed,
        thrust_dir=thrust_dir, cmd_dir=cmd_dir, cmd_throttle=cmd_throttle, t_in_range=t_in_range,
        ran_dry=s.ran_dry | (prop1 <= 0.0), done=s.done | contact | (t1 >= prm.sim.max_time_s),
        td_p=td_p, td_v=td_v, td_t=td_t, td_prop=td_prop, td_ran_dry=td_ran_dry, events=events,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------- finish
@dataclass(frozen=True)
class TwinResult:
    """``riskengine.core.Result`` fields as numpy arrays (B,)."""

    outcome: A
    touchdown_vertical_speed_mps: A
    touchdown_horizontal_speed_mps: A
    slope_deg: A
    propellant_remaining_kg: A
    miss_distance_m: A
    duration_s: A
    altimeter_rejections: A
    steps: int  # the longest lane's step count, in units of dt_s


def _unit2(v: A, fallback: A) -> A:
    n = np.sqrt(v[:, 0] ** 2 + v[:, 1] ** 2)[:, None]
    return np.where(n > 1e-6, v / np.where(n > 1e-6, n, F(1)), fallback)


def _tips_about(veh: Any, e: A, v_h: A, sink: A, grad: A, rock: A, g: Any) -> A:
    """``core.touchdown._tips_about``: dynamic tip about the pad at ``+b e``."""
    b, h = veh.footprint_radius_m, veh.cg_height_m
    d, a = np.sqrt(b * b + h * h), np.arctan2(b, h)
    tau = np.arctan(-(grad * e).sum(-1)) + rock
    v_s = (v_h * e).sum(-1) * np.cos(tau) + sink * np.sin(tau)
    return (a - tau > 0) & (F(0.5) * (np.maximum(v_s, 0) * (h / d)) ** 2 > g * d * (F(1) - np.cos(a - tau)))


def _classify(
    veh: Any, contacted: A, ran_dry: A, sink: A, h_speed: A, v_h: A, grad: A, rock: A, tilt: A, g: Any
) -> A:
    """``core.touchdown.classify`` (the stability envelope and the modes' mapping to outcomes)."""
    downhill = _unit2(-grad, np.broadcast_to(np.array([1, 0], F), grad.shape))
    into = -(grad * v_h).sum(-1) - sink
    slide = _unit2(v_h + grad * (into / (F(1) + (grad * grad).sum(-1)))[:, None], downhill)
    static = np.arctan2(veh.footprint_radius_m, veh.cg_height_m) - (np.arctan(_norm2(grad)) + rock) <= 0
    dynamic = (_tips_about(veh, slide, v_h, sink, grad, rock, g) | _tips_about(veh, downhill, v_h, sink, grad, rock, g)) & ~static
    m = TouchdownMode
    mode = np.full(sink.shape, m.SAFE, np.int32)
    mode = np.where(tilt > veh.max_slope_deg, m.AT_REST_BEYOND_OPERATIONAL_TILT, mode)
    mode = np.where(h_speed > veh.max_horizontal_speed_mps, m.OVER_HORIZONTAL_LIMIT, mode)
    mode = np.where(sink > veh.max_vertical_speed_mps, m.OVER_VERTICAL_LIMIT, mode)
    mode = np.where(dynamic, m.TIPPED_DYNAMIC, mode)
    mode = np.where(static, m.TIPPED_STATIC, mode)
    mode = np.where(np.hypot(sink, h_speed) > veh.crash_speed_mps, m.CRUSHED, mode)
    mode = np.where(ran_dry & (mode != m.SAFE), m.DRY_BEFORE_CONTACT, mode)
    mode = np.where(contacted, mode, m.NO_CONTACT)
    return np.array([MODE_OUTCOME[TouchdownMode(int(x))] for x in mode], dtype=np.int32)  # fmt: skip


def _norm2(v: A) -> A:
    return np.sqrt(v[:, 0] ** 2 + v[:, 1] ** 2)


def finish(prm: Any, inp: Inputs, s: TwinState) -> TwinResult:
    """``riskengine.core.engine.finish`` (outcome classification, ``core.touchdown``)."""
    veh, r = prm.vehicle, prm.body.radius_m
    contacted = ~np.isnan(s.events[:, Event.TOUCHDOWN, 0])
    up = _up(s.td_p, r)
    vz = _dot(s.td_v, up)
    sink, h_speed = -vz, _norm(s.td_v - _c(vz) * up)
    s_dr = _downrange(s.td_p, r)
    grad = _true_elev(prm.terrain, s_dr)[1]
    gx, gy = grad + inp.local_gradient[:, 0], inp.local_gradient[:, 1]
    v_h = s.td_v - _c(vz) * up
    v_h2 = np.stack([_dot(v_h, _along(up)), v_h[:, 1]], axis=-1)
    gradient = np.stack([gx, gy], axis=-1).astype(F)
    rock = np.arctan(inp.rock_m / (F(2) * veh.footprint_radius_m))
    slope = np.rad2deg(np.arctan(np.sqrt(gx * gx + gy * gy))) + np.rad2deg(rock)
    g_surface = prm.body.mu_m3ps2 / r**2
    code = _classify(veh, contacted, s.td_ran_dry, sink, h_speed, v_h2, gradient, rock, slope, g_surface)
    nan = F(np.nan)
    return TwinResult(
        code, np.where(contacted, sink, nan), np.where(contacted, h_speed, nan), np.where(contacted, slope, nan),
        s.td_prop, np.where(contacted, np.hypot(s_dr, s.td_p[:, 1]), nan), s.td_t, s.rejections, int(s.step.max()),
    )  # fmt: skip


def simulate(inp: Inputs) -> TwinResult:
    """Run B descents together until every one has touched down or timed out (checked every step, as
    the engine's batched loop does; results are frozen once done)."""
    s = initial_state(inp)
    while not s.done.all():
        s = step(inp.params, s, inp.seed)
    return finish(inp.params, inp, s)


METRIC_FIELDS: tuple[str, ...] = (
    "touchdown_vertical_speed_mps",
    "touchdown_horizontal_speed_mps",
    "slope_deg",
    "propellant_remaining_kg",
    "miss_distance_m",
    "duration_s",
)
