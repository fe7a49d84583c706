"""Replays: one stated scenario flown by the same engine and presets as studies, with its story.

A replay YAML (configs/replays/NAME.yaml) states every input that differs from the presets, each with a
source or an ESTIMATE note. Nothing about the outcome is scripted: the engine decides it. Its ``ranges``
(the band of each uncertain input the public facts allow) and ``facts`` (checkable statements of the public
record) are described in :mod:`riskengine.replay_facts`; :func:`sweep` flies the replay across a band.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskengine.config import ScenarioSpec, build_params
from riskengine.config.errors import config_error
from riskengine.config.parameters import PARAMETERS, resolve_path
from riskengine.config.presets import preset_path, read_yaml
from riskengine.config.scenario import resolve_as_flown, resolved_values
from riskengine.core import (
    EVENTS,
    OUTCOMES,
    TOUCHDOWN_MODES,
    Params,
    Result,
    Trace,
    simulate_trace,
    trace_length,
)
from riskengine.errors import ConfigError
from riskengine.replay_facts import QUANTITIES, Fact, check_facts, check_ranges, evaluate_facts

__all__ = [
    "SEED_AXIS",
    "ReplayRun",
    "ReplaySpec",
    "evaluate_facts",
    "facts_summary",
    "load_replay",
    "noise_streams",
    "parse_replay",
    "replay_values",
    "run_replay",
    "stated_inputs",
    "sweep",
    "sweep_grid",
    "sweep_summary",
]

RECORD_EVERY_STEPS = 10

#: The sweep axis that varies the replay's noise stream (its ``seed``: sensor noise, IMU random walks, the
#: sub-grid slope and rocks at the touchdown point) instead of a parameter. A replay states one seed, one
#: draw of everything its YAML leaves random; flying it across several says whether its outcome and facts
#: belong to the stated inputs or to that one draw.
SEED_AXIS = "seed"
MAX_SEED = 2**31 - 1


class ReplaySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    description: str = ""
    site: str
    scenario: ScenarioSpec = ScenarioSpec()
    assignments: dict[str, float] = Field(
        default_factory=dict, description="Cell values, e.g. fuel_margin_pct"
    )
    as_flown: dict[str, float] = Field(
        default_factory=dict,
        description="Inputs where the flight departed from its plan: flown, but the propellant load is the "
        "plan's (build_params)",
    )
    seed: int = Field(0, ge=0, le=MAX_SEED)
    sources: list[str] = []
    ranges: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="Band of each uncertain input the public facts allow: {param: [lo, hi]}",
    )
    facts: list[Fact] = Field(default_factory=list, description="Checkable statements of the public record")

    @field_validator("as_flown")
    @classmethod
    def _as_flown(cls, v: dict[str, float]) -> dict[str, float]:
        return resolve_as_flown(v)

    @field_validator("ranges")
    @classmethod
    def _ranges(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        return check_ranges(v)

    @field_validator("facts")
    @classmethod
    def _unique_fact_ids(cls, v: list[Fact]) -> list[Fact]:
        ids = [f.id for f in v]
        dup = next((i for i in ids if ids.count(i) > 1), None)
        if dup is not None:
            raise ValueError(f"fact id {dup!r} is given more than once; ids must be unique")
        return v


@dataclasses.dataclass(frozen=True)
class ReplayRun:
    spec: ReplaySpec
    params: Params
    result: Result
    trace: Trace

    @property
    def outcome(self) -> str:
        return OUTCOMES[int(self.result.outcome)]

    def events(self) -> list[dict[str, Any]]:
        return _events(self.result)

    def to_json(self) -> dict[str, Any]:
        return report_json(self.spec, self.params, self.result)


def _events(result: Result) -> list[dict[str, Any]]:
    rows = np.asarray(result.events)
    out = []
    for i, name in enumerate(EVENTS):
        t, true_alt, est_alt, vz, prop = (float(x) for x in rows[i])
        if math.isnan(t):
            continue
        out.append(
            {
                "t_s": round(t, 2),
                "name": name,
                "true_altitude_m": round(true_alt, 1),
                "estimated_altitude_m": round(est_alt, 1),
                "vertical_speed_mps": round(vz, 2),
                "propellant_kg": round(prop, 2),
            }
        )
    return sorted(out, key=lambda e: e["t_s"])


def report_json(spec: ReplaySpec, params: Params, result: Result) -> dict[str, Any]:
    """The replay's result as plain JSON (what :meth:`ReplayRun.to_json` returns; no trace needed)."""
    r = result

    def num(x: jax.Array, nd: int = 2) -> float | None:
        v = float(x)
        return None if math.isnan(v) else round(v, nd)

    return {
        "replay": spec.name,
        "site": spec.site,
        "outcome": OUTCOMES[int(r.outcome)],
        "touchdown_mode": TOUCHDOWN_MODES[int(r.touchdown_mode)],
        "impact_vertical_speed_mps": num(r.touchdown_vertical_speed_mps),
        "impact_horizontal_speed_mps": num(r.touchdown_horizontal_speed_mps),
        "slope_deg": num(r.slope_deg),
        "propellant_remaining_kg": num(r.propellant_remaining_kg),
        "propellant_loaded_kg": round(float(params.vehicle.propellant_kg), 2),
        "miss_distance_m": num(r.miss_distance_m, 1),
        "hazard_divert_m": num(r.hazard_divert_m, 1),
        "duration_s": num(r.duration_s),
        "altimeter_rejections": int(r.altimeter_rejections),
        "seed": spec.seed,
        "events": _events(r),
    }


