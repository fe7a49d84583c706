"""Navigation: an error-state Kalman filter (ESKF) on the estimate the lander flies on.

Guidance never sees the truth. The *nominal* estimate (position, velocity, attitude, accelerometer
bias and thrust-proportional error, gyro bias) is propagated by strapdown integration of the IMU (``engine``): the same RK4 as the truth, driven by
the measured specific force resolved through the *estimated* attitude, less the estimated bias. With
perfect sensors the estimate equals the truth exactly (tests/core/test_invariants.py). This module holds
the filter on the error of that estimate (Sola, "Quaternion kinematics for the error-state Kalman
filter", 2017, sections 5-7; Groves 2013, ch. 14):

* **Error state** (``NAV_STATE_DIM`` = 18), truth minus estimate: position (3, m), velocity (3, m/s),
  attitude (3, site frame, mrad: ``C_true = (I + [eps x]) C_est``), accelerometer bias (3, body, mm/s^2),
  the accelerometer's thrust-proportional error (3, body, ppm: ``SFM``) and gyro bias (3, body, deg/h).
  Attitude and bias are carried in milli-units so that float32 covariances span ~1e-4..1e7, not 1e-12..1e7.
  The thrust-proportional error is the scale factor and triad misalignment (``sensors.measured_body``) seen
  along the only force an accelerometer senses in powered flight, the thrust along body z: to first order
  ``(1 + s)(f + m x f) - f = k f_z`` with ``k = (m_y, -m_x, s)``, so it is a bias that scales with the
  throttle, and as a bias it would be wrong twice: 300 ppm of 3 m/s^2 braking is 0.09 milli-g that drops
  by 70 % when the engine throttles down (measured with it absent, study-set matched truth: NEES 17 against
  12, 20 % of records inside the band). The gyro bias is a state because its attitude drift is
  correlated over the flight, ``b_g t``, not a random walk: as white noise per step, ``(b_g dt)^2``, the
  attitude sigma after 600 s of dead reckoning was ``sqrt(T / dt)`` ~35x too small, and the study set's
  attitude ``e^2/P`` 1.2-1.5 with the altimeter in use (Groves, "Principles of GNSS, Inertial and
  Multisensor Navigation", 2nd ed. 2013, sec. 14.2.5: accelerometer and gyro biases as states, scale
  factor and misalignment as states where they are observable or as a noise allowance where not).
* **Propagation**: ``d(dr) = dv``, ``d(dv) = G dr - [f x] eps - C_est (db + f_z dk)`` (``f`` the specific
  force, site frame; ``f_z`` its body-z component), ``d(eps) = -C_est db_g``, ``d(db) = d(dk) = d(db_g) = 0``;
  discretised to second order in ``dt`` on position (it picks up ``dt^2 / 2`` of the attitude and
  accelerometer terms) and first order elsewhere (``d(eps)`` is exact: the gyro bias is constant over
  the step). Process noise: accelerometer white noise plus ``process_accel_sigma_mps2`` of unmodelled
  acceleration on velocity (and its integral on position), gyro angle random walk on attitude. The
  gravity gradient ``G`` (~2e-6 s^-2)
  couples position into velocity, ``d(dv) = G dr``: it is the vertical channel's instability (time constant
  ~730 s), and without it the matched-truth NEES crept from 12 to ~14 over the 600 s of dead reckoning.
* **Altimeter beams** (slant range along each body-fixed beam, ``sensors``): predicted by casting the
  *estimated* beam from the estimated position against the **onboard map**; row on position and attitude
  (``range_update``); noise variance is the reading's plus the map's height error seen along the beam.
  Innovation gating and the rejection / declare-failed guard (Hakuto-R Mission 1's).
  Each beam's *terrain offset* (the ground's height change across the horizontal error under its spot)
  is a Schmidt consider parameter: carried in ``NavFilter.cross_cov``, never estimated; the beams'
  offsets are one field sampled at their spots, kriged as the spots move (``_move_spot``).
* **Doppler** (velocity along each beam, relative to the ground): row on velocity and attitude, so
  velocity aiding also observes attitude error and, through velocity, accelerometer bias.
* **Terrain-relative navigation** (optional): a horizontal position fix with ``trn_sigma_m`` inside an
  altitude band, at ``trn_period_s``.

Scalar measurements are applied one after another (sequential updates, valid for uncorrelated noise);
the symmetric form ``P - (P h)(P h)^T / S`` is used, with the diagonal floored at zero against float32
round-off. Each update's weight is the measurement's validity as 0/1, so lanes without a reading change
nothing and no per-lane select of the covariance is needed.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from riskengine.core import linalg
from riskengine.core._pytree import PyTree, pytree_dataclass
from riskengine.core.attitude import DEG_PER_SQRT_H_TO_RAD_PER_SQRT_S, DPH_TO_RADPS
from riskengine.core.params import Array, ImuParams, NavigationParams
from riskengine.core.sensors import PPM  # the thrust-proportional error's unit, as the IMU's scale factor

NAV_STATE_DIM = 18
POS, VEL, ATT, BIAS = slice(0, 3), slice(3, 6), slice(6, 9), slice(9, 12)
SFM, GYRO = slice(12, 15), slice(15, 18)  # thrust-proportional accelerometer error; gyro bias
MILLI = 1e-3  # attitude (rad) and bias (m/s^2) are carried in milli-units
# d(eps) [mrad/s] per unit gyro-bias error [deg/h]
GYRO_TO_ATT = DPH_TO_RADPS / MILLI
NAV_STATE_NAMES: tuple[str, ...] = (
    *(f"position_{a}_m" for a in "xyz"),
    *(f"velocity_{a}_mps" for a in "xyz"),
    *(f"attitude_{a}_mrad" for a in "xyz"),
    *(f"accel_bias_{a}_mmps2" for a in "xyz"),
    *(f"accel_thrust_error_{a}_ppm" for a in "xyz"),
    *(f"gyro_bias_{a}_dph" for a in "xyz"),
)


@pytree_dataclass
class NavFilter(PyTree):
    """Covariance of the error state, the running correction, and the altimeter's bookkeeping."""

    cov: Array  # (18, 18)
    correction: Array  # (18,) error-state estimate accumulated by this step's updates (injected, then 0)
    bias_est_mps2: Array  # (3,) accelerometer bias the navigation subtracts, body axes
    thrust_error_est_ppm: Array  # (3,) thrust-proportional accelerometer error it subtracts (k f_z), body
    gyro_bias_est_dph: Array  # (3,) gyro bias it subtracts, body axes
    consecutive_rejections: Array  # int32
    total_rejections: Array  # int32
    failed: Array  # bool: altimeter (and its Doppler channel) declared failed
    nis_sum: Array  # sum of innovation^2 / S over accepted scalar measurements (consistency check)
    nis_count: Array  # int32
    pending_dt_s: Array  # time since the covariance was last propagated
    pending_velocity_mps: Array  # (3,) integral of the specific force over that time (site frame)
    cross_cov: Array  # (18, B) covariance of the error state with each beam's terrain offset (consider)
    offset_spot_m: Array  # (B, 3) where each beam's spot was at its last reading (estimated, site frame)


