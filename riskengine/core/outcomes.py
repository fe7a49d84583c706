"""Per-trajectory outcome codes, carried inside the batch as int32 (never raised as exceptions)."""

from __future__ import annotations

import enum


class Outcome(enum.IntEnum):
    """How one descent ended. Order is the classification priority (see ``touchdown.classify``)."""

    LANDED = 0
    HARD_LANDING = 1
    TIP_OVER = 2
    PROPELLANT_EXHAUSTED = 3
    CRASHED = 4
    TIMEOUT = 5


OUTCOMES: tuple[str, ...] = tuple(o.name.lower() for o in Outcome)
"""Outcome names indexed by code: ``OUTCOMES[int(result.outcome)]``."""

SUCCESS_OUTCOMES: tuple[str, ...] = ("landed",)


class TouchdownMode(enum.IntEnum):
    """What happened, finer than :class:`Outcome`; each mode counts as exactly one standard outcome
    (``MODE_OUTCOME``). Grouped in the order of their outcomes; the classification priority is in
    ``touchdown``."""

    SAFE = 0  # landed: within every limit
    AT_REST_BEYOND_OPERATIONAL_TILT = 1  # hard_landing: stable and intact, tilted beyond max_slope_deg
    OVER_VERTICAL_LIMIT = 2  # hard_landing: sink speed above the gear's limit, below crash speed
    OVER_HORIZONTAL_LIMIT = 3  # hard_landing: horizontal speed above the gear's limit
    TIPPED_DYNAMIC = 4  # tip_over: the impact's rotational energy lifts the CG over the pivot pad
    TIPPED_STATIC = 5  # tip_over: at rest the CG would lie outside the downhill pad
    DRY_BEFORE_CONTACT = 6  # propellant_exhausted: tanks empty before a contact that was not safe
    CRUSHED = 7  # crashed: total impact speed above crash_speed_mps
    NO_CONTACT = 8  # timeout: no ground contact within the simulated time


TOUCHDOWN_MODES: tuple[str, ...] = tuple(m.name.lower() for m in TouchdownMode)
"""Mode names indexed by code: ``TOUCHDOWN_MODES[int(mode)]``."""

MODE_OUTCOME: dict[TouchdownMode, Outcome] = {
    TouchdownMode.SAFE: Outcome.LANDED,
    # Intact and upright but outside the touchdown specification (no liftoff, degraded power or
    # pointing): neither a success nor a loss of the vehicle (see ``touchdown``).
    TouchdownMode.AT_REST_BEYOND_OPERATIONAL_TILT: Outcome.HARD_LANDING,
    TouchdownMode.OVER_VERTICAL_LIMIT: Outcome.HARD_LANDING,
    TouchdownMode.OVER_HORIZONTAL_LIMIT: Outcome.HARD_LANDING,
    TouchdownMode.TIPPED_DYNAMIC: Outcome.TIP_OVER,
    TouchdownMode.TIPPED_STATIC: Outcome.TIP_OVER,
    TouchdownMode.DRY_BEFORE_CONTACT: Outcome.PROPELLANT_EXHAUSTED,
    TouchdownMode.CRUSHED: Outcome.CRASHED,
    TouchdownMode.NO_CONTACT: Outcome.TIMEOUT,
}
"""The standard outcome each mode counts as in the cube."""
