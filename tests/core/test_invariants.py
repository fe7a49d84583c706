"""Invariants that hold for every trajectory."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.config import build_dispersion
from riskengine.config.distributions import Normal
from riskengine.core import EVENTS, OUTCOMES, Params, simulate_batch, simulate_trace, trace_length

DISPERSED = build_dispersion(
    {
        "imu.bias_z_mps2": Normal(mean=0.0, std=0.003),
        "navigation.initial_altitude_error_m": Normal(mean=0.0, std=500.0),
        "altimeter.acquisition_delay_s": Normal(mean=40.0, std=5.0),
    }
)


def test_mass_never_rises_nor_drops_below_dry(frigoris_params: Params):
    # The lanes run in lockstep (``lanes_axis``), as studies run them: a plain vmap turns every skipped
    # branch (beam casts, measurement updates) into work done on every step for every lane (~10x slower).
    n = trace_length(frigoris_params, 20)
    traced = jax.jit(
        jax.vmap(lambda k: simulate_trace(frigoris_params, k, 20, n, "lanes"), axis_name="lanes")
    )
    keys = jax.random.split(jax.random.key(3), 16)
    # Sixteen noise streams of the undispersed cell: the bounds must hold on every one.
    result, trace = traced(keys)
    prop = np.asarray(trace.propellant_kg)
    assert np.all(np.diff(prop, axis=1) <= 0.0)
    assert np.all(prop >= 0.0)
    assert np.all(np.asarray(result.outcome) >= 0) and np.all(np.asarray(result.outcome) < len(OUTCOMES))


def test_every_outcome_is_a_named_code_and_propellant_is_bounded(frigoris_params: Params):
    r = simulate_batch(frigoris_params, DISPERSED, jax.random.key(0), jnp.arange(64, dtype=jnp.int32))
    codes = np.asarray(r.outcome)
    assert set(codes.tolist()) <= set(range(len(OUTCOMES)))
    prop = np.asarray(r.propellant_remaining_kg)
    assert np.all(prop >= 0.0) and np.all(prop <= float(frigoris_params.vehicle.propellant_kg))
    # With a 40 s altimeter delay and milli-g biases some runs fail: the batch is not all one outcome.
    assert len(set(codes.tolist())) > 1


def test_perfect_sensors_estimate_equals_truth(frigoris_params: Params):
    p = frigoris_params
    t = p.terrain
    # A map equal to the truth and an IMU without errors: navigation must track the truth exactly. The
    # altimeter keeps a latency (0.2 s, four times the presets'): the filter predicts each reading at its
    # time of validity, so a known latency costs nothing (uncompensated it was 0.2 s times the range rate,
    # metres in the approach).
    p = p.replace(
        terrain=t.replace(onboard=t.truth, map_fidelity=jnp.float32(1.0)),
        altimeter=p.altimeter.replace(
            noise_floor_m=jnp.float32(0.0),
            noise_fraction=jnp.float32(0.0),
            latency_s=jnp.float32(0.2),
            dropout_prob=jnp.float32(0.0),
            velocity_noise_mps=jnp.float32(0.0),
        ),
        imu=p.imu.replace(
            velocity_random_walk_mps_per_sqrt_s=jnp.float32(0.0),
            gyro_angle_random_walk_deg_per_sqrt_h=jnp.float32(0.0),
        ),
    )
    result, trace = jax.jit(simulate_trace, static_argnums=(2, 3))(
        p, jax.random.key(0), 50, trace_length(p, 50)
    )
    flying = np.asarray(trace.true_altitude_m) > 0.0  # records after contact hold the touchdown state
    # Same physics on the same inputs: equal to float32 rounding (XLA may fuse the two lookups
    # differently, a last-bit difference), where any modelling asymmetry would show metres.
    np.testing.assert_allclose(
        np.asarray(trace.estimated_altitude_m)[flying],
        np.asarray(trace.true_altitude_m)[flying],
        rtol=0,
        # Two float32 ulps at 20 km (the specific force makes a body-frame round trip), plus the beams: the
        # truth and the prediction are two ray casts (truth and map through different attitudes), each
        # converged to ~mm at km slant ranges (the prediction's from a bracket 4x wider: it reaches 4x the
        # instrument's range), so a reading's innovation is mm to a cm, not zero (1.2 cm at most without
        # latency). With latency the prediction also takes the map cast's range rate, whose slope term
        # jumps at grid-cell edges the two casts may straddle a millimetre apart: measured 6.5, 3.4 and 1.7 cm
        # at most with 0.2, 0.1 and 0.4 s, not growing with the latency; uncompensated, 0.2 s was 9.6 m.
        atol=0.1,
    )
    assert flying.sum() > 100
    assert OUTCOMES[int(result.outcome)] == "landed"


def test_a_lander_that_believes_itself_below_the_map_takes_its_readings(frigoris_params: Params):
    # Truth 4 km above the estimate at PDI: when the rangefinder's first valid reading comes (~3 km true),
    # the estimate lies ~5 km below the map, where a beam cast from it meets no ground. The prediction
    # continues the level-ground row below the surface, the gate accepts the reading, and the estimate
    # joins the truth (before the fix it discarded every reading and stayed kilometres underground).
    p = frigoris_params
    p = p.replace(navigation=p.navigation.replace(initial_altitude_error_m=jnp.float32(-4000.0)))
    result, trace = jax.jit(simulate_trace, static_argnums=(2, 3))(
        p, jax.random.key(0), 50, trace_length(p, 50)
    )
    first = float(np.asarray(result.events)[EVENTS.index("altimeter_first_valid"), 0])
    t = np.asarray(trace.t_s)
    true_alt, est_alt = np.asarray(trace.true_altitude_m), np.asarray(trace.estimated_altitude_m)
    before, after = int(np.searchsorted(t, first)) - 1, int(np.searchsorted(t, first + 1.0))
    assert np.isfinite(first) and true_alt[before] > 2000.0
    assert est_alt[before] < -1000.0  # the path under test: the belief is underground
    assert abs(est_alt[after] - true_alt[after]) < 100.0
    assert int(result.altimeter_rejections) == 0


def test_perfect_gyros_keep_the_attitude_knowledge_error_fixed_in_the_site_frame(frigoris_params: Params):
    # The gyros measure every slew, so the estimate turns with the body: C_true = (I + [eps x]) C_est with
    # eps constant in the site frame (Groves 2013, sec. 5.6), however far the lander pitches. Kept in body
    # axes instead, the error turned with each slew (tens of degrees through braking and pitch-over) and
    # the filter, which assumes it fixed, was over-confident in attitude and bias once readings came in.
    p = frigoris_params
    p = p.replace(
        imu=p.imu.replace(gyro_angle_random_walk_deg_per_sqrt_h=jnp.float32(0.0)),
        navigation=p.navigation.replace(
            initial_attitude_error_x_deg=jnp.float32(0.02), initial_attitude_error_y_deg=jnp.float32(-0.01)
        ),
    )
    result, trace = jax.jit(simulate_trace, static_argnums=(2, 3))(
        p, jax.random.key(0), 20, trace_length(p, 20)
    )
    first = float(np.asarray(result.events)[EVENTS.index("altimeter_first_valid"), 0])
    t = np.asarray(trace.t_s)
    before = (t < first) & (np.asarray(trace.true_altitude_m) > 0.0)
    eps = np.asarray(trace.nav_error)[before][:, 6:9]  # site frame, mrad
    tilt = np.asarray(trace.tilt_deg)[before]
    assert tilt.max() - tilt.min() > 10.0  # the body did turn
    np.testing.assert_allclose(eps, np.broadcast_to(eps[0], eps.shape), atol=2e-3 * np.abs(eps[0]).max())
