"""The engine's step written again in plain NumPy, vectorised over trajectories: a baseline and a cross-check.

Same equations as ``riskengine.core`` (read ``core/engine.py:step`` beside it): float32 throughout, the same
RK4, sensors (body-fixed altimeter beams ray-cast against the 2-D true terrain with their footprint,
incidence and range limits, line-of-sight Doppler, accelerometer scale factor and misalignment), quaternion
attitude with its knowledge error and slew limit, the 18-state error-state Kalman filter (covariance
propagated once per guidance period, sequential scalar updates: each beam's range predicted by casting it
against the onboard map, then its Doppler; injection), guidance (time-to-go re-solved
by Newton, phase switches on state, the saturation policy), throttle model, contact interpolation, events
and classification, and the same per-step noise (``lowbias32`` hash re-implemented on numpy ``uint32``).
The inputs come from the engine's own functions so both start identical: each sample's dispersed
parameters (``apply_dispersion``), initial draws (``init``) and noise seed words (``noise.lane_seed``).

The engine's branches (guidance every guidance period, a measurement update while any lane has a reading,
covariance propagation when a period completes) leave lanes without the event unchanged, so here they are
per-lane masks (``np.where``), the work skipped when no lane needs it.

Arrays: per-trajectory scalars ``(B,)``, vectors ``(B, 3)`` in the site frame, quaternions ``(B, 4)``,
matrices ``(B, 3, 3)``, covariances ``(B, 18, 18)``; parameters are float32 scalars or ``(B,)`` arrays (the
dispersed ones), terrain levels ``(n_downrange, n_crossrange)`` shared by all trajectories. The terrain,
ray casting and beams are in ``bench/twin_terrain.py``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields, replace
from types import SimpleNamespace
from typing import Any, NamedTuple

import jax
import numpy as np
from scipy.special import erfinv

from bench import twin_terrain as tt
from bench.twin_terrain import (
    _E_Y,
    _E_Z,
    _along,
    _c,
    _cross,
    _dot,
    _downrange,
    _height,
    _mtv,
    _mv,
    _norm,
    _skew,
    _unit,
    _up,
    _vec,
)
from riskengine.core import Dispersion, Params, apply_dispersion, get_path, init
from riskengine.core.constants import G0_MPS2
from riskengine.core.engine import PREDICTION_REACH, _keys
from riskengine.core.events import EVENTS, Event
from riskengine.core.guidance import SINK_ARREST_FRACTION, TOUCHDOWN_RATE_TOLERANCE_MPS
from riskengine.core.noise import lane_seed
from riskengine.core.outcomes import MODE_OUTCOME, TouchdownMode

F = np.float32
A = np.ndarray
_M1, _M2 = np.uint32(0x7FEB352D), np.uint32(0x846CA68B)
# Uniforms per step: accelerometer (3), gyro (3), TRN (2), then per altimeter beam its range noise, dropout
# and Doppler noise (``core.engine``'s layout: the noise stream is shared, bit for bit).
_IMU, _GYRO, _TRN, _BEAMS_AT = slice(0, 3), slice(3, 6), slice(6, 8), 8
_MIN_TIME_TO_GO_S = 4.0
_NEWTON_ITERATIONS = 3
_FAR_ROOT_FACTOR, _FAR_ROOT_SLACK_S = 2.0, 20.0
_TILT_SINK_ARREST_S = 10.0
_BRAKING, _APPROACH, _TERMINAL = 0, 1, 2
_MILLI = 1e-3  # the filter carries attitude (rad) and accelerometer bias (m/s^2) in milli-units
_PPM = 1e-6
_DPH_TO_RADPS = float(np.pi / 180.0 / 3600.0)
_DEG_PER_SQRT_H_TO_RAD_PER_SQRT_S = float(np.pi / 180.0 / 60.0)
_GYRO_TO_ATT = _DPH_TO_RADPS / _MILLI  # d(eps) [mrad/s] per deg/h of gyro-bias error
_DIM = 18  # the filter's error state (navigation.NAV_STATE_DIM)


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
    if isinstance(obj, tuple | list):  # an elevation model's levels
        return tuple(_to_namespace(x) for x in obj)
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


# --------------------------------------------------------------------------------------------- noise
def _mix(x: A) -> A:
    x = x ^ (x >> np.uint32(16))
    x = x * _M1
    x = x ^ (x >> np.uint32(15))
    x = x * _M2
    return x ^ (x >> np.uint32(16))


def uniforms(seed: A, step: Any, n: int) -> A:
    """(B, n) float32 uniforms on (0, 1) for ``step`` (one per lane, or shared): ``riskengine.core.noise.uniforms``
    in numpy."""
    step = np.asarray(step).astype(np.uint32)[..., None]
    counter = step * np.uint32(n) + np.arange(n, dtype=np.uint32)
    h = _mix(_mix(counter ^ seed[:, :1]) + seed[:, 1:2])
    return ((h >> np.uint32(8)).astype(F) + F(0.5)) * F(2.0**-24)


def _centred(u: A) -> A:
    return (u - F(0.5)) * F(12.0**0.5)


def _gaussian(u: A) -> A:
    return F(2.0**0.5) * erfinv(F(2.0) * u - F(1.0)).astype(F)


# ------------------------------------------------------------------------------------ frames and terrain
def _point_at(range_m: Any, height_m: Any, r: Any) -> tuple[A, A, A]:
    theta = -range_m / r
    up = _vec(np.sin(theta), 0.0, np.cos(theta))
    along = _vec(np.cos(theta), 0.0, -np.sin(theta))
    p = _c(r + height_m) * up - _c(r) * _E_Z
    return p, up, along


def _heights(prm: Any, p: A, p_est: A) -> tuple[A, A, A, A]:
    """(true height above the true ground, its (B, 2) gradient, estimated height above the onboard map
    with its per-sample errors, the map's gradient), each along its own local vertical."""
    t, r = prm.terrain, prm.body.radius_m
    h_true, grad = tt.height_above(tt.truth_surface(t), p, r)
    h_est, map_grad = tt.height_above(tt.map_surface(t), p_est, r)
    return h_true, grad, h_est, map_grad


def _gravity(p: A, body: Any) -> A:
    q = p + _c(body.radius_m) * _E_Z
    r2 = _dot(q, q)
    return -_c(body.mu_m3ps2) * q / _c(r2 * np.sqrt(r2))


def _gravity_gradient(p: A, body: Any) -> A:
    """(B, 3, 3) ``dynamics.gravity_gradient``: ``mu / r^3 (3 u u^T - I)``."""
    q = p + _c(body.radius_m) * _E_Z
    r2 = _dot(q, q)
    u = q / _c(np.sqrt(r2))
    k = (body.mu_m3ps2 / (r2 * np.sqrt(r2)))[:, None, None]
    return (k * (F(3) * u[:, :, None] * u[:, None, :] - np.eye(3, dtype=F))).astype(F)


def _rk4(p: A, v: A, m: A, force: A, mdot: A, extra: Any, body: Any, dt: Any) -> tuple[A, A]:
    def accel(pos: A, mass: A) -> A:
        return _gravity(pos, body) + force / _c(mass) + extra

    half = F(0.5) * dt
    m_mid, m_end = m - mdot * half, m - mdot * dt
    h, d, sixth = _c(half), _c(dt), _c(dt / F(6.0))
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


# --------------------------------------------------------------------------------------------- attitude
def _dcm(q: A) -> A:
    """(B, 3, 3) body-to-site rotation of unit quaternions (w, x, y, z); columns are the body axes."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    rows = (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2).astype(F)


def _quat(w: A, v: A) -> A:
    return np.concatenate([w[:, None], v], axis=1)


def _qmul(a: A, b: A) -> A:
    aw, av, bw, bv = a[:, 0], a[:, 1:], b[:, 0], b[:, 1:]
    return _quat(aw * bw - _dot(av, bv), _c(aw) * bv + _c(bw) * av + _cross(av, bv))


def _body_axis(c: A, x: Any, y: Any) -> A:
    """Unit site-frame direction of the body vector (x, y, 1)."""
    return _unit(_mv(c, _vec(x, y, 1.0)))


def _slew(q: A, axis_est: A, target: A, cos_max: Any) -> A:
    """Rotate ``q`` by the smallest rotation taking ``axis_est`` towards ``target``, at most acos(cos_max)."""
    cos_a = np.clip(_dot(axis_est, target), F(-1), F(1))
    cross = _cross(axis_est, target)
    k = cross / _c(np.maximum(_norm(cross), F(1e-12)))
    full = _quat(F(1) + cos_a, cross)
    c_half = np.sqrt(np.maximum(F(0.5) * (F(1) + cos_max), F(0)))
    s_half = np.sqrt(np.maximum(F(0.5) * (F(1) - cos_max), F(0)))
    limited = _quat(np.broadcast_to(c_half, cos_a.shape).astype(F), _c(s_half) * k)
    rot = _unit(np.where(_c(cos_a >= cos_max), full, limited))
    return _unit(_qmul(rot, q))


# ------------------------------------------------------------------------------------------- navigation
@dataclass(frozen=True)
class _Filter:
    cov: A  # (B, 18, 18) error state: position, velocity, attitude (mrad, site), accel bias (mm/s^2, body),
    #         thrust-proportional accel error (ppm, body), gyro bias (deg/h, body)
    x: A  # (B, 18) correction accumulated by this step's updates
    nis_sum: A
    nis_count: A
    cross: A  # (B, 18, NB) covariance of the error state with each beam's terrain offset (consider)
    spot: A  # (B, NB, 3) each beam's spot at its last reading


def _hpc(f: _Filter, *parts: tuple[slice, A]) -> A:
    """(B, NB) ``h P_xc`` for a row made of (B, 3) pieces on 3-state blocks."""
    return sum(np.einsum("bi,bij->bj", h, f.cross[:, block, :]) for block, h in parts)  # type: ignore[return-value]


_NUGGET = 1e-4  # the offsets' white part, a fraction of their variance (navigation.NUGGET)


def _spot_correlation(a: A, b: A, length: Any) -> A:
    """``exp(-|a - b| / L)`` between spots (..., 3), 0 where either has not been read (infinite)."""
    ok = np.isfinite(a).all(axis=-1) & np.isfinite(b).all(axis=-1)
    with np.errstate(invalid="ignore"):  # inf - inf where a spot is unread, masked out
        d = np.sqrt((np.where(ok[..., None], a - b, F(0)) ** 2).sum(axis=-1))
    length = np.reshape(length, np.shape(length) + (1,) * (d.ndim - np.ndim(length)))
    return np.where(ok, np.exp(-d / length), F(0)).astype(F)


def _innovation_variance(hph: A, variance: Any, hpc: A, consider: tuple[int, A, Any] | None) -> A:
    """``navigation.innovation_variance``: ``h P h + R``, plus ``2 h P_xc h_c + h_c P_cc h_c`` for a beam's
    terrain offset."""
    if consider is None:
        return hph + variance
    k, coeff, cov_row = consider
    return hph + variance + F(2) * coeff * hpc[:, k] + coeff * coeff * cov_row[:, k]


def _update(
    f: _Filter,
    ph: A,
    h_x: A,
    hph: A,
    hpc: A,
    innovation: A,
    variance: Any,
    weight: A,
    consider: tuple[int, A, Any] | None = None,
) -> _Filter:
    """Sequential scalar update ``y = h dx + h_c c + noise`` with weight 0 or 1 per lane (``P h`` and
    ``h P_xc`` given); ``consider`` = (beam, h_c (B,), P_cc's row (B, NB)) where the row sees that beam's
    terrain offset (navigation.scalar_update, Schmidt's consider update)."""
    s = _innovation_variance(hph, variance, hpc, consider)
    g, c_row = ph, hpc
    if consider is not None:
        k, coeff, cov_row = consider
        g = ph + _c(coeff) * f.cross[:, :, k]
        c_row = hpc + _c(coeff) * cov_row
    y = innovation - h_x
    w = weight / s
    return replace(
        f,
        cov=f.cov - w[:, None, None] * (g[:, :, None] * g[:, None, :]),
        cross=f.cross - w[:, None, None] * (g[:, :, None] * c_row[:, None, :]),
        x=f.x + _c(w * y) * g,
        nis_sum=f.nis_sum + weight * y * y / s,
        nis_count=f.nis_count + (weight > 0).astype(np.int32),
    )


def _position_update(f: _Filter, d: A, innovation: A, variance: Any, weight: A) -> _Filter:
    """Scalar update with a row ``d`` (B, 3) on position; ``innovation`` measured minus predicted."""
    ph = _mv(f.cov[:, :, 0:3], d)
    hpc = _hpc(f, (slice(0, 3), d))
    return _update(f, ph, _dot(d, f.x[:, 0:3]), _dot(d, ph[:, 0:3]), hpc, innovation, variance, weight)


def _propagate(cov: A, cross: A, prm: Any, c_est: A, f_site: A, grad: A, dt: A) -> tuple[A, A]:
    """Covariance and cross-covariance with the terrain offsets over ``dt`` (B,) with specific force
    ``f_site``, estimated attitude ``c_est`` and gravity gradient ``grad`` (B, 3, 3)."""
    nav, imu = prm.navigation, prm.imu
    f_z = np.einsum("bi,bi->b", c_est[:, :, 2], f_site)  # body-z specific force, the thrust sensed
    a = np.concatenate(
        [-_skew(f_site) * F(_MILLI), -c_est * F(_MILLI), -c_est * (f_z * F(_PPM))[:, None, None]], axis=2
    )  # (B, 3, 9): d(dv)/d(eps, db, dk)
    bg = -c_est * F(_GYRO_TO_ATT)  # d(eps)/d(db_g)
    d, half = dt[:, None, None], (F(0.5) * dt * dt)[:, None, None]
    acc = cov[:, 6:15]
    dv_rows = a @ acc + grad @ cov[:, 0:3]
    m = np.concatenate(
        [cov[:, 0:3] + d * cov[:, 3:6] + half * dv_rows, cov[:, 3:6] + d * dv_rows,
         cov[:, 6:9] + d * (bg @ cov[:, 15:18]), cov[:, 9:18]], axis=1
    )  # fmt: skip
    dv_cols = m[:, :, 6:15] @ np.swapaxes(a, 1, 2) + m[:, :, 0:3] @ np.swapaxes(grad, 1, 2)
    cov = np.concatenate(
        [m[:, :, 0:3] + d * m[:, :, 3:6] + half * dv_cols, m[:, :, 3:6] + d * dv_cols,
         m[:, :, 6:9] + d * (m[:, :, 15:18] @ np.swapaxes(bg, 1, 2)), m[:, :, 9:18]], axis=2
    )  # fmt: skip
    q_acc = imu.velocity_random_walk_mps_per_sqrt_s**2 + nav.process_accel_sigma_mps2**2
    arw = imu.gyro_angle_random_walk_deg_per_sqrt_h * _DEG_PER_SQRT_H_TO_RAD_PER_SQRT_S
    q_att = arw**2 * dt / (_MILLI * _MILLI)
    i3 = np.arange(3)
    cov[:, i3, i3] += _c(q_acc * dt**3 / 3.0)
    cov[:, i3, i3 + 3] += _c(q_acc * dt**2 / 2.0)
    cov[:, i3 + 3, i3] += _c(q_acc * dt**2 / 2.0)
    cov[:, i3 + 3, i3 + 3] += _c(q_acc * dt)
    cov[:, i3 + 6, i3 + 6] += _c(q_att)
    dv_x = a @ cross[:, 6:15] + grad @ cross[:, 0:3]
    cross = np.concatenate(
        [cross[:, 0:3] + d * cross[:, 3:6] + half * dv_x, cross[:, 3:6] + d * dv_x,
         cross[:, 6:9] + d * (bg @ cross[:, 15:18]), cross[:, 9:18]], axis=1
    )  # fmt: skip
    return F(0.5) * (cov + np.swapaxes(cov, 1, 2)), cross


class _Guard(NamedTuple):
    """The altimeter's rejection guard: consecutive and total rejections, declared failed."""

    consecutive: A
    rejections: A
    failed: A


def _predicted_beam(prm: Any, p_est: A, v_est: A, u_est: A, h_est: A) -> Any:
    """The beam as the filter predicts it: cast against the onboard map from the estimate, or, where the
    estimate lies at or below the map (``h_est <= 0``: no cast from there meets ground), the range row's
    level-ground model ``h_est / (-u . up)`` continued below the surface; at the reading's time of
    validity (``engine._predicted_ranges``)."""
    alt, r = prm.altimeter, prm.body.radius_m
    seen = tt.beam(
        alt, tt.map_surface(prm.terrain), p_est, v_est, u_est, r, PREDICTION_REACH * alt.max_range_m
    )
    below = h_est <= 0
    up_est = _up(p_est, r)
    descent = -_dot(u_est, up_est)
    level = h_est / np.maximum(descent, F(tt.MIN_DESCENT))
    # At the reading's time of validity, latency_s earlier: r - latency dr/dt (engine._predicted_ranges).
    level_rate = _dot(v_est, up_est) / np.maximum(descent, F(tt.MIN_DESCENT))
    rate = np.where(below, level_rate, seen.rate_mps)
    return seen._replace(
        range_m=(np.where(below, level, seen.range_m) - alt.latency_s * rate).astype(F),
        up=np.where(below[:, None], up_est, seen.up).astype(F),
        slope_tan=np.where(below, F(0), seen.slope_tan).astype(F),
        ok=np.where(below, descent > F(tt.MIN_DESCENT), seen.ok),
    )


def _beam_updates(
    prm: Any,
    f: _Filter,
    guard: _Guard,
    c_est: A,
    p_est: A,
    v_est: A,
    h_est: A,
    valid: A,
    reading: A,
    doppler: A,
) -> tuple[_Filter, _Guard, A]:
    """Each beam as navigation believes it points (``c_est``), predicted from the estimate
    (``_predicted_beam``): its slant range, gated (rows on position ``n / cos i`` and attitude
    ``r / cos i (u x n)``), then the line-of-sight velocity of every beam while the instrument is trusted
    (rows ``u`` on velocity, ``u x v`` on attitude). Returns (filter, guard, rejected (B,))."""
    alt, nav = prm.altimeter, prm.navigation
    consecutive, rejections, failed = guard
    rejected = np.zeros(p_est.shape[0], bool)
    predicted = []
    for k, d in enumerate(tt.beam_directions_body(alt)):
        u_est = _mv(c_est, np.broadcast_to(d, p_est.shape))
        seen = _predicted_beam(prm, p_est, v_est, u_est, h_est)
        predicted.append((u_est, seen))
        usable = valid[:, k] & seen.ok & (alt.beam_ranges[k] > 0) & ~failed
        # The beams' terrain offsets are one field at their spots: the offset at the new spot is kriged
        # from those at the current ones (navigation._move_spot).
        spot = p_est + _c(seen.range_m) * u_est
        length = np.maximum(nav.offset_correlation_m, F(1e-3))
        big_k = _spot_correlation(f.spot[:, :, None, :], f.spot[:, None, :, :], length)
        n_beams = f.spot.shape[1]
        big_k = np.where(np.eye(n_beams, dtype=bool), F(1 + _NUGGET), big_k)
        weights = np.linalg.solve(big_k, _spot_correlation(spot[:, None, :], f.spot, length)[..., None])[
            ..., 0
        ]
        weights = np.where(_c(usable), weights, np.eye(n_beams, dtype=F)[k]).astype(F)
        cross = f.cross.copy()
        cross[:, :, k] = np.einsum("bij,bj->bi", f.cross, weights)
        spots = f.spot.copy()
        spots[:, k] = np.where(_c(usable), spot, f.spot[:, k])
        f = replace(f, cross=cross, spot=spots)
        correlation = _spot_correlation(spots[:, k][:, None, :], spots, length)
        correlation[:, k] = F(1 + _NUGGET)
        # Rows for level ground (the metre-scale slope enters the noise with the horizontal uncertainty).
        inv = F(1) / np.maximum(-_dot(u_est, seen.up), F(0.05))
        h_pos = seen.up * _c(inv)
        h_att = _cross(u_est, seen.up) * _c(seen.range_m * inv * F(_MILLI))
        ph = _mv(f.cov[:, :, 0:3], h_pos) + _mv(f.cov[:, :, 6:9], h_att)
        h_x = _dot(h_pos, f.x[:, 0:3]) + _dot(h_att, f.x[:, 6:9])
        hph = _dot(h_pos, ph[:, 0:3]) + _dot(h_att, ph[:, 6:9])
        hpc = _hpc(f, (slice(0, 3), h_pos), (slice(6, 9), h_att))
        sigma_c = nav.terrain_offset_scale * nav.offset_sigma_m
        consider = (k, inv, _c(sigma_c * sigma_c) * correlation)
        sigma = alt.noise_floor_m + alt.noise_fraction * np.abs(reading[:, k])
        p_pos = f.cov[:, 0:3, 0:3]
        trace = p_pos[:, 0, 0] + p_pos[:, 1, 1] + p_pos[:, 2, 2]
        horizontal = np.maximum(F(0.5) * (trace - _dot(seen.up, _mv(p_pos, seen.up))), F(0))
        excess = np.maximum(
            seen.slope_tan**2 * horizontal - sigma_c * sigma_c, F(0)
        )  # navigation.range_update
        variance = sigma**2 + (nav.assumed_map_sigma_m * inv) ** 2 + inv**2 * excess
        y = reading[:, k] - seen.range_m
        gate = np.maximum(
            nav.gate_sigma * np.sqrt(_innovation_variance(hph, variance, hpc, consider)), nav.gate_floor_m
        )
        accepted = usable & (np.abs(y - h_x) <= gate)
        rejected_k = usable & ~accepted
        f = _update(f, ph, h_x, hph, hpc, y, variance, accepted.astype(F), consider)
        consecutive = np.where(rejected_k, consecutive + 1, np.where(accepted, 0, consecutive)).astype(
            np.int32
        )
        rejections = rejections + rejected_k.astype(np.int32)
        limit = nav.max_consecutive_rejections
        failed = failed | ((limit > 0) & (consecutive.astype(F) >= limit))
        rejected |= rejected_k
    trusted = (alt.velocity_channel > 0) & ~failed
    var = np.maximum(alt.velocity_noise_mps, F(1e-4)) ** 2
    for k, (u_est, seen) in enumerate(predicted):
        weight = (valid[:, k] & seen.ok & trusted).astype(F) * alt.beam_velocities[k]
        h_att = _cross(u_est, v_est) * F(_MILLI)
        ph = _mv(f.cov[:, :, 3:6], u_est) + _mv(f.cov[:, :, 6:9], h_att)
        h_x = _dot(u_est, f.x[:, 3:6]) + _dot(h_att, f.x[:, 6:9])
        hph = _dot(u_est, ph[:, 3:6]) + _dot(h_att, ph[:, 6:9])
        hpc = _hpc(f, (slice(3, 6), u_est), (slice(6, 9), h_att))
        f = _update(f, ph, h_x, hph, hpc, doppler[:, k] - _dot(u_est, v_est), var, weight)
    return f, _Guard(consecutive, rejections, failed), rejected


def _initial_covariance(nav: Any, b: int, axes: A) -> A:
    """``navigation.initial_covariance``: the position and velocity blocks ``A^T diag(sigma^2) A`` with
    ``axes`` (3, 3) rows along-track, crossrange and up at PDI."""
    h, vh = nav.assumed_horizontal_position_sigma_m, nav.assumed_horizontal_velocity_sigma_mps
    att = np.deg2rad(nav.assumed_attitude_sigma_deg) / _MILLI
    bias = nav.assumed_accel_bias_sigma_mps2 / _MILLI
    mis = np.deg2rad(nav.assumed_accel_misalignment_deg) / _PPM

    def column(x: Any) -> A:
        return (np.zeros(b, F) + F(0) + x).astype(F)

    def rotated(sig: list[Any]) -> A:
        s2 = np.stack([column(x) for x in sig], axis=-1) ** 2  # (B, 3)
        return np.einsum("ki,bk,kj->bij", axes, s2, axes).astype(F)

    cov = np.zeros((b, _DIM, _DIM), F)
    cov[:, 0:3, 0:3] = rotated([h, h, nav.assumed_altitude_sigma_m])
    cov[:, 3:6, 3:6] = rotated([vh, vh, nav.assumed_vertical_velocity_sigma_mps])
    sigmas = (
        [att] * 3
        + [bias] * 3
        + [mis, mis, nav.assumed_accel_scale_factor_ppm]
        + [nav.assumed_gyro_bias_dph] * 3
    )
    rest = np.stack([column(x) for x in sigmas], axis=-1)
    cov[:, np.arange(6, _DIM), np.arange(6, _DIM)] = rest * rest
    return cov


# --------------------------------------------------------------------------------------------- guidance
def _high_gate(g: Any, r: Any) -> tuple[A, A, A]:
    p, up, along = _point_at(g.high_gate_range_m, g.high_gate_altitude_m, r)
    v = _c(g.high_gate_horizontal_speed_mps) * along + _c(g.high_gate_vertical_speed_mps) * up
    a = _c(g.high_gate_horizontal_accel_mps2) * along + _c(g.high_gate_vertical_accel_mps2) * up
    return p, v, a


def _low_gate(g: Any) -> tuple[A, A, A]:
    return _vec(0.0, 0.0, g.low_gate_altitude_m), _vec(0.0, 0.0, g.low_gate_vertical_speed_mps), _vec(0, 0, 0)


def _jerk(r: A, v: A, r_t: A, v_t: A, a_t: A, t: Any) -> A:
    """Downrange jerk at the target of the quadratic profile from (r, v) over ``t``."""
    return (F(6) * a_t[..., 0] * t * t - (F(18) * v_t[..., 0] + F(6) * v[..., 0]) * t
            - F(24) * (r[..., 0] - r_t[..., 0])) / (t * t * t)  # fmt: skip


def _profile(jerk: A, r: A, v: A, target: tuple[A, A, A], guess: A) -> tuple[A, A]:
    """(time-to-go by Newton on the jerk condition, the quadratic profile's total acceleration)."""
    r_t, v_t, a_t = target
    guess = np.maximum(guess, F(_MIN_TIME_TO_GO_S))
    c3, c2 = jerk, F(-6) * a_t[..., 0]
    c1 = F(18) * v_t[..., 0] + F(6) * v[..., 0]
    c0 = F(24) * (r[..., 0] - r_t[..., 0])
    t = np.maximum(guess, F(_MIN_TIME_TO_GO_S))
    for _ in range(_NEWTON_ITERATIONS):
        f = ((c3 * t + c2) * t + c1) * t + c0
        df = (F(3) * c3 * t + F(2) * c2) * t + c1
        t = t - f / np.where(np.abs(df) > 1e-6, df, F(1e-6))
    near = t <= F(_FAR_ROOT_FACTOR) * guess + F(_FAR_ROOT_SLACK_S)  # the other branch of the cubic: rejected
    t = np.maximum(np.where(np.isfinite(t) & (t > 0) & near, t, guess), F(_MIN_TIME_TO_GO_S))
    tc = _c(t)
    return t, F(12) * (r_t - r) / tc**2 - F(6) * (v_t + v) / tc + a_t


def _terminal(g: Any, r: A, v: A, up: A, height: A, g_mag: A) -> A:
    r_h = r - _c(_dot(r, up)) * up
    v_ref_h = -_c(g.terminal_position_gain_per_s) * r_h
    scale = np.minimum(F(1), g.terminal_max_horizontal_speed_mps / np.maximum(_norm(v_ref_h), F(1e-6)))
    v_ref_h = v_ref_h * _c(scale)
    scheduled = np.clip(
        height / g.terminal_time_constant_s, g.terminal_descent_rate_mps, g.terminal_max_sink_mps
    )
    v_h = _norm(v - _c(_dot(v, up)) * up)
    limit = np.maximum(g.terminal_max_horizontal_speed_mps, F(0.1))
    sink = scheduled * np.clip((F(2) * limit - v_h) / limit, F(0), F(1))
    # guidance.descend_while_braking
    null_s = v_h / np.maximum(g_mag * np.tan(np.deg2rad(g.terminal_max_tilt_deg)), F(1e-6))
    braking_sink = np.maximum(height - g.low_gate_altitude_m, F(0)) / np.maximum(null_s, F(1e-3))
    sink = np.maximum(sink, np.minimum(scheduled, braking_sink))
    return _c(g.terminal_velocity_gain_per_s) * (v_ref_h - _c(sink) * up - v)


def _guidance(g: Any, r_m: Any, s: TwinState, p: A, v: A, g_est: A, up: A, max_accel: A) -> tuple[A, A, A]:
    """One guidance cycle on the estimate: (phase, time-to-go, total acceleration command)."""
    height = _height(p, r_m)
    braking = s.phase == _BRAKING
    t_b, poly_b = _profile(s.jerk_braking, p, v, _high_gate(g, r_m), s.t_go - g.guidance_period_s)
    t_a, poly_a = _profile(s.jerk_approach, p, v, _low_gate(g),
                           np.where(braking, g.approach_time_s, s.t_go - g.guidance_period_s))  # fmt: skip
    fits_b = _norm(poly_b - g_est) <= max_accel
    fits_a = _norm(poly_a - g_est) <= max_accel
    to_approach = braking & (
        (t_b <= _MIN_TIME_TO_GO_S) | (height <= g.high_gate_altitude_m) | (~fits_b & fits_a)
    )
    rate = -g.low_gate_vertical_speed_mps  # guidance.vertical_arrived
    v_up = _dot(v, up)
    v_h = _norm(v - _c(v_up) * up)
    null_s = v_h / np.maximum(_norm(g_est) * np.tan(np.deg2rad(g.terminal_max_tilt_deg)), F(1e-6))
    ahead = height - g.low_gate_altitude_m <= F(0.5) * rate * t_a
    arrived = (v_up >= -rate) & ahead & (null_s <= t_a)
    to_terminal = (s.phase == _APPROACH) & (
        (t_a <= _MIN_TIME_TO_GO_S) | (height <= g.low_gate_altitude_m) | arrived
    )
    phase = np.where(to_approach, _APPROACH, np.where(to_terminal, _TERMINAL, s.phase)).astype(np.int32)
    t_go = np.where(phase == _BRAKING, t_b, np.where(phase == _APPROACH, t_a, F(0))).astype(F)
    term = _terminal(g, p, v, up, height, _norm(g_est))
    accel = np.where(_c(phase == _BRAKING), poly_b, np.where(_c(phase == _APPROACH), poly_a, term))
    return phase, t_go, accel


def _leg(hyp: A, side: A) -> A:
    """``sqrt(hyp^2 - side^2)`` (0 where negative) as ``sqrt((hyp - |side|)(hyp + |side|))``, as the engine."""
    a = np.abs(side)
    return np.sqrt(np.maximum((hyp - a) * (hyp + a), F(0)))


def _saturate(g: Any, phase: A, a_cmd: A, g_est: A, v: A, up: A, r_m: Any, h_map: A, dist: A,
              a_max: A, a_min: A) -> tuple[A, A]:  # fmt: skip
    """``guidance.limit_thrust``: no dive, stopping guard over the glide slope, horizontal within the tilt
    limit, then the rest of the vertical; returns (thrust acceleration, direction)."""
    a_th = a_cmd - g_est
    a_v = _dot(a_th, up)
    a_h = a_th - _c(a_v) * up
    g_loc = -_dot(g_est, up)
    v_z = _dot(v, up)
    v_h2 = np.maximum(_dot(v, v) - v_z * v_z, F(0))
    g_eff = g_loc - v_h2 / (r_m + np.maximum(h_map, F(0)))
    gate = np.maximum(g.low_gate_altitude_m, F(1))  # guidance.above_low_gate, max_tilt_rad
    blend = np.clip((h_map - gate) / gate, F(0), F(1))
    terminal = g.terminal_max_tilt_deg + blend * np.maximum(
        g.approach_max_tilt_deg - g.terminal_max_tilt_deg, F(0)
    )
    tilt_deg = np.where(phase == _BRAKING, g.braking_max_tilt_deg,
                        np.where(phase == _APPROACH, g.approach_max_tilt_deg, terminal))  # fmt: skip
    tan_tilt = np.tan(np.deg2rad(tilt_deg.astype(F)))
    sink = -v_z
    arrest = np.maximum(a_max - g_loc, F(1e-3))
    glide = np.where(phase == _BRAKING, F(0), np.tan(np.deg2rad(g.min_glide_slope_deg))).astype(F)
    sliding = v_h2 / (F(2) * np.maximum(g_loc * np.tan(np.deg2rad(g.terminal_max_tilt_deg)), F(1e-6)))
    usable = np.maximum(h_map - glide * np.where(phase == _TERMINAL, sliding, dist), F(0))
    floor_rate = g.terminal_descent_rate_mps + F(TOUCHDOWN_RATE_TOLERANCE_MPS)
    ceiling2 = F(2) * arrest * usable / g.stopping_margin + floor_rate**2
    guard = (sink > 0) & (sink * sink > ceiling2)
    a_v_safe = np.clip(
        np.where(guard, a_max, np.maximum(g_eff - g.max_descent_accel_mps2, F(0))), F(0), a_max
    )
    h_mag = _norm(a_h)
    h_want = np.minimum(h_mag, _leg(a_max, a_v_safe))
    excess_sink = np.maximum(sink - F(SINK_ARREST_FRACTION) * blend * np.sqrt(ceiling2), F(0))
    lift_cap = np.maximum(g_loc + excess_sink / F(_TILT_SINK_ARREST_S), a_v_safe)
    a_v_tilt = np.minimum(h_want / tan_tilt, lift_cap)
    v_room = _leg(a_max, h_want)
    a_v = np.clip(np.maximum(np.maximum(a_v_safe, a_v_tilt), np.minimum(a_v, v_room)), F(0), a_max)
    h_allowed = np.minimum(_leg(a_max, a_v), a_v * tan_tilt)
    a_h = a_h * _c(np.minimum(F(1), h_allowed / np.maximum(h_mag, F(1e-9))))
    a_th = _c(a_v) * up + a_h
    mag = _norm(a_th)
    direction = np.where(_c(mag > 1e-9), a_th / _c(np.maximum(mag, F(1e-9))), up)
    return np.maximum(mag, a_min), direction


# --------------------------------------------------------------------------------------------- vehicle
def _throttle_setting(force: A, veh: Any) -> A:
    cmd = np.clip(force / veh.max_thrust_n, veh.min_throttle, F(1))
    lo, hi = veh.throttle_band_low, veh.throttle_band_high
    in_band = (hi > lo) & (cmd > lo) & (cmd < hi)
    cmd = np.where(in_band, np.where(cmd >= F(0.5) * (lo + hi), hi, lo), cmd)
    n = veh.throttle_levels
    step = (F(1) - veh.min_throttle) / np.maximum(n - F(1), F(1))
    quantised = veh.min_throttle + np.round((cmd - veh.min_throttle) / step) * step
    return np.where(n >= 2, quantised, cmd).astype(F)


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

    step: A  # (B,) int32, time in units of dt_s
    integration_steps: A  # (B,) int32, steps taken while not done
    p: A  # (B, 3) true position, site frame
    v: A
    prop: A
    q: A  # (B, 4) true body-to-site quaternion (w, x, y, z)
    throttle: A  # delivered throttle
    p_est: A
    v_est: A
    knowledge: A  # (B, 3) attitude-knowledge error, body axes, rad: C_est = C (I + [e x])
    cov: A  # (B, 18, 18) filter covariance
    cross: A  # (B, 18, NB) its cross-covariance with the beams' terrain offsets
    spot: A  # (B, NB, 3) each beam's spot at its last reading
    bias_est: A  # (B, 3) accelerometer bias navigation subtracts, body axes
    thrust_error_est: A  # (B, 3) thrust-proportional accelerometer error it subtracts, ppm, body axes
    gyro_est: A  # (B, 3) gyro bias it subtracts, deg/h, body axes
    consecutive: A  # int32
    rejections: A  # int32
    failed: A  # bool
    nis_sum: A
    nis_count: A  # int32
    pending_dt: A  # time since the covariance was last propagated
    pending_dv: A  # (B, 3) integral of the estimated specific force over it
    phase: A  # int32 guidance phase
    t_go: A
    jerk_braking: A  # downrange jerk targets, planned preflight
    jerk_approach: A
    cmd_dir: A
    cmd_throttle: A
    h_true: A  # heights at the current positions (true above terrain, estimated above the map)
    h_grad: A
    h_est: A
    h_map_grad: A
    t_in_range: A
    ran_dry: A
    done: A
    td_p: A  # touchdown record (interpolated at contact, frozen once done)
    td_v: A
    td_t: A
    td_prop: A
    td_h_est: A
    td_axis: A
    td_ran_dry: A
    td_contact: A
    events: A  # (B, n_events, 5)


def initial_state(inp: Inputs) -> TwinState:
    """``riskengine.core.engine.init`` for B samples."""
    if np.any(np.asarray(inp.params.hazard_detection.scan_height_m) > 0.0):
        raise ValueError(
            "field 'hazard_detection.scan_height_m' > 0: the NumPy twin does not model hazard detection "
            "(riskengine.core.hazard_avoidance); compare the engine against it with the scan off (0)"
        )
    prm, b = inp.params, inp.seed.shape[0]
    g, nav, veh, r = prm.guidance, prm.navigation, prm.vehicle, prm.body.radius_m
    p0, up0, along0 = _point_at(g.pdi_range_m, g.pdi_altitude_m, r)
    gamma = np.deg2rad(g.pdi_flight_path_deg)
    v0 = _c(g.pdi_speed_mps) * (_c(np.cos(gamma)) * along0 + _c(np.sin(gamma)) * up0)
    p_est = (p0 + _c(nav.initial_downrange_error_m) * along0 + _c(nav.initial_crossrange_error_m) * _E_Y
             + _c(nav.initial_altitude_error_m) * up0)  # fmt: skip
    v_est = (v0 + _c(nav.initial_horizontal_velocity_error_mps) * along0
             + _c(nav.initial_crossrange_velocity_error_mps) * _E_Y
             + _c(nav.initial_vertical_velocity_error_mps) * up0)  # fmt: skip
    p0, v0, p_est, v_est = (np.broadcast_to(x, (b, 3)).astype(F) for x in (p0, v0, p_est, v_est))
    zeros_b = np.zeros(b, F)
    prop = zeros_b + veh.propellant_kg
    h_true, h_grad, h_est, h_map_grad = _heights(prm, p0, p_est)
    events = np.full((b, len(EVENTS), 5), np.nan, F)
    events[:, Event.POWERED_DESCENT_START] = np.stack(
        [zeros_b, h_true, h_est, _dot(v0, _up(p0, r)), prop], -1
    )
    retro = -v0 / _c(_norm(v0))
    ez = np.broadcast_to(_E_Z, (b, 3))
    q0 = _unit(_quat(F(1) + _dot(ez, retro), _cross(ez, retro)))  # smallest rotation taking body z to retro
    knowledge = np.deg2rad(_vec(nav.initial_attitude_error_x_deg, nav.initial_attitude_error_y_deg,
                                nav.initial_attitude_error_z_deg))  # fmt: skip
    hg = _high_gate(g, r)
    lg = _low_gate(g)
    ints, bools = np.zeros(b, np.int32), np.zeros(b, bool)
    n_beams = prm.altimeter.beam_directions.shape[0]
    return TwinState(
        step=ints, integration_steps=ints, p=p0, v=v0, prop=prop, q=q0, throttle=zeros_b + veh.min_throttle,
        p_est=p_est, v_est=v_est, knowledge=np.broadcast_to(knowledge, (b, 3)).astype(F),
        cov=_initial_covariance(nav, b, np.stack([along0, _E_Y, up0]).astype(F)),
        cross=np.zeros((b, _DIM, n_beams), F), spot=np.full((b, n_beams, 3), np.inf, F),
        bias_est=np.zeros((b, 3), F), thrust_error_est=np.zeros((b, 3), F), gyro_est=np.zeros((b, 3), F),
        consecutive=ints, rejections=ints,
        failed=bools, nis_sum=zeros_b, nis_count=ints, pending_dt=zeros_b, pending_dv=np.zeros((b, 3), F),
        phase=ints + _BRAKING, t_go=zeros_b + g.braking_time_s,
        jerk_braking=zeros_b + _jerk(p0, v0, *hg, g.braking_time_s),
        jerk_approach=zeros_b + _jerk(hg[0], hg[1], *lg, g.approach_time_s),
        cmd_dir=retro, cmd_throttle=zeros_b + veh.min_throttle,
        h_true=h_true, h_grad=h_grad, h_est=h_est, h_map_grad=h_map_grad,
        t_in_range=np.full(b, np.inf, F), ran_dry=bools, done=bools,
        td_p=p0, td_v=v0, td_t=zeros_b, td_prop=prop, td_h_est=h_est, td_axis=retro, td_ran_dry=bools,
        td_contact=bools, events=events,
    )  # fmt: skip


def state_from_engine(state: Any, like: TwinState) -> TwinState:
    """The engine's ``State`` of one sample as a batch of one (``like`` gives the twin-only layout), so a
    twin step can start from exactly where the engine is (tests/bench: one step each, compared)."""

    def one(x: Any) -> A:
        return np.asarray(x)[None]

    nav, gs, h, td = state.nav, state.guidance, state.heights, state.touchdown
    return replace(
        like, step=one(state.step), integration_steps=one(state.integration_steps), p=one(state.position_m),
        v=one(state.velocity_mps), prop=one(state.propellant_kg), q=one(state.attitude), throttle=one(state.throttle),
        p_est=one(state.est_position_m), v_est=one(state.est_velocity_mps),
        knowledge=one(state.attitude_knowledge_error_rad), cov=one(nav.cov), cross=one(nav.cross_cov),
        spot=one(nav.offset_spot_m), bias_est=one(nav.bias_est_mps2),
        thrust_error_est=one(nav.thrust_error_est_ppm), gyro_est=one(nav.gyro_bias_est_dph),
        consecutive=one(nav.consecutive_rejections), rejections=one(nav.total_rejections), failed=one(nav.failed),
        nis_sum=one(nav.nis_sum), nis_count=one(nav.nis_count), pending_dt=one(nav.pending_dt_s),
        pending_dv=one(nav.pending_velocity_mps), phase=one(gs.phase), t_go=one(gs.t_go_s),
        jerk_braking=one(gs.braking_jerk_mps3), jerk_approach=one(gs.approach_jerk_mps3), cmd_dir=one(state.cmd_dir),
        cmd_throttle=one(state.cmd_throttle), h_true=one(h.true_m), h_grad=one(h.terrain_gradient),
        h_est=one(h.estimated_m), h_map_grad=one(h.map_gradient), t_in_range=one(state.t_in_range_s),
        ran_dry=one(state.ran_dry), done=one(state.done), td_p=one(td.position_m), td_v=one(td.velocity_mps),
        td_t=one(td.t_s), td_prop=one(td.propellant_kg), td_h_est=one(td.estimated_height_m),
        td_axis=one(td.thrust_axis), td_ran_dry=one(td.ran_dry), td_contact=one(td.contact),
        events=np.asarray(state.events.table(), F)[None],
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------- step
def step(prm: Any, s: TwinState, seed: A) -> TwinState:
    """``riskengine.core.engine.step`` for B trajectories at once."""
    body, veh, alt, nav, imu, g = prm.body, prm.vehicle, prm.altimeter, prm.navigation, prm.imu, prm.guidance
    dt, r = prm.sim.dt_s, body.radius_m
    t = s.step.astype(F) * dt
    u = uniforms(seed, s.step, _BEAMS_AT + 3 * prm.altimeter.beam_directions.shape[0])
    n_guidance = _period_steps(g.guidance_period_s, dt)
    flying = ~s.done
    c_true = _dcm(s.q)
    c_est = c_true + c_true @ _skew(s.knowledge)

    # Sensing: the truth through the instruments' error models (beams cast on reading steps, in reach).
    up = _up(s.p, r)
    n_beams = alt.beam_directions.shape[0]
    on_time = s.step % _period_steps(alt.period_s, dt) == 0
    could = on_time & (_height(s.p, r) - prm.terrain.truth.max_height_m <= alt.max_range_m) & flying
    ok = np.zeros((len(t), n_beams), bool)
    reading, doppler = np.zeros((len(t), n_beams), F), np.zeros((len(t), n_beams), F)
    if could.any():
        for k, d in enumerate(tt.beam_directions_body(alt)):
            u_true = _mv(c_true, np.broadcast_to(d, s.p.shape))
            seen = tt.beam(alt, tt.truth_surface(prm.terrain), s.p, s.v, u_true, r)
            delayed = seen.range_m - alt.latency_s * seen.rate_mps
            noise = _gaussian(u[:, _BEAMS_AT + k])
            ok[:, k] = seen.ok & could
            reading[:, k] = delayed + (alt.noise_floor_m + alt.noise_fraction * np.abs(delayed)) * noise
            doppler[:, k] = _dot(u_true, s.v) + alt.velocity_noise_mps * _centred(
                u[:, _BEAMS_AT + 2 * n_beams + k]
            )
    in_range = ok.any(axis=1)
    t_in_range = np.where(in_range & np.isinf(s.t_in_range), t, s.t_in_range).astype(F)
    kept = u[:, _BEAMS_AT + n_beams : _BEAMS_AT + 2 * n_beams] >= _c(alt.dropout_prob)
    valid = ok & _c(t >= t_in_range + alt.acquisition_delay_s) & kept
    trn_on = ((nav.trn_sigma_m > 0) & (s.h_true >= nav.trn_min_altitude_m) & (s.h_true <= nav.trn_max_altitude_m)
              & (s.step % _period_steps(nav.trn_period_s, dt) == 0) & flying)  # fmt: skip
    up_est = _up(s.p_est, r)
    along_est = _along(up_est)
    e_y = np.broadcast_to(_E_Y, along_est.shape)
    trn_noise = _c(nav.trn_sigma_m) * _centred(u[:, _TRN])
    trn_measured = np.stack([_dot(along_est, s.p), s.p[:, 1]], -1) + trn_noise

    # Navigation: each beam's range (gated), then the Doppler of the beams still trusted, position fix,
    # injection.
    f = _Filter(s.cov, np.zeros((s.cov.shape[0], _DIM), F), s.nis_sum, s.nis_count, s.cross, s.spot)
    guard = _Guard(s.consecutive, s.rejections, s.failed)
    rejected = np.zeros(len(t), bool)
    if (valid.any(axis=1) & ~s.failed).any():
        f, guard, rejected = _beam_updates(
            prm, f, guard, c_est, s.p_est, s.v_est, s.h_est, valid, reading, doppler
        )
    consecutive, rejections, failed = guard
    if trn_on.any():
        var = np.maximum(nav.trn_sigma_m, F(1e-3)) ** 2
        for i, d in enumerate((along_est, e_y)):
            innovation = trn_measured[:, i] - _dot(d, s.p_est)
            f = _position_update(f, d, innovation, var, trn_on.astype(F))
    x = f.x
    p_est = s.p_est + x[:, 0:3]
    v_est = s.v_est + x[:, 3:6]
    knowledge = s.knowledge + _mtv(c_true, x[:, 6:9] * F(_MILLI))
    bias_est = s.bias_est + x[:, 9:12] * F(_MILLI)
    thrust_error_est = s.thrust_error_est + x[:, 12:15]
    gyro_est = s.gyro_est + x[:, 15:18]

    # Guidance on the estimate every guidance period, held in between.
    mass = veh.dry_mass_kg + s.prop
    on_guidance = (s.step % n_guidance == 0) & flying
    phase, t_go, cmd_throttle, cmd_dir = s.phase, s.t_go, s.cmd_throttle, s.cmd_dir
    if on_guidance.any():
        g_est = _gravity(p_est, body)
        a_max = veh.max_thrust_n / mass
        up_g = _up(p_est, r)
        new_phase, new_t_go, a_cmd = _guidance(g, r, s, p_est, v_est, g_est, up_g, a_max)
        dist = np.hypot(_downrange(p_est, r), p_est[:, 1])
        accel, direction = _saturate(g, new_phase, a_cmd, g_est, v_est, up_g, r, s.h_est, dist, a_max,
                                     veh.min_throttle * a_max)  # fmt: skip
        phase = np.where(on_guidance, new_phase, phase)
        t_go = np.where(on_guidance, new_t_go, t_go)
        cmd_throttle = np.where(on_guidance, _throttle_setting(mass * accel, veh), cmd_throttle)
        cmd_dir = np.where(_c(on_guidance), direction, cmd_dir)

    # Actuation: slew the estimated thrust axis towards the command; throttle gated on pointing, lagged.
    cos_max = np.cos(np.minimum(np.deg2rad(veh.slew_rate_dps) * dt, F(np.pi)))
    q = _slew(s.q, _body_axis(c_true, knowledge[:, 1], -knowledge[:, 0]), cmd_dir, cos_max)
    c_before = c_true
    c_true = _dcm(q)
    # The estimate turns with the body (the gyros measure the slew): the knowledge error keeps its
    # site-frame direction (engine._actuate).
    knowledge = _mtv(c_true, _mv(c_before, knowledge))
    cos_err = _dot(_body_axis(c_true, knowledge[:, 1], -knowledge[:, 0]), cmd_dir)
    pointed = cos_err >= np.cos(np.deg2rad(g.attitude_gate_deg))
    commanded = np.where(pointed, np.maximum(cmd_throttle * cos_err, veh.min_throttle), veh.min_throttle)
    throttle = s.throttle + dt / (veh.throttle_time_constant_s + dt) * (commanded - s.throttle)
    thrust, mdot = _mass_flow(throttle, veh)
    burn = np.clip(s.prop / np.maximum(mdot * dt, F(1e-12)), F(0), F(1))
    line = _body_axis(c_true, np.deg2rad(veh.pointing_bias_y_deg), -np.deg2rad(veh.pointing_bias_x_deg))
    force = _c(thrust * burn) * line
    mdot = mdot * burn

    # Integration: truth, and the strapdown estimate from the accelerometer resolved by the estimated
    # attitude (scale factor and triad misalignment, bias less its estimate, white noise).
    def resolve_est(b_vec: A) -> A:
        return _mv(c_true, b_vec + _cross(knowledge, b_vec))

    f_body = _mtv(c_true, force)
    mis = _vec(np.deg2rad(imu.accel_misalignment_x_deg), np.deg2rad(imu.accel_misalignment_y_deg), 0.0)
    measured = _c(F(1) + imu.accel_scale_factor_ppm * F(_PPM)) * (
        f_body + _cross(np.broadcast_to(mis, f_body.shape), f_body)
    )
    force_est = resolve_est(measured)
    bias = _vec(imu.bias_x_mps2, imu.bias_y_mps2, imu.bias_z_mps2)
    white = _c(imu.velocity_random_walk_mps_per_sqrt_s / np.sqrt(dt)) * _centred(u[:, _IMU])
    # ... less navigation's estimates of the bias and of the thrust-proportional error (k f_z).
    compensation = thrust_error_est * _c(F(_PPM) * measured[:, 2] / mass)
    accel_error_est = resolve_est(bias - bias_est - compensation + white)
    p1, v1 = _rk4(s.p, s.v, mass, force, mdot, F(0), body, dt)
    p_est1, v_est1 = _rk4(p_est, v_est, mass, force_est, mdot, accel_error_est, body, dt)
    specific_est = force_est / _c(mass) + accel_error_est
    pending_dt = s.pending_dt + dt
    pending_dv = s.pending_dv + specific_est * dt
    cov, cross = f.cov, f.cross
    due = ((s.step + 1) % n_guidance == 0) & flying
    if due.any():
        c_est = c_true + c_true @ _skew(knowledge)
        mean_force = pending_dv / _c(np.maximum(pending_dt, F(1e-9)))
        cov_p, cross_p = _propagate(
            cov,
            cross,
            prm,
            c_est,
            mean_force,
            _gravity_gradient(p_est, body),
            np.where(due, pending_dt, F(0)),
        )
        cov = np.where(due[:, None, None], cov_p, cov)
        cross = np.where(due[:, None, None], cross_p, cross)
        pending_dt = np.where(due, F(0), pending_dt)
        pending_dv = np.where(_c(due), F(0), pending_dv)
    gyro_bias = (_vec(imu.gyro_bias_x_dph, imu.gyro_bias_y_dph, imu.gyro_bias_z_dph) - gyro_est) * F(
        _DPH_TO_RADPS
    )
    arw = imu.gyro_angle_random_walk_deg_per_sqrt_h * F(_DEG_PER_SQRT_H_TO_RAD_PER_SQRT_S)
    knowledge = knowledge + gyro_bias * dt + _c(arw * np.sqrt(dt)) * _centred(u[:, _GYRO])
    prop1 = np.maximum(s.prop - mdot * dt, F(0))

    # Ground contact, interpolated within the step; the touchdown record freezes once done.
    h_true1, h_grad1, h_est1, h_map_grad1 = _heights(prm, p1, p_est1)
    contact = h_true1 <= 0.0
    frac = np.clip(s.h_true / np.maximum(s.h_true - h_true1, F(1e-9)), F(0), F(1))
    frac = np.where(contact, frac, F(1)).astype(F)
    fc, dc = _c(frac), _c(s.done)
    td_prop = s.prop + frac * (prop1 - s.prop)
    td_p = np.where(dc, s.td_p, s.p + fc * (p1 - s.p))
    td_v = np.where(dc, s.td_v, s.v + fc * (v1 - s.v))
    td_t = np.where(s.done, s.td_t, t + frac * dt)
    td_h_est = np.where(s.done, s.td_h_est, s.h_est + frac * (h_est1 - s.h_est))
    td_axis = np.where(dc, s.td_axis, c_true[:, :, 2])
    td_ran_dry = np.where(s.done, s.td_ran_dry, s.ran_dry | (td_prop <= 0))
    td_contact = np.where(s.done, s.td_contact, contact)
    td_prop = np.where(s.done, s.td_prop, td_prop)
    step1 = s.step + 1
    timeout = step1.astype(F) * dt >= prm.sim.max_time_s

    # Events: each one's first occurrence, stamped with this step's start.
    row_now = np.stack([np.broadcast_to(t, s.h_true.shape), s.h_true, s.h_est, _dot(s.v, up), s.prop], -1)
    happened = np.zeros(s.events.shape[:2], bool)
    for event, flag in (
        (Event.ALTIMETER_IN_RANGE, in_range),
        (Event.ALTIMETER_FIRST_VALID, valid.any(axis=1)),
        (Event.ALTIMETER_REJECTED, rejected),
        (Event.ALTIMETER_DECLARED_FAILED, failed & ~s.failed),
        (Event.APPROACH_START, phase == _APPROACH),
        (Event.TERMINAL_DESCENT_START, phase == _TERMINAL),
    ):
        happened[:, event] = flag & flying
    happened[:, Event.PROPELLANT_EXHAUSTED] = s.ran_dry
    first = happened & np.isnan(s.events[:, :, 0])
    events = np.where(first[..., None], row_now[:, None, :], s.events).astype(F)

    return replace(
        s, step=step1, integration_steps=s.integration_steps + flying.astype(np.int32), p=p1, v=v1,
        prop=prop1, q=q, throttle=throttle.astype(F), p_est=p_est1, v_est=v_est1, knowledge=knowledge,
        cov=cov, cross=cross, spot=f.spot, bias_est=bias_est, thrust_error_est=thrust_error_est, gyro_est=gyro_est,
        consecutive=consecutive, rejections=rejections, failed=failed,
        nis_sum=f.nis_sum, nis_count=f.nis_count, pending_dt=pending_dt, pending_dv=pending_dv,
        phase=phase, t_go=t_go, cmd_dir=cmd_dir, cmd_throttle=cmd_throttle,
        h_true=h_true1, h_grad=h_grad1, h_est=h_est1, h_map_grad=h_map_grad1, t_in_range=t_in_range,
        ran_dry=s.ran_dry | ((prop1 <= 0) & flying), done=s.done | contact | timeout,
        td_p=td_p, td_v=td_v, td_t=td_t, td_prop=td_prop, td_h_est=td_h_est, td_axis=td_axis,
        td_ran_dry=td_ran_dry, td_contact=td_contact, events=events,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------- finish
@dataclass(frozen=True)
class TwinResult:
    """``riskengine.core.Result`` fields as numpy arrays (B,)."""

    outcome: A
    touchdown_mode: A
    touchdown_vertical_speed_mps: A
    touchdown_horizontal_speed_mps: A
    slope_deg: A
    tilt_deg: A
    propellant_remaining_kg: A
    miss_distance_m: A
    duration_s: A
    altimeter_rejections: A
    nis_count: A
    integration_steps: A
    events: A  # (B, n_events, 5)
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
) -> tuple[A, A]:
    """``core.touchdown.classify`` (the stability envelope and the modes' mapping to outcomes)."""
    downhill = _unit2(-grad, np.broadcast_to(np.array([1, 0], F), grad.shape))
    into = -(grad * v_h).sum(-1) - sink
    slide = _unit2(v_h + grad * (into / (F(1) + (grad * grad).sum(-1)))[:, None], downhill)
    static = np.arctan2(veh.footprint_radius_m, veh.cg_height_m) - (np.arctan(_norm2(grad)) + rock) <= 0
    dynamic = (
        _tips_about(veh, slide, v_h, sink, grad, rock, g)
        | _tips_about(veh, downhill, v_h, sink, grad, rock, g)
    ) & ~static
    m = TouchdownMode
    mode = np.full(sink.shape, m.SAFE, np.int32)
    mode = np.where(tilt > veh.max_slope_deg, m.AT_REST_BEYOND_OPERATIONAL_TILT, mode)
    mode = np.where(h_speed > veh.max_horizontal_speed_mps, m.OVER_HORIZONTAL_LIMIT, mode)
    mode = np.where(sink > veh.max_vertical_speed_mps, m.OVER_VERTICAL_LIMIT, mode)
    mode = np.where(dynamic, m.TIPPED_DYNAMIC, mode)
    mode = np.where(static, m.TIPPED_STATIC, mode)
    mode = np.where(np.hypot(sink, h_speed) > veh.crash_speed_mps, m.CRUSHED, mode)
    mode = np.where(ran_dry & (mode != m.SAFE), m.DRY_BEFORE_CONTACT, mode)
    mode = np.where(contacted, mode, m.NO_CONTACT).astype(np.int32)
    return np.array([MODE_OUTCOME[TouchdownMode(int(x))] for x in mode], dtype=np.int32), mode  # fmt: skip


def _norm2(v: A) -> A:
    return np.sqrt(v[:, 0] ** 2 + v[:, 1] ** 2)


def finish(prm: Any, inp: Inputs, s: TwinState) -> TwinResult:
    """``riskengine.core.engine.finish`` (outcome classification, ``core.touchdown``)."""
    veh, r = prm.vehicle, prm.body.radius_m
    contacted = s.td_contact
    up = _up(s.td_p, r)
    vz = _dot(s.td_v, up)
    v_h = s.td_v - _c(vz) * up
    sink, h_speed = -vz, _norm(v_h)
    t = prm.terrain
    s_dr, c_dr = tt.track(s.td_p, r)
    elev, _ = tt.lookup(t.truth, s_dr, c_dr)
    along, cross = tt.horizontal_axes(up)
    v_h2 = np.stack([_dot(v_h, along), _dot(v_h, cross)], axis=-1)
    # The ground's slope across the footpad span where it touched down (central differences over the
    # span), plus the roughness below that level's cells.
    half = veh.footprint_radius_m
    ds = (tt.lookup(t.truth, s_dr + half, c_dr)[0] - tt.lookup(t.truth, s_dr - half, c_dr)[0]) / (F(2) * half)
    dc = (tt.lookup(t.truth, s_dr, c_dr + half)[0] - tt.lookup(t.truth, s_dr, c_dr - half)[0]) / (F(2) * half)
    grad = np.stack([ds, dc], axis=-1)
    sub = tt.subgrid_gradient_sigma(t, tt.cell_m(t.truth, s_dr, c_dr), F(2) * veh.footprint_radius_m)
    gradient = (grad + _c(sub) * inp.local_gradient).astype(F)
    rock = np.arctan(inp.rock_m / (F(2) * veh.footprint_radius_m))
    slope = np.rad2deg(np.arctan(_norm2(gradient))) + np.rad2deg(rock)
    g_surface = prm.body.mu_m3ps2 / r**2
    code, mode = _classify(
        veh, contacted, s.td_ran_dry, sink, _norm2(v_h2), v_h2, gradient, rock, slope, g_surface
    )
    tilt = np.rad2deg(np.arccos(np.clip(_dot(s.td_axis, up), F(-1), F(1))))

    # Events left to the end: running dry in the very last step, and the contact.
    events = s.events.copy()
    final = np.stack([s.step.astype(F) * prm.sim.dt_s, s.h_true, s.h_est, _dot(s.v, _up(s.p, r)), s.prop], -1)
    stamp = s.ran_dry & np.isnan(events[:, Event.PROPELLANT_EXHAUSTED, 0])
    events[stamp, Event.PROPELLANT_EXHAUSTED] = final[stamp]
    contact_row = np.stack([s.td_t, _height(s.td_p, r) - elev, s.td_h_est, vz, s.td_prop], -1)
    events[contacted, Event.TOUCHDOWN] = contact_row[contacted]

    nan = F(np.nan)
    return TwinResult(
        outcome=code, touchdown_mode=mode, touchdown_vertical_speed_mps=np.where(contacted, sink, nan),
        touchdown_horizontal_speed_mps=np.where(contacted, h_speed, nan),
        slope_deg=np.where(contacted, slope, nan), tilt_deg=np.where(contacted, tilt, nan),
        propellant_remaining_kg=s.td_prop, miss_distance_m=np.where(contacted, np.hypot(s_dr, c_dr), nan),
        duration_s=s.td_t, altimeter_rejections=s.rejections, nis_count=s.nis_count,
        integration_steps=s.integration_steps, events=events, steps=int(s.step.max()),
    )  # fmt: skip


def simulate(inp: Inputs) -> TwinResult:
    """Run B descents together until every one has touched down or timed out (checked every step, as
    the engine's batched loop does; a lane that is done keeps stepping, its results frozen)."""
    s = initial_state(inp)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
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
