"""Per-step noise: a counter-based integer hash keyed once per sample.

Each sample draws two 32-bit seed words from its threefry key (``lane_seed``); the noise of step ``k``,
stream ``i`` is then a pure function of (seed, k, i): ``mix(mix(counter ^ s0) + s1)`` with Chris Wellons'
``lowbias32`` finaliser (hash-prospector; bias 0.17, near-ideal avalanche), turned into uniforms on
(0, 1) from the top 24 bits. It is still counter-based, so a sample's noise never depends on its batch.

Why not threefry per step: a vmapped ``fold_in`` plus ``normal`` costs ~170 ns per lane-step on this CPU,
more than the rest of the physics step; the hash costs ~1.5 ns per value. Shapes: white noise that is
integrated over many steps (IMU) or blended through a fixed-gain filter (Doppler) only matters through its
variance (central limit theorem), so it uses variance-matched uniforms (``centred``); the altimeter noise
meets the innovation gate's tails directly, so it is Gaussian (``gaussian``: inverse CDF via erf_inv, no
trigonometry: Box-Muller's sin/cos are scalar library calls on CPU, ~19 ns each). Statistical checks:
tests/core/test_noise.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.core.params import Array

_M1 = np.uint32(0x7FEB352D)  # numpy: importing the core must not start JAX
_M2 = np.uint32(0x846CA68B)


def lane_seed(key: Array) -> Array:
    """(2,) uint32 seed words for one sample's noise stream."""
    return jax.random.bits(key, (2,), jnp.uint32)


def _mix(x: Array) -> Array:
    x = x ^ (x >> 16)
    x = x * _M1
    x = x ^ (x >> 15)
    x = x * _M2
    return x ^ (x >> 16)


def uniforms(seed: Array, step: Array, n: int) -> Array:
    """(n,) float32 uniforms on the open interval (0, 1) for ``step``."""
    counter = step.astype(jnp.uint32) * jnp.uint32(n) + jnp.arange(n, dtype=jnp.uint32)
    h = _mix(_mix(counter ^ seed[0]) + seed[1])
    return ((h >> 8).astype(jnp.float32) + 0.5) * jnp.float32(2.0**-24)


def centred(u: Array) -> Array:
    """Zero-mean, unit-variance noise from uniforms on (0, 1) (uniform on +-sqrt(3))."""
    return (u - 0.5) * jnp.float32(12.0**0.5)


def gaussian(u: Array) -> Array:
    """Standard normals from uniforms on (0, 1) by the inverse CDF."""
    return jnp.float32(2.0**0.5) * jax.lax.erf_inv(2.0 * u - 1.0)