def skew(v: Array) -> Array:
    """(3, 3) cross-product matrix: ``skew(a) @ b == cross(a, b)``."""
    zero = jnp.zeros_like(v[0])
    return jnp.stack(
        [jnp.stack([zero, -v[2], v[1]]), jnp.stack([v[2], zero, -v[0]]), jnp.stack([-v[1], v[0], zero])]
    )


def initial_covariance(nav: NavigationParams, axes: Array) -> Array:
    """(18, 18) covariance at PDI. ``axes`` (3, 3): rows along-track, crossrange and up at PDI, site frame.

    The assumed sigmas are per local direction at PDI (orbit determination's downrange, crossrange and
    altitude errors), and the initial errors are applied along those directions (``engine.init``); the
    filter's frame is the site's, whose axes are ~20 deg of arc away at PDI. The position and velocity
    blocks are therefore ``A^T diag(sigma^2) A``: set as a plain diagonal in site axes, an altitude sigma
    of 200 m leaks ~65 m into a site-x sigma that may be 10 m (measured: NEES 80 instead of 12 at PDI with
    a 10 m horizontal sigma)."""
    h = nav.assumed_horizontal_position_sigma_m
    vh = nav.assumed_horizontal_velocity_sigma_mps
    att = jnp.deg2rad(nav.assumed_attitude_sigma_deg) / MILLI
    bias = nav.assumed_accel_bias_sigma_mps2 / MILLI
    mis = jnp.deg2rad(nav.assumed_accel_misalignment_deg) / PPM
    sfm = jnp.stack([mis, mis, nav.assumed_accel_scale_factor_ppm])
    gyro = nav.assumed_gyro_bias_dph

    def rotated(sig: Array) -> Array:
        return linalg.matmul(axes.T * (sig * sig)[None, :], axes)

    pos = rotated(jnp.stack([h, h, nav.assumed_altitude_sigma_m]))
    vel = rotated(jnp.stack([vh, vh, nav.assumed_vertical_velocity_sigma_mps]))
    rest = jnp.diag(
        jnp.square(jnp.concatenate([jnp.stack([att] * 3 + [bias] * 3), sfm, jnp.stack([gyro] * 3)]))
    )
    zero = jnp.zeros((3, 3), jnp.float32)
    top = jnp.concatenate(
        [jnp.concatenate([pos, zero], axis=1), jnp.concatenate([zero, vel], axis=1)], axis=0
    )
    corner = jnp.zeros((6, NAV_STATE_DIM - 6), jnp.float32)
    return jnp.concatenate(
        [jnp.concatenate([top, corner], axis=1), jnp.concatenate([corner.T, rest], axis=1)], axis=0
    )


