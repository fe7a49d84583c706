"""Replays: one stated scenario flown by the same engine and presets as studies, with its story.

A replay YAML (configs/replays/NAME.yaml) states every input that differs from the presets, each with a
source or an ESTIMATE note. Nothing about the outcome is scripted: the engine decides it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import numpy as np
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from riskengine.config import ScenarioSpec, build_params
from riskengine.config.errors import config_error
from riskengine.config.presets import preset_path, read_yaml
from riskengine.core import EVENTS, OUTCOMES, Params, Result, Trace, simulate_trace, trace_length

RECORD_EVERY_STEPS = 10


class ReplaySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    description: str = ""
    site: str
    scenario: ScenarioSpec = ScenarioSpec()
    assignments: dict[str, float] = Field(
        default_factory=dict, description="Cell values, e.g. fuel_margin_pct"
    )
    seed: int = Field(0, ge=0, le=2**31 - 1)
    sources: list[str] = []


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
        rows = np.asarray(self.result.events)
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

    def to_json(self) -> dict[str, Any]:
        r = self.result

        def num(x: jax.Array, nd: int = 2) -> float | None:
            v = float(x)
            return None if math.isnan(v) else round(v, nd)

        return {
            "replay": self.spec.name,
            "site": self.spec.site,
            "outcome": self.outcome,
            "impact_vertical_speed_mps": num(r.touchdown_vertical_speed_mps),
            "impact_horizontal_speed_mps": num(r.touchdown_horizontal_speed_mps),
            "slope_deg": num(r.slope_deg),
            "propellant_remaining_kg": num(r.propellant_remaining_kg),
            "propellant_loaded_kg": round(float(self.params.vehicle.propellant_kg), 2),
            "miss_distance_m": num(r.miss_distance_m, 1),
            "duration_s": num(r.duration_s),
            "altimeter_rejections": int(r.altimeter_rejections),
            "seed": self.spec.seed,
            "events": self.events(),
        }


def load_replay(name: str) -> ReplaySpec:
    path = preset_path("replays", name)
    data = read_yaml(path)
    data.setdefault("name", name)
    try:
        spec = ReplaySpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise config_error(exc, f"replay '{name}' ({path})") from exc
    return spec


_trace_jit = jax.jit(simulate_trace, static_argnums=(2, 3))


def run_replay(spec: ReplaySpec) -> ReplayRun:
    params = build_params(spec.scenario, spec.site, spec.assignments)
    n = trace_length(params, RECORD_EVERY_STEPS)
    result, trace = _trace_jit(params, jax.random.key(spec.seed), RECORD_EVERY_STEPS, n)
    return ReplayRun(spec=spec, params=params, result=result, trace=trace)
