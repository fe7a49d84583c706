"""Dynamic state of one descent (brax's ``State``): replaced every step, never mutated."""

from __future__ import annotations

from riskengine.core._pytree import PyTree, pytree_dataclass
from riskengine.core.navigation import AltitudeFilter
from riskengine.core.params import Array


@pytree_dataclass
class Draws(PyTree):
    """Per-sample random constants drawn once at initialisation."""

    local_gradient: Array  # (2,) random terrain gradient at touchdown (x, y), dimensionless
    rock_m: Array  # rock height under one footpad


@pytree_dataclass
class Touchdown(PyTree):
    """State at ground contact (interpolated within the step), or at the end of the run."""

    position_m: Array  # (3,)
    velocity_mps: Array  # (3,)
    t_s: Array
    propellant_kg: Array
    ran_dry: Array  # bool: tanks empty before contact


@pytree_dataclass
class State(PyTree):
    step: Array  # int32
    position_m: Array  # (3,) true, site frame
    velocity_mps: Array  # (3,)
    propellant_kg: Array
    est_position_m: Array  # (3,) navigation estimate
    est_velocity_mps: Array  # (3,)
    altitude_filter: AltitudeFilter
    thrust_dir: Array  # (3,) current unit thrust direction (before pointing bias)
    cmd_dir: Array  # (3,) held guidance command
    cmd_throttle: Array  # held guidance command
    t_in_range_s: Array  # first time the altimeter was in range (inf until then)
    ran_dry: Array  # bool
    done: Array  # bool
    touchdown: Touchdown
    events: Array  # (n_events, 5), NaN rows until each event happens
    draws: Draws