def initial_filter(nav: NavigationParams, axes: Array, n_beams: int) -> NavFilter:
    """The filter at PDI; ``axes`` as in :func:`initial_covariance`."""
    return NavFilter(
        cov=initial_covariance(nav, axes),
        correction=jnp.zeros(NAV_STATE_DIM, jnp.float32),
        bias_est_mps2=jnp.zeros(3, jnp.float32),
        thrust_error_est_ppm=jnp.zeros(3, jnp.float32),
        gyro_bias_est_dph=jnp.zeros(3, jnp.float32),
        consecutive_rejections=jnp.int32(0),
        total_rejections=jnp.int32(0),
        failed=jnp.bool_(False),
        nis_sum=jnp.float32(0.0),
        nis_count=jnp.int32(0),
        pending_dt_s=jnp.float32(0.0),
        pending_velocity_mps=jnp.zeros(3, jnp.float32),
        cross_cov=jnp.zeros((NAV_STATE_DIM, n_beams), jnp.float32),
        offset_spot_m=jnp.full((n_beams, 3), jnp.inf, jnp.float32),
    )


# Constant masks placing the process-noise terms (numpy: importing the core must not start JAX).
_MASK_RR = np.zeros((NAV_STATE_DIM, NAV_STATE_DIM), np.float32)
_MASK_RR[POS, POS] = np.eye(3)
_MASK_RV = np.zeros_like(_MASK_RR)
_MASK_RV[POS, VEL] = np.eye(3)
_MASK_RV[VEL, POS] = np.eye(3)
_MASK_VV = np.zeros_like(_MASK_RR)
_MASK_VV[VEL, VEL] = np.eye(3)
_MASK_ATT = np.zeros_like(_MASK_RR)
_MASK_ATT[ATT, ATT] = np.eye(3)


def accumulate(f: NavFilter, f_site: Array, dt: Array) -> NavFilter:
    """Add one step to the interval the next covariance propagation covers."""
    return f.replace(
        pending_dt_s=f.pending_dt_s + dt, pending_velocity_mps=f.pending_velocity_mps + f_site * dt
    )


def propagate_pending(
    f: NavFilter, nav: NavigationParams, imu: ImuParams, c_est: Array, gradient: Array, due: Array
) -> NavFilter:
    """Propagate the covariance over the accumulated interval where ``due`` (with the interval's mean
    specific force), and restart the interval; elsewhere nothing changes (an interval of length 0 is the
    identity, bit for bit, so a lane's covariance never depends on whether its neighbours propagated).

    The covariance is propagated once per guidance period, not every 0.1 s step: the strapdown estimate
    itself is integrated every step, and flight filters commonly propagate covariance at a lower rate than
    the state. Between propagations, measurements see a covariance up to one period old (it lacks < 0.5 s
    of process noise)."""
    dt = jnp.where(due, f.pending_dt_s, 0.0)
    mean_force = f.pending_velocity_mps / jnp.maximum(f.pending_dt_s, 1e-9)
    f = propagate(f, nav, imu, c_est, mean_force, gradient, dt)
    return f.replace(
        pending_dt_s=jnp.where(due, 0.0, f.pending_dt_s),
        pending_velocity_mps=jnp.where(due, 0.0, f.pending_velocity_mps),
    )


