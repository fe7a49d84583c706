"""Altimeter and IMU error models.

Altimeter (laser rangefinder or radar): reports height above the terrain directly below (the flown
systems project slant range with the known attitude; beam-footprint effects are ignored). It gives
nothing above ``max_range_m``; after first coming into range it needs ``acquisition_delay_s`` before its
first valid reading (Mission 2's LRF: designed from ~3 km, first valid below ~900 m). Each reading is
``latency_s`` old, has 1-sigma noise ``noise_floor + noise_fraction * range`` and drops out with a
fixed probability.

A Doppler channel (Navigation Doppler Lidar, the Apollo landing radar's velocity beams) shares the
altimeter's range, acquisition and validity (one instrument: declared failed together), and measures the
velocity relative to the ground on three axes with white noise; navigation blends it in with a fixed gain
(a steady-state Kalman gain). It sees velocity, not terrain, so a wrong map cannot corrupt it. Without it
the velocity error is pure IMU drift: metres per second after a 15-minute descent on a tactical-grade IMU.

IMU: the accelerometer measures specific force (thrust / mass) plus a constant bias and white noise. The
bias is given in the site frame: every run flies nearly the same attitude history, so a body-fixed bias
maps to a nearly fixed site-frame vector, and that vector is what studies disperse. Gyro errors enter
through the thrust pointing bias (``vehicle``).
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core.params import AltimeterParams, Array, ImuParams


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


def imu_bias(imu: ImuParams) -> Array:
    """(3,) accelerometer bias in the site frame, m/s^2."""
    return jnp.stack([imu.bias_x_mps2, imu.bias_y_mps2, imu.bias_z_mps2])


def imu_error(imu: ImuParams, dt: Array, z3: Array) -> Array:
    """(3,) specific-force error over one step: bias plus white noise of velocity random walk
    ``vrw`` (velocity error grows as vrw * sqrt(t), so the step-mean acceleration noise is vrw / sqrt(dt)).
    ``z3`` is zero-mean, unit-variance noise."""
    return imu_bias(imu) + imu.velocity_random_walk_mps_per_sqrt_s / jnp.sqrt(dt) * z3
