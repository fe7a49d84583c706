"""Hazard detection and avoidance (HDA): one lidar scan of the ground below, one divert to a safe spot.

Model, after the flown and tested systems: Chang'e-3 hovered ~100 m up, imaged the ground below with a
3-D lidar, picked a safe spot and flew to it before descending (Zhang et al., "Guidance, navigation and
control for Chang'E-3 powered descent", Sci. China Tech. Sci. 57, 2014); NASA's ALHAT hazard detection
system judged every lander-sized spot of a lidar elevation map by its plane-fit slope and roughness and
chose the safe one that costs the least divert (Epp, Robertson & Brady, "Autonomous Landing and Hazard
Avoidance Technology (ALHAT)", IEEE Aerospace Conf. 2008; its requirement: detect slopes over 5 deg and
rocks over 30 cm; Strahan & Johnson, "Terrain hazard detection and avoidance during the descent and
landing phase", AIAA, for Altair).

* **When**: once, on a guidance cycle of the terminal descent, when the *estimated* height above the onboard
  map first falls to ``scan_height_m`` (0: no hazard detection; the Hakuto-R-class presets fly without it).
* **What it sees**: the true ground around the point below the lander (the terminal descent nulls its
  horizontal motion and lands where it is, so that point is where it would land). Candidates are a fixed
  grid of ``(2 K + 1)^2`` spots over ``+-divert_radius_m``, those inside that radius (``K`` =
  ``GRID_HALF_WIDTH``: 81 spots, ``radius / 5`` apart). Each is judged by the tilt its footpads would take,
  the true ground's gradient over the footpad span (``terrain.footprint_gradient``, the same plane the
  touchdown classification uses), measured with a Gaussian error of ``slope_noise_deg`` per spot (the
  lidar's range noise over the footprint; ALHAT's requirement was slopes to ~1-2 deg).
* **Choice**: the spot nearest the point below whose measured tilt is at most ``safe_slope_deg`` (the
  least divert, so the least hover propellant); when none is, the least tilted one.
* **Divert**: relative, as a lidar-based divert is: the lander flies to its *estimated* position at the scan
  plus the chosen spot's offset, so the navigation's absolute error (hundreds of metres without a position
  fix) does not enter, only its drift after the scan. The terminal law steers to that aim point at up to
  ``divert_speed_mps`` (``guidance.terminal_accel``) and hovers while it moves faster than twice the
  terminal horizontal limit, as Chang'e-3 did.

What it cannot see: the sub-grid gradient and the rock under a footpad are drawn at touchdown
(``state.Draws``), not fields a scan could image, so they stay as they are. Conservative: a lidar at
decimetre resolution sees a rock.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.core import elevation, noise, terrain, touchdown
from riskengine.core.params import Array, Params

GRID_HALF_WIDTH = 5  # candidate spots radius / 5 apart over +-radius: 81 inside the disk
# The scan's noise is its own counter-based stream: the sample's seed with this word xor-ed into its first
# half ("HAZD"), so the per-step streams (noise.uniforms with the step's counter) are not reused.
_STREAM_TAG = np.uint32(0x48415A44)

_I, _J = np.meshgrid(
    np.arange(-GRID_HALF_WIDTH, GRID_HALF_WIDTH + 1), np.arange(-GRID_HALF_WIDTH, GRID_HALF_WIDTH + 1)
)
_INSIDE = _I * _I + _J * _J <= GRID_HALF_WIDTH * GRID_HALF_WIDTH
# (N, 2) unit offsets (multiples of the radius) of the candidate spots, nearest first so that ties go to the
# smaller divert; numpy: importing the core must not start JAX.
_UNIT = np.stack([_I[_INSIDE], _J[_INSIDE]], axis=-1).astype(np.float32) / GRID_HALF_WIDTH
_UNIT = _UNIT[np.argsort(np.hypot(_UNIT[:, 0], _UNIT[:, 1]), kind="stable")]
N_CANDIDATES = int(_UNIT.shape[0])


def candidate_offsets(radius_m: Array) -> Array:
    """(N_CANDIDATES, 2) ground offsets (downrange, crossrange) of the candidate spots, m, nearest first."""
    return jnp.asarray(_UNIT) * radius_m


def scan_noise(noise_seed: Array, step: Array) -> Array:
    """(N_CANDIDATES,) standard normals for the scan taken at ``step`` (the sample's own stream)."""
    seed = jnp.stack([noise_seed[0] ^ _STREAM_TAG, noise_seed[1]])
    return noise.gaussian(noise.uniforms(seed, step, N_CANDIDATES))


def measured_tilts_deg(params: Params, s: Array, c: Array, offsets: Array, z: Array) -> Array:
    """(N,) tilt the footpads would take at each spot ``(s, c) + offset``, deg, as the scan measures it."""
    half = params.vehicle.footprint_radius_m

    def tilt(d: Array) -> Array:
        grad = terrain.footprint_gradient(params.terrain, s + d[0], c + d[1], half)
        return touchdown.tilt_deg(grad, jnp.float32(0.0))

    return jax.vmap(tilt)(offsets) + params.hazard_detection.slope_noise_deg * z


def choose_spot(params: Params, position_m: Array, z: Array) -> tuple[Array, Array]:
    """(offset (2,) of the chosen spot from the point below ``position_m``, m; its measured tilt, deg).

    ``z``: (N_CANDIDATES,) standard normals, the scan's measurement errors."""
    h = params.hazard_detection
    s, c = elevation.track_coordinates(position_m, params.body.radius_m)
    offsets = candidate_offsets(h.divert_radius_m)
    tilts = measured_tilts_deg(params, s, c, offsets, z)
    safe = tilts <= h.safe_slope_deg
    # Safe spots cost their distance (nearest first, so argmin takes the nearest); unsafe ones cost more
    # than any safe one, in order of tilt.
    distance = jnp.hypot(offsets[:, 0], offsets[:, 1])
    cost = jnp.where(safe, distance, 4.0 * h.divert_radius_m + tilts)
    best = jnp.argmin(cost)
    return offsets[best], tilts[best]