def propagate(
    f: NavFilter,
    nav: NavigationParams,
    imu: ImuParams,
    c_est: Array,
    f_site: Array,
    gradient: Array,
    dt: Array,
) -> NavFilter:
    """Covariance over ``dt`` with specific force ``f_site`` (3,), estimated attitude ``c_est`` (3, 3) and
    the gravity gradient ``gradient`` (3, 3) at the estimate (``d(dv) = G dr + ...``).

    ``Phi P Phi^T`` is formed from the transition's block structure: only the position, velocity and
    attitude rows (and columns) change, by ``dt`` times the velocity block, by the position and
    accelerometer-error blocks through ``G`` and ``A = [-[f x], -C, -C f_z]`` and, on attitude, by the gyro
    bias block through ``-C``, so it costs a few (3, k) x (k, 18) products instead of two dense 18 x 18
    ones (measured at 12 states: ~380 ns per lane-step dense at 1024 lanes on one core).
    """
    f_z = c_est[:, 2] @ f_site  # body-z specific force: the thrust the accelerometer senses
    a = jnp.concatenate([-skew(f_site) * MILLI, -c_est * MILLI, -c_est * (f_z * PPM)], axis=1)  # (3, 9)
    b = -c_est * GYRO_TO_ATT  # d(eps)/d(db_g)
    half = 0.5 * dt * dt
    cov = f.cov
    acc = cov[6:15]  # rows of (eps, db, dk), (9, 18): what drives the velocity error
    dv_rows = linalg.matmul(a, acc) + linalg.matmul(gradient, cov[0:3])  # (3, 18)
    att_rows = cov[6:9] + dt * linalg.matmul(b, cov[15:18])
    m = jnp.concatenate(
        [cov[0:3] + dt * cov[3:6] + half * dv_rows, cov[3:6] + dt * dv_rows, att_rows, cov[9:18]], axis=0
    )
    dv_cols = linalg.matmul(m[:, 6:15], a.T) + linalg.matmul(m[:, 0:3], gradient.T)  # (18, 3)
    att_cols = m[:, 6:9] + dt * linalg.matmul(m[:, 15:18], b.T)
    cov = jnp.concatenate(
        [m[:, 0:3] + dt * m[:, 3:6] + half * dv_cols, m[:, 3:6] + dt * dv_cols, att_cols, m[:, 9:18]], axis=1
    )
    x = f.cross_cov
    dv_x = linalg.matmul(a, x[6:15]) + linalg.matmul(gradient, x[0:3])
    att_x = x[6:9] + dt * linalg.matmul(b, x[15:18])
    cross = jnp.concatenate([x[0:3] + dt * x[3:6] + half * dv_x, x[3:6] + dt * dv_x, att_x, x[9:18]], axis=0)
    q_acc = jnp.square(imu.velocity_random_walk_mps_per_sqrt_s) + jnp.square(nav.process_accel_sigma_mps2)
    arw = imu.gyro_angle_random_walk_deg_per_sqrt_h * DEG_PER_SQRT_H_TO_RAD_PER_SQRT_S
    q_att = jnp.square(arw) * dt / (MILLI * MILLI)
    q = (
        (q_acc * dt**3 / 3.0) * _MASK_RR
        + (q_acc * dt**2 / 2.0) * _MASK_RV
        + (q_acc * dt) * _MASK_VV
        + q_att * _MASK_ATT
    )
    cov = cov + q
    return f.replace(cov=0.5 * (cov + cov.T), cross_cov=cross)


class RowTerms(NamedTuple):
    """What a scalar measurement's row ``h`` contributes, from its sparsity (three or six states)."""

    ph: Array  # (12,) P h
    h_x: Array  # h . correction (the corrections this step's earlier updates accumulated)
    hph: Array  # h P h
    hpc: Array  # (B,) h P_xc (the row against the beams' offsets' cross-covariance)


class ConsiderTerm(NamedTuple):
    """A row's coefficient on one beam's terrain offset, a consider parameter (``scalar_update``)."""

    beam: int  # whose offset the row sees
    coeff: Array  # h_c: the row's coefficient on it (1 / cos of the beam's angle off the vertical)
    cov_row: Array  # (B,) its row of P_cc: covariance with every beam's offset (its own: sigma^2)


