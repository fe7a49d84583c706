"""Navigation: an error-state Kalman filter (ESKF) on the estimate the lander flies on.

Guidance never sees the truth. The *nominal* estimate (position, velocity, attitude, accelerometer
bias) is propagated by strapdown integration of the IMU (``engine``): the same RK4 as the truth, driven by
the measured specific force resolved through the *estimated* attitude, less the estimated bias. With
perfect sensors the estimate equals the truth exactly (tests/core/test_invariants.py). This module holds
the filter on the error of that estimate (Sola, "Quaternion kinematics for the error-state Kalman
filter", 2017, sections 5-7; Groves, "Principles of GNSS, Inertial and Multisensor Navigation", ch. 14):

* **Error state** (``NAV_STATE_DIM`` = 12), truth minus estimate: position (3, m), velocity (3, m/s),
  attitude (3, site frame, mrad: ``C_true = (I + [eps x]) C_est``), accelerometer bias (3, body, mm/s^2).
  Attitude and bias are carried in milli-units so that float32 covariances span ~1e-4..1e7, not 1e-12..1e7.
* **Propagation**: ``d(dr) = dv``, ``d(dv) = -[f x] eps - C_est db`` (``f`` the specific force, site
  frame), ``d(eps) = -C gyro error``, ``d(db) = 0``; discretised to second order in ``dt`` (position picks
  up ``dt^2 / 2`` of the attitude and bias terms). Process noise: accelerometer white noise plus
  ``process_accel_sigma_mps2`` of unmodelled acceleration on velocity (and its integral on position), gyro
  angle random walk and the assumed gyro bias on attitude (the bias is not a state: its drift over a step
  enters as noise, ``(b_g dt)^2``). Gravity-gradient coupling (~2e-6 s^-2) is below the errors here.
* **Altimeter** (height above terrain along the local vertical): predicted from the estimated position and
  the **onboard map**; row ``up - map_gradient * along`` on position; noise variance is the reading's plus
  the map's height error (``assumed_map_sigma_m``), so a filter tracking at 10 Hz does not believe itself
  more precise than its map. Innovation gate ``|y| > max(gate_sigma sqrt(S), gate_floor_m)`` rejects; after
  ``max_consecutive_rejections`` rejections in a row the altimeter and its Doppler channel are declared
  failed and never used again (the hardware-fault guard Hakuto-R Mission 1 carried; ispace, 26 May 2023).
* **Doppler** (3 axes, body frame, resolved by the estimated attitude): ``y = dv + [v x] eps``, so
  velocity aiding also observes attitude error and accelerometer bias through their effect on velocity.
* **Terrain-relative navigation** (optional): a horizontal position fix with ``trn_sigma_m`` inside an
  altitude band, at ``trn_period_s``.

Scalar measurements are applied one after another (sequential updates, valid for uncorrelated noise);
the symmetric form ``P - (P h)(P h)^T / S`` is used, with the diagonal floored at zero against float32
round-off. Each update's weight is the measurement's validity as 0/1, so lanes without a reading change
nothing and no per-lane select of the covariance is needed.
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core._pytree import PyTree, pytree_dataclass
from riskengine.core.attitude import DEG_PER_SQRT_H_TO_RAD_PER_SQRT_S, DPH_TO_RADPS
from riskengine.core.params import Array, ImuParams, NavigationParams

NAV_STATE_DIM = 12
POS, VEL, ATT, BIAS = slice(0, 3), slice(3, 6), slice(6, 9), slice(9, 12)
MILLI = 1e-3  # attitude (rad) and bias (m/s^2) are carried in milli-units
NAV_STATE_NAMES: tuple[str, ...] = (
    *(f"position_{a}_m" for a in "xyz"),
    *(f"velocity_{a}_mps" for a in "xyz"),
    *(f"attitude_{a}_mrad" for a in "xyz"),
    *(f"accel_bias_{a}_mmps2" for a in "xyz"),
)


@pytree_dataclass
class NavFilter(PyTree):
    """Covariance of the error state, the running correction, and the altimeter's bookkeeping."""

    cov: Array  # (12, 12)
    correction: Array  # (12,) error-state estimate accumulated by this step's updates (injected, then 0)
    bias_est_mps2: Array  # (3,) accelerometer bias the navigation subtracts, body axes
    consecutive_rejections: Array  # int32
    total_rejections: Array  # int32
    failed: Array  # bool: altimeter (and its Doppler channel) declared failed
    nis_sum: Array  # sum of innovation^2 / S over accepted scalar measurements (consistency check)
    nis_count: Array  # int32