def load_replay(name: str) -> ReplaySpec:
    path = preset_path("replays", name)
    data = read_yaml(path)
    data.setdefault("name", name)
    return parse_replay(data, f"replay '{name}' ({path})")


def parse_replay(data: Mapping[str, Any], where: str = "replay") -> ReplaySpec:
    """A :class:`ReplaySpec` from its YAML mapping; ConfigError (prefixed ``where``) naming field, value, range."""
    try:
        return ReplaySpec.model_validate(data)
    except pydantic.ValidationError as exc:
        # A ConfigError raised by a validator (parameter registry) already names field, value and range.
        for err in exc.errors():
            inner = (err.get("ctx") or {}).get("error")
            if isinstance(inner, ConfigError):
                raise ConfigError(f"{where}: {inner}", field=inner.field, value=inner.value) from exc
        raise config_error(exc, where) from exc


_trace_jit = jax.jit(simulate_trace, static_argnums=(2, 3))


def run_replay(spec: ReplaySpec) -> ReplayRun:
    params = build_params(spec.scenario, spec.site, spec.assignments, spec.as_flown)
    n = trace_length(params, RECORD_EVERY_STEPS)
    result, trace = _trace_jit(params, jax.random.key(spec.seed), RECORD_EVERY_STEPS, n)
    return ReplayRun(spec=spec, params=params, result=result, trace=trace)


# --- Sweeps: the replay flown across the band of one or more inputs, everything else as stated.


# A sweep flies the replay's own program (``_trace_jit``), compiled once per params shape: every input a
# sweep varies is a scalar leaf, so each value costs one run (measured on m2's 7 latencies: ~35-100 ms a
# value after one compile of 3.5-6.5 s). ``jax.jit(simulate)`` would reuse the nominal-need solver's
# compile instead, but it is a different XLA program and may round differently (at 2151411 it agreed bit
# for bit; during the engine rewrite it left nominal 33.65 kg against the replay's 38.61), and a sweep row
# at the stated inputs must be the replay. A vmap over the values compiled a third program (~3 s).
def _fly(params: Params, key: jax.Array) -> Result:
    return _trace_jit(params, key, RECORD_EVERY_STEPS, trace_length(params, RECORD_EVERY_STEPS))[0]


# The quantities a sweep row carries besides its inputs, outcome and facts.
ROW_NUMBERS: tuple[str, ...] = (
    "first_valid_true_altitude_m",
    "propellant_remaining_kg",
    "propellant_loaded_kg",
    "impact_vertical_speed_mps",
    "impact_horizontal_speed_mps",
    "miss_distance_m",
    "duration_s",
)
MAX_SWEEP_POINTS = 10_000


def replay_values(spec: ReplaySpec) -> dict[str, float]:
    """Every scalar parameter as the replay flies it: its scenario and assignments, then its as-flown inputs."""
    return resolved_values(spec.scenario, spec.site, spec.assignments) | spec.as_flown


def stated_inputs(spec: ReplaySpec, names: Sequence[str]) -> dict[str, float | None]:
    """The value each of ``names`` (paths, aliases or :data:`SEED_AXIS`) has at the replay's stated inputs
    (None: unset)."""
    values = replay_values(spec)
    return {n: float(spec.seed) if n == SEED_AXIS else values.get(resolve_path(n, n)) for n in names}