def innovation_variance(f: NavFilter, row: RowTerms, variance: Array, c: ConsiderTerm | None = None) -> Array:
    """``S`` of a row: ``h P h + R``, plus ``2 h P_xc h_c + h_c P_cc h_c`` where it sees a beam's offset."""
    if c is None:
        return row.hph + variance
    return row.hph + 2.0 * c.coeff * row.hpc[c.beam] + c.coeff * c.coeff * c.cov_row[c.beam] + variance


def scalar_update(
    f: NavFilter,
    row: RowTerms,
    innovation: Array,
    variance: Array,
    weight: Array,
    c: ConsiderTerm | None = None,
) -> NavFilter:
    """One scalar measurement ``y = h dx + h_c c + noise`` (``variance``), applied with ``weight`` 0 or 1.

    ``c`` is the terrain offset under a beam (``ConsiderTerm``), a *consider* parameter (Schmidt, "Application of
    state-space methods to navigation problems", Advances in Control Systems 3, 1966; Tapley, Schutz and
    Born, "Statistical Orbit Determination", 2004, sec. 6.3): its variance ``P_cc`` and its
    cross-covariance ``P_xc`` with the error state are carried, but it is never estimated, so readings
    of one persistent offset cannot be averaged below it. The gain is ``K = (P h + h_c P_xc) / S``;
    ``P -= K S K^T`` and ``P_xc -= K (h P_xc + h_c P_cc[beam])``, with ``P_cc`` unchanged. ``innovation`` is
    measured minus predicted from the estimate before this step's corrections; ``h_x`` takes out the
    corrections already accumulated, as sequential updates require. The symmetric form keeps ``P``
    symmetric and, with ``S`` at least the gain's own variance, its diagonal non-negative up to round-off.
    """
    s = innovation_variance(f, row, variance, c)
    g = row.ph if c is None else row.ph + c.coeff * f.cross_cov[:, c.beam]
    c_row = row.hpc if c is None else row.hpc + c.coeff * c.cov_row
    y = innovation - row.h_x
    w = weight / s
    return f.replace(
        cov=f.cov - w * (g[:, None] * g[None, :]),
        cross_cov=f.cross_cov - w * (g[:, None] * c_row[None, :]),
        correction=f.correction + (w * y) * g,
        nis_sum=f.nis_sum + weight * y * y / s,
        nis_count=f.nis_count + (weight > 0).astype(jnp.int32),
    )


def _sparse_row(f: NavFilter, parts: tuple[tuple[slice, Array], ...]) -> RowTerms:
    """The row's terms for a row made of 3-vectors on a few 3-state blocks."""
    ph = linalg.matvec(f.cov[:, parts[0][0]], parts[0][1])
    h_x = parts[0][1] @ f.correction[parts[0][0]]
    hpc = linalg.rmatvec(f.cross_cov[parts[0][0]], parts[0][1])
    for block, h in parts[1:]:
        ph = ph + linalg.matvec(f.cov[:, block], h)
        h_x = h_x + h @ f.correction[block]
        hpc = hpc + linalg.rmatvec(f.cross_cov[block], h)
    hph = parts[0][1] @ ph[parts[0][0]]
    for block, h in parts[1:]:
        hph = hph + h @ ph[block]
    return RowTerms(ph, h_x, hph, hpc)


def _position_row(f: NavFilter, d: Array) -> RowTerms:
    """The terms of a row ``d`` (3,) on position only."""
    return _sparse_row(f, ((POS, d),))


# The offsets' white "nugget" (Cressie 1993, sec. 2.3.1), as a fraction of their variance: it keeps the
# spots' correlation matrix invertible in float32 when two spots coincide, and costs a stationary beam a
# 1e-4 decay of its cross-covariance per reading.
NUGGET = 1e-4


def _correlation(a: Array, b: Array, length: Array) -> Array:
    """``exp(-|a - b| / L)`` between spots (..., 3); 0 where either has not been read (infinite)."""
    ok = jnp.all(jnp.isfinite(a), axis=-1) & jnp.all(jnp.isfinite(b), axis=-1)
    d = jnp.sqrt(jnp.sum(jnp.square(jnp.where(ok[..., None], a - b, 0.0)), axis=-1))
    return jnp.where(ok, jnp.exp(-d / length), 0.0)


