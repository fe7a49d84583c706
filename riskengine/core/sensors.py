"""Altimeter, Doppler and IMU error models.

Altimeter (laser rangefinder or radar): reports height above the terrain directly below. It gives
nothing above ``max_range_m``; after first coming into range it needs ``acquisition_delay_s`` before its
first valid reading (Mission 2's LRF: designed from ~3 km, first valid below ~900 m; ispace, 24 June
2025). Each reading is ``latency_s`` old, has 1-sigma noise ``noise_floor + noise_fraction * range`` and
drops out with a fixed probability.

Doppler channel (Navigation Doppler Lidar, the Apollo landing radar's velocity beams): shares the
altimeter's range, acquisition and validity (one instrument: declared failed together) and measures the
velocity relative to the ground in body axes with white noise (``velocity_noise_mps`` per axis); the
navigation resolves it with its estimated attitude. ``velocity_channel`` 0 means the instrument has none.

IMU (strapdown, body axes): the accelerometer measures specific force through a scale-factor error and a
small misalignment of its triad, plus a constant bias and white noise (velocity random walk); the
navigation resolves the measurement with its *estimated* attitude and subtracts its estimated bias. Gyro
errors grow the attitude-knowledge error (``attitude``). A 0.1 deg knowledge error at 2.8 m/s^2 of braking
thrust is ~0.5 milli-g of apparent acceleration: as large as a tactical accelerometer bias.
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core.params import AltimeterParams, Array, ImuParams

PPM = 1e-6


def altimeter_sigma(alt: AltimeterParams, range_m: Array) -> Array:
    """1-sigma range noise at ``range_m``, m."""
    return alt.noise_floor_m + alt.noise_fraction * jnp.abs(range_m)


def altimeter_reading(alt: AltimeterParams, range_m: Array, range_rate_mps: Array, z: Array) -> Array:
    """A reading of true height above terrain ``range_m`` changing at ``range_rate_mps``.

    Latency is applied to first order (``range - latency * rate``): latencies are tenths of a second, over
    which the neglected term (0.5 * accel * latency^2) is centimetres. ``z`` is a standard normal draw.
    """
    delayed = range_m - alt.latency_s * range_rate_mps
    return delayed + altimeter_sigma(alt, delayed) * z


def accel_bias(imu: ImuParams) -> Array:
    """(3,) accelerometer bias, body axes, m/s^2."""
    return jnp.stack([imu.bias_x_mps2, imu.bias_y_mps2, imu.bias_z_mps2])


def gyro_bias_dph(imu: ImuParams) -> Array:
    """(3,) gyro bias, body axes, deg/h."""
    return jnp.stack([imu.gyro_bias_x_dph, imu.gyro_bias_y_dph, imu.gyro_bias_z_dph])


def measured_body(imu: ImuParams, true_body: Array) -> Array:
    """Accelerometer's view of a body-frame vector: scale factor and triad misalignment (small angles)."""
    m = jnp.stack(
        [
            jnp.deg2rad(imu.accel_misalignment_x_deg),
            jnp.deg2rad(imu.accel_misalignment_y_deg),
            jnp.zeros_like(imu.accel_misalignment_x_deg),
        ]
    )
    return (1.0 + imu.accel_scale_factor_ppm * PPM) * (true_body + jnp.cross(m, true_body))


def white_accel(imu: ImuParams, dt: Array, z3: Array) -> Array:
    """(3,) step-mean white accelerometer noise: velocity random walk ``vrw`` grows as vrw * sqrt(t), so
    the step mean is vrw / sqrt(dt). ``z3`` is zero-mean, unit-variance noise."""
    return imu.velocity_random_walk_mps_per_sqrt_s / jnp.sqrt(dt) * z3
