"""Attitude: the true body orientation, what navigation believes it is, and the slew-limited pointing.

* **Body frame**: ``z`` along the thrust axis (the main engine pushes the vehicle along body +z), ``y``
  crossrange at powered-descent initiation, ``x = y cross z``. The attitude is a unit quaternion
  ``(w, x, y, z)`` rotating body vectors into the site frame, ``C(q)``.
* **Knowledge**: navigation's attitude is ``C_est = C_true (I + [dtheta x])`` with ``dtheta`` the
  attitude-knowledge error in body axes (small angles, rad). It starts at the star-tracker alignment
  error and grows by gyro bias and angle random walk: the attitude is propagated by the gyros between
  fixes, and no star fix is taken during powered descent (thrust, plume and attitude rates).
* **Pointing**: the attitude controller turns the *estimated* thrust axis towards the guidance command
  by the smallest rotation, at most ``slew_rate * dt`` per step (no roll is commanded, as on a
  thrust-vector-pointing lander). The same physical rotation turns the true attitude, so the true thrust
  axis is off the command by the knowledge error: that is how attitude knowledge becomes a pointing error.
* The thrust line is misaligned from body z by the vehicle's small pointing bias about body x and y.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from riskengine.core import linalg
from riskengine.core.params import Array

E_Z = np.array([0.0, 0.0, 1.0], dtype=np.float32)
# deg/h -> rad/s and deg/sqrt(h) -> rad/sqrt(s)
DPH_TO_RADPS = float(np.deg2rad(1.0) / 3600.0)
DEG_PER_SQRT_H_TO_RAD_PER_SQRT_S = float(np.deg2rad(1.0) / 60.0)


def dcm(q: Array) -> Array:
    """(3, 3) body-to-site rotation matrix of unit quaternion ``q`` (w, x, y, z); columns are body axes."""
    w, x, y, z = q[0], q[1], q[2], q[3]
    return jnp.stack(
        [
            jnp.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)]),
            jnp.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)]),
            jnp.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]),
        ]
    )


def multiply(a: Array, b: Array) -> Array:
    """Hamilton product ``a b`` (rotation ``b`` then ``a``)."""
    aw, av = a[0], a[1:]
    bw, bv = b[0], b[1:]
    return jnp.concatenate([(aw * bw - av @ bv)[None], aw * bv + bw * av + jnp.cross(av, bv)])


def _normalised(q: Array) -> Array:
    return q / jnp.linalg.norm(q)


def between(a: Array, b: Array) -> Array:
    """Smallest rotation taking unit vector ``a`` to unit ``b`` (not antiparallel), as a quaternion."""
    return _normalised(jnp.concatenate([(1.0 + a @ b)[None], jnp.cross(a, b)]))


def initial(thrust_axis: Array) -> Array:
    """Attitude whose body z is ``thrust_axis`` (in the site x-z plane at PDI), body y along site y."""
    return between(jnp.asarray(E_Z), thrust_axis)


def estimated_axis(c_true: Array, knowledge_error: Array) -> Array:
    """Thrust axis (3,) as navigation believes it points: ``C_est e_z`` with ``C_est = C (I + [d x])``."""
    d = knowledge_error
    body = jnp.stack([d[1], -d[0], jnp.ones_like(d[0])])
    return _normalised(linalg.matvec(c_true, body))


def thrust_line(c_true: Array, bias_x_rad: Array, bias_y_rad: Array) -> Array:
    """True direction (3,) of the thrust: body z turned by the small misalignment about body x and y."""
    body = jnp.stack([bias_y_rad, -bias_x_rad, jnp.ones_like(bias_x_rad)])
    return _normalised(linalg.matvec(c_true, body))


def slew(q: Array, axis_est: Array, target: Array, cos_max: Array) -> Array:
    """Turn the attitude so the estimated thrust axis moves towards ``target`` by the smallest rotation,
    by at most the angle whose cosine is ``cos_max`` (the step's slew limit).

    Written without the angle: within reach the rotation quaternion is ``(1 + cos a, a x t)`` normalised
    (the half-angle identity); beyond it, ``(cos(m/2), sin(m/2) k)`` with the half-angle cosines from
    ``cos_max`` by square roots (no per-step trigonometric library calls, ~20 ns each per lane on CPU).
    """
    cos_a = jnp.clip(axis_est @ target, -1.0, 1.0)
    cross = jnp.cross(axis_est, target)
    k = cross / jnp.maximum(jnp.linalg.norm(cross), 1e-12)
    within = cos_a >= cos_max
    full = jnp.concatenate([(1.0 + cos_a)[None], cross])
    c_half = jnp.sqrt(jnp.maximum(0.5 * (1.0 + cos_max), 0.0))
    s_half = jnp.sqrt(jnp.maximum(0.5 * (1.0 - cos_max), 0.0))
    limited = jnp.concatenate([c_half[None], s_half * k])
    rot = _normalised(jnp.where(within, full, limited))
    return _normalised(multiply(rot, q))


def angle_between(a: Array, b: Array) -> Array:
    """Angle between unit vectors, rad (for reports and gates; uses arccos, not in the hot path)."""
    return jnp.arccos(jnp.clip(a @ b, -1.0, 1.0))


def grow_knowledge_error(
    error: Array, gyro_bias_radps: Array, arw_rad_per_sqrt_s: Array, dt: Array, z3: Array
) -> Array:
    """Attitude-knowledge error after ``dt``: gyro bias integrates linearly, angle random walk as
    ``arw * sqrt(dt)`` per step (``z3`` zero-mean, unit-variance)."""
    return error + gyro_bias_radps * dt + arw_rad_per_sqrt_s * jnp.sqrt(dt) * z3
