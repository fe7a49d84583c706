"""Dynamic state of one descent (brax's ``State``): replaced every step, never mutated.

Truth and estimate are kept apart: guidance and navigation read only the ``est_*`` fields, the filter and
the measurements; ``attitude`` is the true body attitude and ``attitude_knowledge_error_rad`` what
navigation's attitude is off from it (``riskengine.core.attitude``).
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core._pytree import PyTree, pytree_dataclass
from riskengine.core.events import EVENT_FIELDS, EVENTS
from riskengine.core.guidance import GuidanceState
from riskengine.core.navigation import NavFilter
from riskengine.core.params import Array


@pytree_dataclass
class Draws(PyTree):
    """Per-sample random constants drawn once at initialisation."""

    local_gradient: Array  # (2,) standard normal draw of the sub-grid ground gradient at touchdown
    rock_m: Array  # rock height under one footpad


@pytree_dataclass
class Touchdown(PyTree):
    """State at ground contact (interpolated within the step), or at the end of the run."""

    position_m: Array  # (3,)
    velocity_mps: Array  # (3,)
    t_s: Array
    propellant_kg: Array
    estimated_height_m: Array  # what navigation believed its height above the map was
    thrust_axis: Array  # (3,) true body z (site frame) at contact
    ran_dry: Array  # bool: tanks empty before contact
    contact: Array  # bool: the run ended on the ground (not by the time limit)


Row = tuple[Array, ...]  # one event's values, in EVENT_FIELDS order


@pytree_dataclass
class EventLog(PyTree):
    """First occurrence of each named event (``riskengine.core.events``), NaN until it happens.

    Held as one scalar per (event, field), not as an (n_events, 5) array: under ``vmap`` each is then a
    plain vector over lanes and recording is a few vectorised selects. Updating the small 2-D table on
    every step cost as much as the rest of the physics (measured: 195 vs 100 ns per lane-step).
    """

    rows: tuple[Row, ...]

    @staticmethod
    def empty() -> EventLog:
        nan = jnp.float32(jnp.nan)
        return EventLog(rows=tuple(tuple(nan for _ in EVENT_FIELDS) for _ in EVENTS))

    def record(self, event: int, when: Array, row: Row) -> EventLog:
        """Stamp ``event`` with ``row`` if ``when`` and not stamped before."""
        first = when & jnp.isnan(self.rows[event][0])
        new = tuple(jnp.where(first, x, old) for old, x in zip(self.rows[event], row, strict=True))
        return EventLog(rows=(*self.rows[:event], new, *self.rows[event + 1 :]))

    def table(self) -> Array:
        """(n_events, 5) table, columns in ``EVENT_FIELDS`` order."""
        return jnp.stack([jnp.stack(row, axis=-1) for row in self.rows], axis=-2)


@pytree_dataclass
class Heights(PyTree):
    """Heights at the current true and estimated positions, computed once at the end of the step that
    reached them and reused by the next step's sensing (each costs a downrange angle and a grid lookup)."""

    true_m: Array  # true position above the true terrain
    terrain_gradient: Array  # dz/ds of the true terrain under the true position
    estimated_m: Array  # estimated position above the onboard map (what the altimeter should read)
    map_gradient: Array  # dz/ds of the onboard map under the estimated position


@pytree_dataclass
class State(PyTree):
    step: Array  # int32, time in units of dt_s (a long braking step advances it by several)
    integration_steps: Array  # int32, steps taken while not done
    position_m: Array  # (3,) true, site frame
    velocity_mps: Array  # (3,)
    propellant_kg: Array
    attitude: Array  # (4,) true body-to-site quaternion (w, x, y, z)
    throttle: Array  # delivered throttle fraction (lags the command)
    est_position_m: Array  # (3,) navigation estimate
    est_velocity_mps: Array  # (3,)
    attitude_knowledge_error_rad: Array  # (3,) body axes: C_est = C_true (I + [e x])
    nav: NavFilter
    guidance: GuidanceState
    cmd_dir: Array  # (3,) held guidance command, site frame
    cmd_throttle: Array  # held guidance command
    heights: Heights
    t_in_range_s: Array  # first time the altimeter was in range (inf until then)
    ran_dry: Array  # bool
    done: Array  # bool
    touchdown: Touchdown
    events: EventLog
    draws: Draws