def skew(v: Array) -> Array:
    """(3, 3) cross-product matrix: ``skew(a) @ b == cross(a, b)``."""
    zero = jnp.zeros_like(v[0])
    return jnp.stack(
        [jnp.stack([zero, -v[2], v[1]]), jnp.stack([v[2], zero, -v[0]]), jnp.stack([-v[1], v[0], zero])]
    )


def initial_filter(nav: NavigationParams) -> NavFilter:
    h = nav.assumed_horizontal_position_sigma_m
    vh = nav.assumed_horizontal_velocity_sigma_mps
    att = jnp.deg2rad(nav.assumed_attitude_sigma_deg) / MILLI
    bias = nav.assumed_accel_bias_sigma_mps2 / MILLI
    # Along-track, crossrange and vertical at PDI are close to site x, y and z there up to ~20 deg; the
    # initial covariance is set in site axes (the filter's frame) from the per-direction sigmas.
    sig = jnp.stack(
        [h, h, nav.assumed_altitude_sigma_m, vh, vh, nav.assumed_vertical_velocity_sigma_mps]
        + [att] * 3
        + [bias] * 3
    )
    return NavFilter(
        cov=jnp.diag(sig * sig),
        correction=jnp.zeros(NAV_STATE_DIM, jnp.float32),
        bias_est_mps2=jnp.zeros(3, jnp.float32),
        consecutive_rejections=jnp.int32(0),
        total_rejections=jnp.int32(0),
        failed=jnp.bool_(False),
        nis_sum=jnp.float32(0.0),
        nis_count=jnp.int32(0),
    )


def propagate(
    f: NavFilter, nav: NavigationParams, imu: ImuParams, c_est: Array, f_site: Array, dt: Array
) -> NavFilter:
    """Covariance over ``dt`` with specific force ``f_site`` (3,) and estimated attitude ``c_est`` (3, 3)."""
    eye = jnp.eye(3, dtype=jnp.float32)
    zero = jnp.zeros((3, 3), jnp.float32)
    a_att = -skew(f_site) * MILLI  # d(dv)/d(eps)
    a_bias = -c_est * MILLI  # d(dv)/d(db)
    half = 0.5 * dt * dt
    phi = jnp.block(
        [
            [eye, dt * eye, half * a_att, half * a_bias],
            [zero, eye, dt * a_att, dt * a_bias],
            [zero, zero, eye, zero],
            [zero, zero, zero, eye],
        ]
    )
    q_acc = jnp.square(imu.velocity_random_walk_mps_per_sqrt_s) + jnp.square(nav.process_accel_sigma_mps2)
    arw = imu.gyro_angle_random_walk_deg_per_sqrt_h * DEG_PER_SQRT_H_TO_RAD_PER_SQRT_S
    drift = nav.assumed_gyro_bias_dph * DPH_TO_RADPS * dt
    q_att = (jnp.square(arw) * dt + jnp.square(drift)) / (MILLI * MILLI)
    q_rr = q_acc * dt**3 / 3.0
    q_rv = q_acc * dt**2 / 2.0
    q_vv = q_acc * dt
    q_diag = jnp.concatenate(
        [jnp.full(3, q_rr), jnp.full(3, q_vv), jnp.full(3, q_att), jnp.zeros(3, jnp.float32)]
    )
    q = jnp.diag(q_diag)
    q = q.at[POS, VEL].set(q_rv * eye).at[VEL, POS].set(q_rv * eye)
    cov = phi @ f.cov @ phi.T + q
    return f.replace(cov=0.5 * (cov + cov.T))


def scalar_update(f: NavFilter, h: Array, innovation: Array, variance: Array, weight: Array) -> NavFilter:
    """One scalar measurement ``y = h dx + noise`` (``variance``), applied with ``weight`` 0 or 1.

    ``innovation`` is measured minus predicted from the estimate before this step's corrections; the
    corrections already accumulated are taken out (``y - h x``) as sequential updates require.
    """
    ph = f.cov @ h
    s = h @ ph + variance
    y = innovation - h @ f.correction
    w = weight / s
    cov = f.cov - w * jnp.outer(ph, ph)
    cov = cov.at[jnp.diag_indices(NAV_STATE_DIM)].set(jnp.maximum(jnp.diagonal(cov), 0.0))
    return f.replace(
        cov=cov,
        correction=f.correction + (w * y) * ph,
        nis_sum=f.nis_sum + weight * y * y / s,
        nis_count=f.nis_count + (weight > 0).astype(jnp.int32),
    )


