"""Touchdown classification: what happened at contact (a ``TouchdownMode``) and the standard outcome it
counts as (``MODE_OUTCOME``), one pair of int32 codes per trajectory.

Priority (first match wins; the standard outcome in brackets):

1. ``no_contact`` (timeout): no ground contact within the simulated time.
2. ``dry_before_contact`` (propellant_exhausted): the tanks ran dry before contact and the contact was not
   ``safe``: the cause is the propellant, whatever the impact.
3. ``crushed`` (crashed): total impact speed above ``crash_speed_mps``.
4. ``tipped_static`` (tip_over): the tilt at rest exceeds the static tip angle ``atan(b / h)`` (CG outside
   the downhill pad; 52.4 deg for the m1 class).
5. ``tipped_dynamic`` (tip_over): the impact exceeds the stability envelope below.
6. ``over_vertical_limit``, 7. ``over_horizontal_limit`` (hard_landing): above the gear's speed limits.
8. ``at_rest_beyond_operational_tilt`` (hard_landing): stable and intact, at rest tilted beyond
   ``max_slope_deg``.
9. ``safe`` (landed).

Why a lander at rest beyond ``max_slope_deg`` is a ``hard_landing``: 12 deg is an *operational* limit (the
Apollo LM's liftoff tilt, Chandrayaan-3's specification; Apollo 15 settled at ~11 deg and flew), not a
tip-over: the vehicle is down, upright and intact. It is not ``landed`` either: it is outside the touchdown
specification (no liftoff; solar array, antenna and payload pointing degraded), so counting it as a success
would overstate mission success, and as ``tip_over`` would overstate the loss. ``hard_landing`` is the
standard code for "down intact, outside the specification", so ``p_success`` keeps meaning "landed within
specification" and the mode keeps the tilt apart from over-speed landings for whoever needs the difference
(a planner judging degraded operations, an insurer whose trigger is loss of the vehicle).

Stability envelope: a planar impact of a point mass at the CG about one footpad (the rigid-plastic
landing of the classical analyses: Lockheed Missiles and Space Co., "Stability of cushioned lunar landing",
1961, DTIC AD0269413, a planar analysis of a crushable-pad vehicle on a slope whose rigid-plastic idealisation
matched drop tests; R. E. Lavender, "Monte Carlo approach to touchdown dynamics for soft lunar landing",
NASA TN D-3117, 1965, stability boundaries over touchdown velocity, slope and heading for LEM-class vehicles.
The Apollo LM analyses by Walton & Durling and by Zupp & Doiron are full rigid-body, stroking-leg versions
of the same check; their report numbers are not verified here).

* Geometry: ``b`` footprint radius, ``h`` CG height above the pad plane, ``d = sqrt(b^2 + h^2)``,
  ``A = atan(b / h)``. In the vertical plane of a horizontal unit vector ``e`` (pivot pad at ``+b e``) the
  pad plane descends towards the pivot by ``tau = atan(-grad . e) + rock`` (the rock under one pad is taken
  to tilt the vehicle towards the pivot: worst case), so the pivot-to-CG line is ``beta = A - tau`` off the
  vertical. ``beta <= 0``: statically unstable.
* Impact: the velocity along the pad plane towards the pivot, ``v_s = u cos(tau) + w sin(tau)`` (``u = v_h . e``,
  ``w`` sink speed, positive down; the sink on a slope adds to it), is stopped by the pad, which is pinned.
  Angular momentum about the pad is conserved, so the CG keeps only the part perpendicular to the
  pivot-to-CG line, ``v_s cos A``. It tips if ``0.5 (max(v_s, 0) cos A)^2 > g d (1 - cos beta)``, the work to
  lift the CG over the pad.
* Which pad, two planes (tips if either tips): the **slide plane**, ``e`` along the horizontal part of the
  velocity tangential to the ground, the pad on the side the vehicle slides to (the friction impulse that
  pins a pad opposes the slide, and the whole tangential velocity lies in this plane; a lander sinking on a
  slope with no horizontal speed slides downhill); and the **fall line**, ``e`` downhill, where the tilt
  and so the static margin is smallest. Moving downhill both coincide (least stable); uphill the slope
  increases ``beta`` and reduces ``v_s`` (most stable); across lies between.
* Leg stroke, and why it has no parameter: the velocity normal to the pad plane is taken up by the strokes
  and does not enter the criterion. Whatever fraction they dissipate, the rest cannot tip the vehicle: with
  the pad pinned, an into-slope normal velocity would swing the CG *away* from that pad (``-v_n sin A``,
  stabilising), and the elastic remainder returns as a rebound that lifts all pads together (a pad cannot
  pull on the ground). Ignoring the stabilising term is conservative.
* Other conservative simplifications (ESTIMATE: each errs towards tipping): the pad never slides (infinite
  friction: the pad digs into regolith or stops against a rock or crater rim, the design case); the stroke
  does not lower the CG; a point mass carries the most rotational energy (a body with radius of gyration
  ``k`` keeps a fraction ``d^2 / (d^2 + k^2)``). Not conservative: the footprint is a circle of radius
  ``b``; a four-legged lander tipping across two pads has ``b cos 45 deg`` (the yaw at touchdown is not
  simulated).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from riskengine.core.outcomes import MODE_OUTCOME, TouchdownMode
from riskengine.core.params import Array, VehicleParams

# numpy, not jax: importing the core must not start JAX (Ray workers fork after import).
_MODE_OUTCOME = np.array([MODE_OUTCOME[m] for m in TouchdownMode], dtype=np.int32)
_EPS = 1e-6  # below this a direction (unit vector) is undefined and the fallback is used


def _dot(a: Array, b: Array) -> Array:
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]


def _unit(v: Array, fallback: Array) -> Array:
    n = jnp.sqrt(_dot(v, v))[..., None]
    ok = n > _EPS
    return jnp.where(ok, v / jnp.where(ok, n, 1.0), fallback)


def tilt_deg(terrain_gradient: Array, rock_tilt_deg: Array) -> Array:
    """Tilt of the landed vehicle, deg: the ground slope ``atan(|grad|)`` of the (2,) gradient plus the rock."""
    g = jnp.asarray(terrain_gradient, jnp.float32)
    return jnp.rad2deg(jnp.arctan(jnp.sqrt(_dot(g, g)))) + rock_tilt_deg


def static_tip_angle_deg(vehicle: VehicleParams) -> Array:
    """Tilt at which the CG passes over the downhill pad, ``atan(b / h)``, deg."""
    return jnp.rad2deg(jnp.arctan2(vehicle.footprint_radius_m, vehicle.cg_height_m))


def _tips_about(
    vehicle: VehicleParams, e: Array, v_h: Array, sink: Array, grad: Array, rock: Array, g: Array
) -> Array:
    """Dynamic tip about the pad at ``+b e``, in the vertical plane of the (2,) unit vector ``e``."""
    b = vehicle.footprint_radius_m
    h = vehicle.cg_height_m
    d = jnp.sqrt(b * b + h * h)
    a = jnp.arctan2(b, h)
    tau = jnp.arctan(-_dot(grad, e)) + rock
    beta = a - tau
    v_s = _dot(v_h, e) * jnp.cos(tau) + sink * jnp.sin(tau)
    rotational = 0.5 * jnp.square(jnp.maximum(v_s, 0.0) * (h / d))
    lift = g * d * (1.0 - jnp.cos(beta))
    return (beta > 0.0) & (rotational > lift)


def stability(
    vehicle: VehicleParams,
    vertical_speed_mps: Array,
    horizontal_velocity_mps: Array,
    terrain_gradient: Array,
    rock_tilt_deg: Array,
    g_mps2: Array,
) -> tuple[Array, Array]:
    """(statically unstable, tips dynamically) booleans for a touchdown (module docstring).

    ``vertical_speed_mps``: sink speed, positive down. ``horizontal_velocity_mps``, ``terrain_gradient``:
    (2,) in the same local-horizontal frame, m/s and ``(dz/dx, dz/dy)``. ``rock_tilt_deg``: extra tilt from
    a rock under one pad. ``g_mps2``: surface gravity.
    """
    v_h = jnp.asarray(horizontal_velocity_mps, jnp.float32)
    grad = jnp.asarray(terrain_gradient, jnp.float32)
    sink = jnp.asarray(vertical_speed_mps, jnp.float32)
    rock = jnp.deg2rad(rock_tilt_deg)
    x_axis = jnp.broadcast_to(jnp.array([1.0, 0.0], jnp.float32), grad.shape)
    downhill = _unit(-grad, x_axis)
    # Horizontal part of the velocity tangential to the ground: V - (V.n) n with n = (-grad, 1) / N.
    into = -_dot(grad, v_h) - sink  # N (V . n)
    slide = _unit(v_h + grad * (into / (1.0 + _dot(grad, grad)))[..., None], downhill)
    a = jnp.arctan2(vehicle.footprint_radius_m, vehicle.cg_height_m)
    static = a - (jnp.arctan(jnp.sqrt(_dot(grad, grad))) + rock) <= 0.0
    dynamic = _tips_about(vehicle, slide, v_h, sink, grad, rock, g_mps2) | _tips_about(
        vehicle, downhill, v_h, sink, grad, rock, g_mps2
    )
    return static, dynamic & ~static


def classify(
    vehicle: VehicleParams,
    contacted: Array,
    ran_dry: Array,
    vertical_speed_mps: Array,
    horizontal_velocity_mps: Array,
    terrain_gradient: Array,
    rock_tilt_deg: Array,
    g_mps2: Array,
) -> tuple[Array, Array]:
    """(outcome, mode) int32 codes (``Outcome``, ``TouchdownMode``) of one touchdown; arguments as in
    :func:`stability`, ``contacted`` and ``ran_dry`` booleans. Pure ``jax.numpy``: vmap and jit freely."""
    sink = jnp.asarray(vertical_speed_mps, jnp.float32)
    v_h = jnp.asarray(horizontal_velocity_mps, jnp.float32)
    h_speed = jnp.sqrt(_dot(v_h, v_h))
    static, dynamic = stability(vehicle, sink, v_h, terrain_gradient, rock_tilt_deg, g_mps2)
    m = TouchdownMode
    mode = jnp.full(jnp.shape(sink), m.SAFE, jnp.int32)
    mode = jnp.where(
        tilt_deg(terrain_gradient, rock_tilt_deg) > vehicle.max_slope_deg,
        m.AT_REST_BEYOND_OPERATIONAL_TILT,
        mode,
    )
    mode = jnp.where(h_speed > vehicle.max_horizontal_speed_mps, m.OVER_HORIZONTAL_LIMIT, mode)
    mode = jnp.where(sink > vehicle.max_vertical_speed_mps, m.OVER_VERTICAL_LIMIT, mode)
    mode = jnp.where(dynamic, m.TIPPED_DYNAMIC, mode)
    mode = jnp.where(static, m.TIPPED_STATIC, mode)
    mode = jnp.where(jnp.hypot(sink, h_speed) > vehicle.crash_speed_mps, m.CRUSHED, mode)
    mode = jnp.where(ran_dry & (mode != m.SAFE), m.DRY_BEFORE_CONTACT, mode)
    mode = jnp.where(contacted, mode, m.NO_CONTACT).astype(jnp.int32)
    return jnp.asarray(_MODE_OUTCOME)[mode], mode
