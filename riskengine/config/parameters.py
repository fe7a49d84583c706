"""The registry of scalar parameters that a study may set per cell or disperse per sample.

Paths are ``<group>.<field>`` mirroring :class:`riskengine.core.Params`; bounds come from the pydantic
models, so one definition serves validation of presets, overrides, grid values and dispersions.
"""

from __future__ import annotations

import dataclasses
import math

import annotated_types
from pydantic import BaseModel

from riskengine.config.models import (
    TERRAIN_LOAD_TIME_FIELDS,
    VEHICLE_LOAD_TIME_FIELDS,
    AltimeterSpec,
    GuidanceSpec,
    HazardDetectionSpec,
    ImuSpec,
    NavigationSpec,
    SimSpec,
    TerrainSpec,
    VehicleSpec,
)
from riskengine.errors import ConfigError

GROUPS: dict[str, type[BaseModel]] = {
    "vehicle": VehicleSpec,
    "terrain": TerrainSpec,
    "altimeter": AltimeterSpec,
    "imu": ImuSpec,
    "navigation": NavigationSpec,
    "guidance": GuidanceSpec,
    "hazard_detection": HazardDetectionSpec,
    "sim": SimSpec,
}

ALIASES: dict[str, str] = {"sensor_latency_s": "altimeter.acquisition_delay_s"}
FUEL_MARGIN = "fuel_margin_pct"
FUEL_MARGIN_RANGE = (-50.0, 1000.0)
# The margin as seconds of hover left at touchdown on the nominal descent (Apollo budgeted its landing
# margin so: ~303 kg, ~73 s, Apollo 11 press kit); give one of the two margins, not both.
FUEL_MARGIN_HOVER = "fuel_margin_hover_s"
FUEL_MARGIN_HOVER_RANGE = (-300.0, 3600.0)


@dataclasses.dataclass(frozen=True)
class ParameterInfo:
    path: str
    low: float  # inclusive physical bounds (open bounds are nudged inwards by one part in 1e9)
    high: float
    description: str
    # False: the value shapes what is built when a cell's parameters are made (terrain grids, the rock table),
    # so a study may set it per cell (an axis, an override) but not draw it per sample.
    per_sample: bool = True

    @property
    def unit(self) -> str:
        for suffix, unit in (
            ("_mps2", "m/s^2"),
            ("_mps", "m/s"),
            ("_m", "m"),
            ("_kg", "kg"),
            ("_s", "s"),
            ("_n", "N"),
            ("_deg", "deg"),
            ("_dps", "deg/s"),
            ("_per_s", "1/s"),
            ("_pct", "%"),
            ("_mps_per_sqrt_s", "m/s/sqrt(s)"),
        ):
            if self.path.endswith(suffix):
                return unit
        return "1"

    def check(self, value: float, field: str | None = None) -> None:
        if not (math.isfinite(value) and self.low <= value <= self.high):
            name = field or self.path
            raise ConfigError(
                f"field '{name}' = {value!r} is outside the physical range of {self.path}: [{self.low:g}, {self.high:g}] {self.unit}",
                field=name,
                value=value,
            )


def _bounds(meta: list[object]) -> tuple[float, float]:
    low, high = -math.inf, math.inf
    for m in meta:
        if isinstance(m, annotated_types.Ge):
            low = float(m.ge)  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Gt):
            low = float(m.gt) + max(abs(float(m.gt)) * 1e-9, 1e-12)  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Le):
            high = float(m.le)  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Lt):
            high = float(m.lt) - max(abs(float(m.lt)) * 1e-9, 1e-12)  # type: ignore[arg-type]
    return low, high


def _registry() -> dict[str, ParameterInfo]:
    out: dict[str, ParameterInfo] = {}
    for group, model in GROUPS.items():
        for name, field in model.model_fields.items():
            if field.annotation is not float:
                continue
            load_time = (group == "terrain" and name in TERRAIN_LOAD_TIME_FIELDS) or (
                group == "vehicle" and name in VEHICLE_LOAD_TIME_FIELDS
            )
            low, high = _bounds(list(field.metadata))
            out[f"{group}.{name}"] = ParameterInfo(
                f"{group}.{name}", low, high, field.description or "", per_sample=not load_time
            )
    out[FUEL_MARGIN] = ParameterInfo(
        FUEL_MARGIN, *FUEL_MARGIN_RANGE, "Propellant loaded above the nominal descent's need, %"
    )
    out[FUEL_MARGIN_HOVER] = ParameterInfo(
        FUEL_MARGIN_HOVER,
        *FUEL_MARGIN_HOVER_RANGE,
        "Propellant left at touchdown on the nominal descent, s of hover until dry (loaded with what carrying it costs)",
    )
    return out


PARAMETERS: dict[str, ParameterInfo] = _registry()


def resolve_path(name: str, field: str | None = None) -> str:
    """Canonical parameter path for ``name`` (aliases resolved); ConfigError naming what is allowed."""
    path = ALIASES.get(name, name)
    if path not in PARAMETERS:
        groups = ", ".join(sorted(GROUPS))
        raise ConfigError(
            f"field '{field or name}' = {name!r} is not a known parameter; use '<group>.<field>' with group one of "
            f"{groups} (e.g. 'navigation.gate_sigma'), or one of {sorted([*ALIASES, FUEL_MARGIN, FUEL_MARGIN_HOVER])}",
            field=field or name,
            value=name,
        )
    return path