def _with_inputs(spec: ReplaySpec, inputs: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """The replay's (assignments, as-flown inputs) with ``inputs`` set: an input naming an as-flown parameter
    replaces it there (it stays a departure from the plan), any other replaces or joins the assignments."""
    params = {resolve_path(n, n): v for n, v in inputs.items() if n != SEED_AXIS}
    flown = spec.as_flown | {p: v for p, v in params.items() if p in spec.as_flown}
    kept = {k: v for k, v in spec.assignments.items() if resolve_path(k, k) not in params}
    return kept | {p: v for p, v in params.items() if p not in spec.as_flown}, flown


def _check_seed(v: float, field: str) -> None:
    if not (float(v).is_integer() and 0 <= v <= MAX_SEED):
        raise ConfigError(
            f"field '{field}' = {v!r}: a noise stream is a whole number in [0, {MAX_SEED}]",
            field=field,
            value=v,
        )


def noise_streams(spec: ReplaySpec, n: int, field: str = "seeds") -> list[float]:
    """The replay's stated seed and the ``n - 1`` after it: the :data:`SEED_AXIS` values of ``n`` streams."""
    if not 1 <= n <= MAX_SWEEP_POINTS:
        raise ConfigError(
            f"field '{field}' = {n}: the number of noise streams must be in [1, {MAX_SWEEP_POINTS}]",
            field=field,
            value=n,
        )
    if spec.seed + n - 1 > MAX_SEED:
        raise ConfigError(
            f"field '{field}' = {n}: from seed {spec.seed} the last stream would pass {MAX_SEED}",
            field=field,
            value=n,
        )
    return [float(spec.seed + k) for k in range(n)]


def sweep_grid(spec: ReplaySpec, axes: Mapping[str, Sequence[float]]) -> list[dict[str, Any]]:
    """Fly ``spec`` at every point of the grid ``{param: values}`` (a product when several), rest as stated.

    A ``param`` may be :data:`SEED_AXIS`: its values are noise streams (see :func:`noise_streams`).

    Returns one plain dict per point: ``inputs`` ({param: value}), ``outcome``, the numbers of
    :data:`ROW_NUMBERS` (None when not observed), ``facts`` ({id: passed}), ``facts_failed`` (ids) and
    ``stated`` (whether the point is the replay's stated inputs).
    """
    names = list(axes)
    if not names:
        raise ConfigError("field 'sweep' = {}: name at least one parameter to sweep", field="sweep", value={})
    paths: dict[str, str] = {}
    for name in names:
        field = f"sweep {name}"
        if name == SEED_AXIS:
            if not axes[name]:
                raise ConfigError(f"field '{field}' = []: give at least one value", field=field, value=[])
            for v in axes[name]:
                _check_seed(v, field)
            paths[name] = SEED_AXIS
            continue
        path = resolve_path(name, field)
        if path in paths.values():
            raise ConfigError(
                f"field '{field}' names {path} twice in one grid; sweep each parameter once",
                field=field,
                value=name,
            )
        paths[name] = path
        if len(axes[name]) < 1:
            raise ConfigError(f"field '{field}' = []: give at least one value", field=field, value=[])
        for v in axes[name]:
            PARAMETERS[path].check(float(v), field)
    n_points = math.prod(len(axes[n]) for n in names)
    if n_points > MAX_SWEEP_POINTS:
        raise ConfigError(
            f"field 'sweep' = {n_points} points: a sweep may fly at most {MAX_SWEEP_POINTS}",
            field="sweep",
            value=n_points,
        )
    stated = stated_inputs(spec, names)
    rows = []
    for combo in itertools.product(*(axes[n] for n in names)):
        inputs = {n: float(v) for n, v in zip(names, combo, strict=True)}
        params = build_params(spec.scenario, spec.site, *_with_inputs(spec, inputs))
        key = jax.random.key(int(inputs.get(SEED_AXIS, spec.seed)))
        report = report_json(spec, params, _fly(params, key))
        facts = check_facts(spec.facts, report)
        row: dict[str, Any] = {"inputs": inputs, "outcome": report["outcome"]}
        row |= {q: QUANTITIES[q].extract(report) for q in ROW_NUMBERS}
        row["facts"] = {f["id"]: f["passed"] for f in facts}
        row["facts_failed"] = [f["id"] for f in facts if not f["passed"]]
        row["stated"] = all(
            stated[n] is not None and math.isclose(inputs[n], stated[n], rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]
            for n in names
        )
        rows.append(row)
    return rows


def sweep(spec: ReplaySpec, param: str, values: Sequence[float]) -> list[dict[str, Any]]:
    """Fly ``spec`` at each of ``values`` of ``param`` (path or alias), the rest as stated; see :func:`sweep_grid`."""
    return sweep_grid(spec, {param: values})


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def sweep_summary(rows: Sequence[Mapping[str, Any]], params: Sequence[str]) -> str:
    """One line: "outcome X across the whole band" or where the outcome changes, as "PARAM ~ v (A -> B)".

    ``v`` is the midpoint between the two neighbouring values whose outcomes differ. In a grid, each change
    is found along one axis with the other axes held, and says where they were held. Along
    :data:`SEED_AXIS` there is no "where": the outcomes are counted over the noise streams instead.
    """
    if SEED_AXIS in params:
        return _streams_summary(rows, [p for p in params if p != SEED_AXIS])
    outcomes = sorted({r["outcome"] for r in rows})
    where = "band" if len(params) == 1 else "grid"
    if len(outcomes) == 1:
        return f"outcome {outcomes[0]} across the whole {where}"
    changes: list[str] = []
    for p in params:
        others = [q for q in params if q != p]
        for held, line in _lines(rows, others).items():
            line = sorted(line, key=lambda r: r["inputs"][p])
            for a, b in itertools.pairwise(line):
                if a["outcome"] != b["outcome"]:
                    mid = (a["inputs"][p] + b["inputs"][p]) / 2
                    at = "".join(f" at {q}={_fmt(h)}" for q, h in zip(others, held, strict=True))
                    changes.append(f"{p} ~ {_fmt(mid)} ({a['outcome']} -> {b['outcome']}){at}")
    return f"outcome changes inside the {where} at " + _first(changes)


def _lines(
    rows: Sequence[Mapping[str, Any]], held: Sequence[str]
) -> dict[tuple[float, ...], list[Mapping[str, Any]]]:
    """``rows`` grouped by their values of the ``held`` inputs."""
    lines: dict[tuple[float, ...], list[Mapping[str, Any]]] = {}
    for r in rows:
        lines.setdefault(tuple(r["inputs"][q] for q in held), []).append(r)
    return lines


def _first(items: Sequence[str], n: int = 8) -> str:
    more = f", and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def _streams_summary(rows: Sequence[Mapping[str, Any]], others: Sequence[str]) -> str:
    """Outcome counts over the noise streams, per point of the other axes: only the points whose streams
    disagree, or, where every point's streams agree, where the outcome changes between points."""
    parts: list[str] = []
    lines = _lines(rows, others)
    agreed = [line[0] for line in lines.values() if len({r["outcome"] for r in line}) == 1]
    streams = len({r["inputs"][SEED_AXIS] for r in rows})
    if len(lines) > 1 and len(agreed) == len(lines):
        return f"{sweep_summary(agreed, others)}, the same in each of the {streams} noise streams"
    for held, line in lines.items():
        counts: dict[str, list[int]] = {}
        for r in line:
            counts.setdefault(r["outcome"], []).append(int(r["inputs"][SEED_AXIS]))
        if len(lines) > 1 and len(counts) == 1:
            continue
        modal = max(counts, key=lambda o: len(counts[o]))
        text = ", ".join(
            f"{o} {len(s)}"
            + ("" if o == modal else f" (seed{'s' if len(s) > 1 else ''} {_first([str(x) for x in s], 4)})")
            for o, s in sorted(counts.items(), key=lambda kv: -len(kv[1]))
        )
        at = "".join(f" at {q}={_fmt(h)}" for q, h in zip(others, held, strict=True))
        parts.append(f"{text} of {len(line)}{at}")
    more = f"; and {len(parts) - 8} more mixed points" if len(parts) > 8 else ""
    plural = "s" if len(agreed) > 1 else ""
    rest = f" (the other {len(agreed)} point{plural}: one outcome in every stream)" if agreed else ""
    return f"across {streams} noise streams: " + "; ".join(parts[:8]) + more + rest


def facts_summary(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line: which facts hold at every point, at none, and at some (with their count)."""
    if not rows or not rows[0]["facts"]:
        return "facts: none stated"
    n = len(rows)
    held = {fid: sum(bool(r["facts"][fid]) for r in rows) for fid in rows[0]["facts"]}
    parts = []
    always = [f for f, k in held.items() if k == n]
    never = [f for f, k in held.items() if k == 0]
    some = [f"{f} ({k}/{n})" for f, k in held.items() if 0 < k < n]
    if always:
        parts.append("hold everywhere: " + ", ".join(always))
    if some:
        parts.append("hold at some points: " + ", ".join(some))
    if never:
        parts.append("fail everywhere: " + ", ".join(never))
    return "facts " + "; ".join(parts)


def band_values(lo: float, hi: float, n: int) -> list[float]:
    """``n`` evenly spaced values from ``lo`` to ``hi`` inclusive (rounded to 10 significant digits)."""
    return [float(f"{v:.10g}") for v in np.linspace(lo, hi, n)]
