"""What the public record says about a replay: the band of each uncertain input, and checkable facts.

A replay YAML states its inputs; two more sections say how far they may be trusted and what the flight
must show:

* ``ranges: {param_or_alias: [lo, hi]}``: the band of an input that the public facts allow (the replay's
  stated value should lie inside it). ``riskengine replay NAME --sweep`` flies the replay across it.
* ``facts: [{id, statement, source, quantity, op, value, tolerance}]``: statements from the public record,
  each a typed check of one named quantity of the replay's result (:meth:`ReplayRun.to_json`).

Quantities are a registry of extractors over that JSON (:data:`QUANTITIES`); a new one is one line. Every
event has ``event.<name>.<field>`` (fields of ``riskengine.core.EVENT_FIELDS``) and ``event.<name>.happened``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from riskengine.config.errors import config_error
from riskengine.config.parameters import PARAMETERS, resolve_path
from riskengine.core import EVENT_FIELDS, EVENTS
from riskengine.errors import ConfigError

if TYPE_CHECKING:
    from riskengine.replay import ReplayRun

Report = Mapping[str, Any]
Kind = Literal["number", "text", "bool"]
Scalar = bool | float | str


@dataclasses.dataclass(frozen=True)
class Quantity:
    kind: Kind
    extract: Callable[[Report], Scalar | None]  # None: not observed (an event that never happened, NaN)
    description: str = ""


def _field(name: str) -> Callable[[Report], Any]:
    return lambda r: r.get(name)


def _event(name: str, field: str) -> Callable[[Report], Any]:
    return lambda r: next((e.get(field) for e in r.get("events", ()) if e.get("name") == name), None)


def _happened(name: str) -> Callable[[Report], bool]:
    return lambda r: any(e.get("name") == name for e in r.get("events", ()))


def _between(first: str, then: str) -> Callable[[Report], float | None]:
    """Seconds from event ``first`` to event ``then`` (None unless both happened)."""

    def get(r: Report) -> float | None:
        t0, t1 = _event(first, "t_s")(r), _event(then, "t_s")(r)
        return None if t0 is None or t1 is None else round(t1 - t0, 2)

    return get


def _impact_speed(r: Report) -> float | None:
    vz, vh = r.get("impact_vertical_speed_mps"), r.get("impact_horizontal_speed_mps")
    return None if vz is None or vh is None else round(math.hypot(vz, vh), 2)


QUANTITIES: dict[str, Quantity] = {
    "outcome": Quantity("text", _field("outcome"), "one of riskengine.core.OUTCOMES"),
    "impact_vertical_speed_mps": Quantity(
        "number", _field("impact_vertical_speed_mps"), "sink speed at contact"
    ),
    "impact_horizontal_speed_mps": Quantity("number", _field("impact_horizontal_speed_mps")),
    "impact_speed_mps": Quantity("number", _impact_speed, "total speed at contact"),
    "slope_deg": Quantity("number", _field("slope_deg")),
    "propellant_remaining_kg": Quantity("number", _field("propellant_remaining_kg"), "at contact"),
    "propellant_loaded_kg": Quantity("number", _field("propellant_loaded_kg")),
    "miss_distance_m": Quantity(
        "number", _field("miss_distance_m"), "ground distance of contact from target"
    ),
    "duration_s": Quantity("number", _field("duration_s"), "PDI to contact"),
    "altimeter_rejections": Quantity("number", _field("altimeter_rejections")),
    "first_valid_true_altitude_m": Quantity(
        "number",
        _event("altimeter_first_valid", "true_altitude_m"),
        "height of the first valid altimeter reading",
    ),
    "altimeter_acquisition_delay_s": Quantity(
        "number", _between("altimeter_in_range", "altimeter_first_valid"), "first in range -> first valid"
    ),
    "terminal_descent_s": Quantity(
        "number", _between("terminal_descent_start", "touchdown"), "P66-like phase"
    ),
    "altimeter_failed_after_rejection_s": Quantity(
        "number",
        _between("altimeter_rejected", "altimeter_declared_failed"),
        "first rejection -> declared failed",
    ),
}
for _name in EVENTS:
    QUANTITIES[f"event.{_name}.happened"] = Quantity("bool", _happened(_name))
    for _f in EVENT_FIELDS:
        QUANTITIES[f"event.{_name}.{_f}"] = Quantity("number", _event(_name, _f))


# Tolerance always loosens: a fact "x <= 900 within 50" holds up to 950.
ORDER_OPS: dict[str, Callable[[float, float, float], bool]] = {
    "<": lambda x, v, tol: x < v + tol,
    "<=": lambda x, v, tol: x <= v + tol,
    ">": lambda x, v, tol: x > v - tol,
    ">=": lambda x, v, tol: x >= v - tol,
}
OPS: tuple[str, ...] = (*ORDER_OPS, "==", "!=", "in", "not_in")


def _matches(x: Scalar, v: Scalar, tol: float) -> bool:
    if isinstance(x, bool) or isinstance(v, bool) or isinstance(x, str) or isinstance(v, str):
        return x == v
    return abs(float(x) - float(v)) <= tol


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _allowed_quantities(name: str) -> str:
    close = difflib.get_close_matches(name, QUANTITIES, n=3)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    plain = sorted(q for q in QUANTITIES if not q.startswith("event."))
    return (
        f"{hint}allowed: {', '.join(plain)}, or event.<name>.<field> with name one of {', '.join(EVENTS)} "
        f"and field one of {', '.join((*EVENT_FIELDS, 'happened'))}"
    )


class Fact(BaseModel):
    """One checkable statement of the public record: ``quantity op value`` (within ``tolerance``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    statement: str = ""
    source: str = Field(min_length=1, description="Who said it, when (the original source)")
    quantity: str
    op: str
    value: Scalar | list[Scalar]
    tolerance: float = Field(0.0, ge=0.0, description="Slack on numeric comparisons, in the quantity's unit")

    @field_validator("quantity")
    @classmethod
    def _known_quantity(cls, v: str) -> str:
        if v not in QUANTITIES:
            raise ValueError(f"unknown quantity {v!r}; {_allowed_quantities(v)}")
        return v

    @field_validator("op")
    @classmethod
    def _known_op(cls, v: str) -> str:
        if v not in OPS:
            raise ValueError(f"unknown op {v!r}; allowed: {', '.join(OPS)}")
        return v

    @model_validator(mode="after")
    def _typed(self) -> Fact:
        kind = QUANTITIES[self.quantity].kind
        values = self.value if isinstance(self.value, list) else [self.value]
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a list value, got {self.value!r}")
        if self.op not in ("in", "not_in") and isinstance(self.value, list):
            raise ValueError(
                f"op {self.op!r} needs one value, got the list {self.value!r}; use 'in' or 'not_in'"
            )
        if self.op in ORDER_OPS and kind != "number":
            raise ValueError(
                f"op {self.op!r} needs a number quantity; {self.quantity!r} is {kind}: use ==, !=, in"
            )
        want = {
            "number": _is_number,
            "text": lambda v: isinstance(v, str),
            "bool": lambda v: isinstance(v, bool),
        }
        bad = [v for v in values if not want[kind](v)]
        if bad:
            raise ValueError(f"quantity {self.quantity!r} is a {kind}; value {bad[0]!r} is not")
        return self


def make_fact(data: Mapping[str, Any], field: str = "facts") -> Fact:
    """A :class:`Fact` from a mapping; ConfigError naming field, value and what is allowed."""
    try:
        return Fact.model_validate(data)
    except pydantic.ValidationError as exc:
        raise config_error(exc, "fact", prefix=field) from exc


def check_fact(fact: Fact, report: Report) -> dict[str, Any]:
    """``fact`` checked on one replay report (``ReplayRun.to_json()``): a plain dict with the fact's fields,
    ``observed`` (None: not observed, which fails) and ``passed``; also ``name``/``expected``/``actual``."""
    observed = QUANTITIES[fact.quantity].extract(report)
    if observed is None or (isinstance(observed, float) and math.isnan(observed)):
        passed, observed = False, None
    elif fact.op in ORDER_OPS:
        passed = ORDER_OPS[fact.op](float(observed), float(fact.value), fact.tolerance)  # type: ignore[arg-type]
    elif fact.op in ("==", "!="):
        passed = _matches(observed, fact.value, fact.tolerance) == (fact.op == "==")  # type: ignore[arg-type]
    else:
        inside = any(_matches(observed, v, fact.tolerance) for v in fact.value)  # type: ignore[union-attr]
        passed = inside == (fact.op == "in")
    return {
        "id": fact.id,
        "statement": fact.statement,
        "source": fact.source,
        "quantity": fact.quantity,
        "op": fact.op,
        "value": fact.value,
        "tolerance": fact.tolerance,
        "observed": observed,
        "passed": bool(passed),
        # The same, as the validation report reads them (riskengine.validation.replays).
        "name": fact.id,
        "expected": f"{fact.quantity} {fact.op} {fact.value}"
        + (f" (tolerance {fact.tolerance:g})" if fact.tolerance else ""),
        "actual": observed,
    }


def check_facts(facts: Sequence[Fact], report: Report) -> list[dict[str, Any]]:
    return [check_fact(f, report) for f in facts]


def evaluate_facts(run: ReplayRun) -> list[dict[str, Any]]:
    """Each of the replay's facts, checked on its result at the stated inputs (plain dicts, see check_fact)."""
    return check_facts(run.spec.facts, run.to_json())


def check_ranges(ranges: Mapping[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Validate ``{param_or_alias: (lo, hi)}`` against the parameter registry; keys are kept as written."""
    seen: dict[str, str] = {}
    for name, (lo, hi) in ranges.items():
        field = f"ranges.{name}"
        path = resolve_path(name, field)
        if path in seen:
            raise ConfigError(
                f"field '{field}' names {path}, already given as 'ranges.{seen[path]}'; give each parameter once",
                field=field,
                value=name,
            )
        seen[path] = name
        PARAMETERS[path].check(lo, field)
        PARAMETERS[path].check(hi, field)
        if not lo < hi:
            raise ConfigError(
                f"field '{field}' = [{lo:g}, {hi:g}]: the low end must be below the high end",
                field=field,
                value=[lo, hi],
            )
    return dict(ranges)
