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