def altimeter_row(up_est: Array, along_est: Array, map_gradient: Array) -> Array:
    """(12,) measurement row of height above the map: ``up - gradient * along`` on position."""
    return jnp.concatenate([up_est - map_gradient * along_est, jnp.zeros(9, jnp.float32)])


def altimeter_update(
    f: NavFilter,
    nav: NavigationParams,
    h: Array,
    reading_m: Array,
    predicted_m: Array,
    reading_sigma_m: Array,
    valid: Array,
) -> tuple[NavFilter, Array]:
    """Gate and apply one altimeter reading; returns (filter, rejected flag). An invalid reading (out of
    range, not yet acquired, dropped out, or the altimeter declared failed) changes nothing."""
    usable = valid & ~f.failed
    innovation = reading_m - predicted_m - h @ f.correction
    s = h @ f.cov @ h + jnp.square(reading_sigma_m) + jnp.square(nav.assumed_map_sigma_m)
    gate = jnp.maximum(nav.gate_sigma * jnp.sqrt(s), nav.gate_floor_m)
    accepted = usable & (jnp.abs(innovation) <= gate)
    rejected = usable & ~accepted
    f = scalar_update(
        f,
        h,
        reading_m - predicted_m,
        jnp.square(reading_sigma_m) + jnp.square(nav.assumed_map_sigma_m),
        accepted.astype(jnp.float32),
    )
    consecutive = jnp.where(
        rejected, f.consecutive_rejections + 1, jnp.where(accepted, 0, f.consecutive_rejections)
    )
    limit = nav.max_consecutive_rejections
    failed = f.failed | ((limit > 0) & (consecutive.astype(limit.dtype) >= limit))
    return (
        f.replace(
            consecutive_rejections=consecutive,
            total_rejections=f.total_rejections + rejected.astype(jnp.int32),
            failed=failed,
        ),
        rejected,
    )


def doppler_update(
    f: NavFilter, measured_site_mps: Array, v_est: Array, noise_mps: Array, weight: Array
) -> NavFilter:
    """Three-axis velocity relative to the ground, resolved in the site frame by the estimated attitude."""
    sk = skew(v_est) * MILLI  # d(y)/d(eps) = [v x]
    y = measured_site_mps - v_est
    var = jnp.square(jnp.maximum(noise_mps, 1e-4))
    for axis in range(3):
        row = jnp.zeros(NAV_STATE_DIM, jnp.float32).at[VEL.start + axis].set(1.0).at[ATT].set(sk[axis])
        f = scalar_update(f, row, y[axis], var, weight)
    return f


def position_fix_update(
    f: NavFilter, directions: Array, measured_m: Array, predicted_m: Array, sigma_m: Array, weight: Array
) -> NavFilter:
    """Horizontal position fix (terrain-relative navigation): one scalar per row of ``directions`` (k, 3)."""
    var = jnp.square(jnp.maximum(sigma_m, 1e-3))
    for i in range(directions.shape[0]):
        row = jnp.concatenate([directions[i], jnp.zeros(9, jnp.float32)])
        f = scalar_update(f, row, measured_m[i] - predicted_m[i], var, weight)
    return f


def take_correction(f: NavFilter) -> tuple[NavFilter, Array, Array, Array, Array]:
    """Split the accumulated correction for injection: (filter reset, dr m, dv m/s, eps rad, db m/s^2)."""
    x = f.correction
    return (
        f.replace(correction=jnp.zeros_like(x), bias_est_mps2=f.bias_est_mps2 + x[BIAS] * MILLI),
        x[POS],
        x[VEL],
        x[ATT] * MILLI,
        x[BIAS] * MILLI,
    )


def nees(cov: Array, error: Array) -> Array:
    """Normalised estimation error squared ``e^T P^-1 e`` (``error`` in the filter's units)."""
    return error @ jnp.linalg.solve(cov, error)