def _move_spot(
    f: NavFilter, nav: NavigationParams, beam: int, spot_m: Array, usable: Array
) -> tuple[NavFilter, Array]:
    """Move ``beam``'s spot to ``spot_m``; returns (filter, the beam's row of the offsets' correlation).

    The offsets are one field sampled at the beams' spots, with correlation ``exp(-d / L)`` over a
    distance ``d`` (``riskengine.terrain.offsets``). The offset at the new spot is predicted from those at
    the current spots (all beams', this one's old spot among them) by its best linear predictor, simple
    kriging: ``c_new = a . c + w`` with ``a = K^-1 k``, ``K`` the current spots' correlations, ``k`` theirs
    with the new spot and ``w`` independent of everything the filter knows (Cressie, "Statistics for
    Spatial Data", 1993, sec. 3.4). So the cross-covariance column becomes ``P_xc a``, and ``P_cc`` stays the
    field's covariance at the spots, exactly, whatever the geometry: it is recomputed from the spots, not
    carried. With the other beams' spots far away, ``a`` is ``exp(-moved / L)`` on the beam's own old
    spot, first-order Gauss-Markov decay in distance (Maybeck, "Stochastic Models, Estimation and
    Control" vol. 1, 1979); as the spots converge near the ground, the beams see one offset, not three.
    """
    length = jnp.maximum(nav.offset_correlation_m, 1e-3)
    spots = f.offset_spot_m
    n = spots.shape[0]
    big_k = _correlation(spots[:, None, :], spots[None, :, :], length)
    big_k = jnp.where(jnp.eye(n, dtype=bool), 1.0 + NUGGET, big_k)
    k = _correlation(spot_m[None, :], spots, length)  # (B,)
    a = jnp.where(usable, linalg.solve_spd(big_k, k), jnp.eye(n, dtype=k.dtype)[beam])
    moved_spots = spots.at[beam].set(jnp.where(usable, spot_m, spots[beam]))
    row = _correlation(moved_spots[beam][None, :], moved_spots, length).at[beam].set(1.0 + NUGGET)
    return (
        f.replace(
            cross_cov=f.cross_cov.at[:, beam].set(linalg.matvec(f.cross_cov, a)),
            offset_spot_m=moved_spots,
        ),
        row,
    )


