"""Altimeter beams, their Doppler channel, and the IMU error models.

Altimeter (laser rangefinder, radar or Navigation Doppler Lidar): one to four beams fixed in the body
frame. Each beam's slant range is ray-cast against the *true* elevation model along the *true* beam
direction (``riskengine.core.elevation``): no reading beyond ``max_range_m`` of slant range or beyond
``max_incidence_deg`` between the beam and the ground normal (too little light or echo comes back), and
the range is that of the mean ground height over the beam's spot (``beam_divergence_mrad``: a laser's
metre-scale spot resolves a boulder, a radar's ~100 m spot averages a crater). A lander pitched ~60 deg in
braking sees a beam along its thrust axis ~2x further than its height, so a short-range altimeter comes
into range only once the lander pitches up or gets low: the beam geometry is part of what the product's
"sensor latency" measures. After first coming into range the instrument needs ``acquisition_delay_s``
before its first valid reading (Mission 2's LRF: designed from ~3 km, first valid below ~900 m; ispace,
24 June 2025). Each reading is ``latency_s`` old, has 1-sigma noise ``noise_floor + noise_fraction *
range`` and drops out with a fixed probability.

Doppler channel (Navigation Doppler Lidar: three beams 22.5 deg off the boresight, 120 deg apart;
Amzajerdian et al., "Doppler lidar sensor for precision landing on the Moon and Mars", IEEE Aerospace
2012; the Apollo landing radar's velocity beams): each beam also measures the velocity along its line of
sight relative to the ground, with white noise ``velocity_noise_mps``; it shares the beam's range limit,
acquisition and validity (one instrument, declared failed together). Three non-coplanar beams measure the
whole velocity vector; one beam only its line-of-sight component.

IMU (strapdown, body axes): the accelerometer measures specific force through a scale-factor error and a
small misalignment of its triad, plus a constant bias and white noise (velocity random walk); the
navigation resolves the measurement with its *estimated* attitude and subtracts its estimated bias. Gyro
errors grow the attitude-knowledge error (``attitude``). A 0.1 deg knowledge error at 2.8 m/s^2 of braking
thrust is ~0.5 milli-g of apparent acceleration: as large as a tactical accelerometer bias.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from riskengine.core import elevation, frames
from riskengine.core.params import AltimeterParams, Array, ElevationModel, ImuParams

PPM = 1e-6


def altimeter_sigma(alt: AltimeterParams, range_m: Array) -> Array:
    """1-sigma range noise at ``range_m``, m."""
    return alt.noise_floor_m + alt.noise_fraction * jnp.abs(range_m)


def beam_direction_body(tilt_deg: float, azimuth_deg: float) -> np.ndarray:
    """(3,) unit direction ``tilt_deg`` from body -z towards body azimuth ``azimuth_deg`` (from +x towards
    +y); host-side, for building the parameters."""
    t, a = np.deg2rad(tilt_deg), np.deg2rad(azimuth_deg)
    return np.array([np.sin(t) * np.cos(a), np.sin(t) * np.sin(a), -np.cos(t)])


def beam_directions_body(alt: AltimeterParams) -> Array:
    """(B, 3) unit beam directions in the body: the preset's beams (laid out about body -z) turned by the
    rotation that takes body -z to the canted boresight (Rodrigues' formula about ``-z x boresight``)."""
    t, a = jnp.deg2rad(alt.boresight_tilt_deg), jnp.deg2rad(alt.boresight_azimuth_deg)
    k = jnp.stack([jnp.sin(a), -jnp.cos(a), jnp.zeros_like(a)])  # unit (-z) x boresight / sin(t)
    d = alt.beam_directions
    k_d = jnp.cross(jnp.broadcast_to(k, d.shape), d)
    return d * jnp.cos(t) + k_d * jnp.sin(t) + k[None, :] * (d @ k)[:, None] * (1.0 - jnp.cos(t))


class BeamGeometry(NamedTuple):
    range_m: Array  # slant range to the spot's mean ground height along the beam
    range_rate_mps: Array  # d(range)/dt for the beam held fixed in direction
    ok: Array  # a return: ground within range, incidence within limit
    normal: Array  # (3,) ground normal at the spot (site frame)
    descent: Array  # -u . n, the cosine of the incidence angle (> 0 for a beam meeting the ground)
    up: Array  # (3,) local vertical at the spot
    slope_tan: Array  # |ground gradient| at the spot


def beam_geometry(
    alt: AltimeterParams,
    ground: ElevationModel | elevation.Surface,
    p: Array,
    v: Array,
    u: Array,
    radius_m: Array,
    reach_m: Array | None = None,
) -> BeamGeometry:
    """What a beam along ``u`` (site frame) from ``p`` moving at ``v`` sees of ``ground``, out to
    ``reach_m`` of slant range (default: the instrument's ``max_range_m``).

    The spot's mean height is taken from its centre and four points at its edge (across the beam, and along
    its ground track stretched by the incidence), which leaves a plane unchanged and pulls the range
    towards the mean of a curved surface (a crater rim, a boulder field). Range rate for a fixed beam over
    locally planar ground: ``-(n . v) / (n . u)``.
    """
    surf = elevation.as_surface(ground)
    reach = alt.max_range_m if reach_m is None else reach_m
    t, x, grad, hit = elevation.raycast(surf, p, u, radius_m, reach)
    normal = elevation.ground_normal(x, radius_m, grad)
    cos_inc = -(u @ normal)
    up = frames.local_up(x, radius_m)
    along = frames.local_along(up)
    cross = jnp.cross(up, along)
    s, c = elevation.track_coordinates(x, radius_m)
    spot = 0.5e-3 * alt.beam_divergence_mrad * t  # spot radius
    track = jnp.stack([u @ along, u @ cross])
    norm = jnp.linalg.norm(track)
    # A beam near the vertical has no ground track: its spot is round, any axis will do.
    track = jnp.where(norm > 1e-3, track / jnp.maximum(norm, 1e-3), jnp.array([1.0, 0.0], jnp.float32))
    stretch = spot / jnp.maximum(cos_inc, 0.2)
    z0, _ = elevation.surface_lookup(surf, s, c)
    z_sum = z0
    for da in (stretch, -stretch):
        z, _ = elevation.surface_lookup(surf, s + da * track[0], c + da * track[1])
        z_sum = z_sum + z
    for dc in (spot, -spot):
        z, _ = elevation.surface_lookup(surf, s - dc * track[1], c + dc * track[0])
        z_sum = z_sum + z
    descent = jnp.maximum(-(u @ up), elevation.MIN_DESCENT)
    range_m = t - (z_sum / 5.0 - z0) / descent
    ok = hit & (cos_inc >= jnp.cos(jnp.deg2rad(alt.max_incidence_deg))) & (range_m <= reach)
    rate = -(normal @ v) / jnp.minimum(-cos_inc, -1e-3)
    return BeamGeometry(range_m, rate, ok, normal, jnp.maximum(cos_inc, 1e-3), up, jnp.linalg.norm(grad))


def altimeter_reading(alt: AltimeterParams, range_m: Array, range_rate_mps: Array, z: Array) -> Array:
    """A reading of true slant range ``range_m`` changing at ``range_rate_mps``.

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


def thrust_error_ppm(imu: ImuParams) -> Array:
    """(3,) the accelerometer's error per unit thrust acceleration along body z, ppm: ``measured_body``
    of ``(0, 0, f)`` is ``f + k f`` to first order, ``k = (m_y, -m_x, s)`` (the navigation filter's SFM
    state; second-order terms, ``s m``, are ~1e-7)."""
    mx, my = jnp.deg2rad(imu.accel_misalignment_x_deg), jnp.deg2rad(imu.accel_misalignment_y_deg)
    return jnp.stack([my / PPM, -mx / PPM, imu.accel_scale_factor_ppm])


def white_accel(imu: ImuParams, dt: Array, z3: Array) -> Array:
    """(3,) step-mean white accelerometer noise: velocity random walk ``vrw`` grows as vrw * sqrt(t), so
    the step mean is vrw / sqrt(dt). ``z3`` is zero-mean, unit-variance noise."""
    return imu.velocity_random_walk_mps_per_sqrt_s / jnp.sqrt(dt) * z3
