"""Named moments of a descent, recorded inside the batch (first occurrence only).

Each event row holds ``(t_s, true_altitude_m, estimated_altitude_m, vertical_speed_mps, propellant_kg)``;
all NaN when the event never happened. Altitudes are above the local terrain (true) and above the
terrain the navigation believes in (estimated), which is what an altimeter and the crew display show.
"""

from __future__ import annotations

import enum


class Event(enum.IntEnum):
    POWERED_DESCENT_START = 0
    ALTIMETER_IN_RANGE = 1
    ALTIMETER_FIRST_VALID = 2
    ALTIMETER_REJECTED = 3
    ALTIMETER_DECLARED_FAILED = 4
    APPROACH_START = 5
    TERMINAL_DESCENT_START = 6
    PROPELLANT_EXHAUSTED = 7
    TOUCHDOWN = 8
    HAZARD_SCAN = 9  # the hazard-detection scan (riskengine.core.hazard_avoidance), if the suite has one


EVENTS: tuple[str, ...] = tuple(e.name.lower() for e in Event)
EVENT_FIELDS: tuple[str, ...] = (
    "t_s",
    "true_altitude_m",
    "estimated_altitude_m",
    "vertical_speed_mps",
    "propellant_kg",
)