def range_update(
    f: NavFilter,
    nav: NavigationParams,
    beam_est: Array,
    up: Array,
    slope_tan: Array,
    reading_m: Array,
    predicted_m: Array,
    reading_sigma_m: Array,
    valid: Array,
    beam: int,
    spot_m: Array,
) -> tuple[NavFilter, Array]:
    """Gate and apply one beam's slant range; returns (filter, rejected flag).

    The range along the estimated beam ``u`` to level ground is ``r = h / (-u . up)``: its row is
    ``up / (-u . up)`` on position and ``r / (-u . up) (u x up)`` on attitude (``u_true = u + eps x u``).
    The ground's slope is not in the row: at the metre scale of the map's cells it says nothing that holds
    over a horizontal uncertainty of hundreds of metres (with it, the horizontal position sigma fell from
    ~1 km to tens of metres in seconds while the error stayed ~1 km: found by the NumPy twin). The ground's
    height change across the horizontal error is the beam's *terrain offset*, a consider parameter
    (``scalar_update``): sigma ``nav.offset_sigma_m`` (times ``terrain_offset_scale``) and decorrelation
    distance ``nav.offset_correlation_m``, both derived from the onboard map at the assumed horizontal
    sigma (``riskengine.terrain.offsets``), the beams' offsets one field sampled at their spots
    (``_move_spot``; ``spot_m`` is where the estimated beam meets the map at the predicted,
    latency-compensated range). That sigma is the map's average; where the local slope moves the range
    across the horizontal uncertainty by more, ``|grad| sigma_h > sigma`` (a wall), the excess enters the
    noise as white: ``(|grad|^2 sigma_h^2 - sigma^2) / (-u . up)^2``, so the gate does not reject a wall's
    readings as faults. The noise variance is the reading's, plus the map's height error seen along the
    beam, plus that excess. Without the consider offset the filter averaged one persistent offset away
    over hundreds of readings: matched truth, vertical ``e^2/P`` 2.27 (over-confident); with it, and the
    slope term only where it exceeds the offset, 0.68, and every aided record inside its NEES band
    (docs/physics.md). Innovation gate
    ``|y| > max(gate_sigma sqrt(S), gate_floor_m)`` rejects; after ``max_consecutive_rejections``
    rejections in a row the instrument is declared failed and never used again (the hardware-fault guard
    Hakuto-R Mission 1 carried; ispace, 26 May 2023). An invalid reading (no return, not yet acquired,
    dropped out, or the instrument failed) changes nothing.
    """
    usable = valid & ~f.failed
    f, correlation = _move_spot(f, nav, beam, spot_m, usable)
    inv = 1.0 / jnp.maximum(-(beam_est @ up), 0.05)
    h_pos = up * inv
    h_att = (predicted_m * inv * MILLI) * jnp.cross(beam_est, up)
    row = _sparse_row(f, ((POS, h_pos), (ATT, h_att)))
    p_pos = f.cov[0:3, 0:3]
    horizontal_var = jnp.maximum(0.5 * (jnp.trace(p_pos) - up @ linalg.matvec(p_pos, up)), 0.0)
    sigma = nav.terrain_offset_scale * nav.offset_sigma_m
    # Where the local slope moves the range across the horizontal uncertainty by more than the map's
    # average offset (a wall), the excess is white noise: the consider offset carries the average.
    slope_var = jnp.square(inv) * jnp.maximum(jnp.square(slope_tan) * horizontal_var - sigma * sigma, 0.0)
    variance = jnp.square(reading_sigma_m) + jnp.square(nav.assumed_map_sigma_m * inv) + slope_var
    innovation = reading_m - predicted_m - row.h_x
    c = ConsiderTerm(beam, inv, (sigma * sigma) * correlation)  # along the beam, as the range is
    s = innovation_variance(f, row, variance, c)
    gate = jnp.maximum(nav.gate_sigma * jnp.sqrt(s), nav.gate_floor_m)
    accepted = usable & (jnp.abs(innovation) <= gate)
    rejected = usable & ~accepted
    f = scalar_update(f, row, reading_m - predicted_m, variance, accepted.astype(jnp.float32), c)
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
    f: NavFilter, beam_est: Array, measured_mps: Array, v_est: Array, noise_mps: Array, weight: Array
) -> NavFilter:
    """Velocity along one beam relative to the ground: ``y = u . v``, row ``u`` on velocity and ``u x v``
    on attitude (``(eps x u) . v = eps . (u x v)``)."""
    parts = ((VEL, beam_est), (ATT, jnp.cross(beam_est, v_est) * MILLI))
    var = jnp.square(jnp.maximum(noise_mps, 1e-4))
    return scalar_update(f, _sparse_row(f, parts), measured_mps - beam_est @ v_est, var, weight)


def position_fix_update(
    f: NavFilter, directions: Array, measured_m: Array, predicted_m: Array, sigma_m: Array, weight: Array
) -> NavFilter:
    """Horizontal position fix (terrain-relative navigation): one scalar per row of ``directions`` (k, 3)."""
    var = jnp.square(jnp.maximum(sigma_m, 1e-3))
    for i in range(directions.shape[0]):
        f = scalar_update(f, _position_row(f, directions[i]), measured_m[i] - predicted_m[i], var, weight)
    return f


def take_correction(f: NavFilter) -> tuple[NavFilter, Array, Array, Array, Array]:
    """Split the accumulated correction for injection: (filter reset, dr m, dv m/s, eps rad, db m/s^2); the
    accelerometer's and gyro's error estimates take theirs in place."""
    x = f.correction
    return (
        f.replace(
            correction=jnp.zeros_like(x),
            bias_est_mps2=f.bias_est_mps2 + x[BIAS] * MILLI,
            thrust_error_est_ppm=f.thrust_error_est_ppm + x[SFM],
            gyro_bias_est_dph=f.gyro_bias_est_dph + x[GYRO],
        ),
        x[POS],
        x[VEL],
        x[ATT] * MILLI,
        x[BIAS] * MILLI,
    )


def nees(cov: Array, error: Array) -> Array:
    """Normalised estimation error squared ``e^T P^-1 e`` (``error`` in the filter's units)."""
    return error @ jnp.linalg.solve(cov, error)
