"""A scenario: which vehicle, sensor suite and guidance fly, with overrides; built into core Params per site."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskengine.config.errors import config_error
from riskengine.config.models import (
    AltimeterSpec,
    BeamSpec,
    BodySpec,
    GuidanceSpec,
    SensorSuiteSpec,
    SimSpec,
    SiteSpec,
    TerrainSpec,
    VehicleSpec,
    check_period_multiple,
)
from riskengine.config.parameters import FUEL_MARGIN, FUEL_MARGIN_HOVER, GROUPS, PARAMETERS, resolve_path
from riskengine.config.presets import load_preset
from riskengine.config.site_terrain import terrain_params
from riskengine.core import (
    AltimeterParams,
    BodyParams,
    GuidanceParams,
    HazardDetectionParams,
    ImuParams,
    NavigationParams,
    Outcome,
    Params,
    SimParams,
    TouchdownMode,
    VehicleParams,
    simulate,
)
from riskengine.core.sensors import beam_direction_body
from riskengine.core.vehicle import mass_flow
from riskengine.errors import ConfigError
from riskengine.terrain.offsets import offset_statistics

_PARAM_CLASSES: dict[str, type] = {
    "vehicle": VehicleParams,
    "altimeter": AltimeterParams,
    "imu": ImuParams,
    "navigation": NavigationParams,
    "guidance": GuidanceParams,
    "hazard_detection": HazardDetectionParams,
    "sim": SimParams,
}


class ScenarioSpec(BaseModel):
    """Vehicle, sensor suite and guidance presets plus parameter overrides (``{path: value}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vehicle: str = Field("m1_class", description="Vehicle preset (configs/vehicles)")
    sensors: str = Field(
        "lrf_nominal", description="Sensor suite preset: altimeter, IMU, navigation (configs/sensors)"
    )
    guidance: str = Field("standard", description="Guidance preset (configs/guidance)")
    sim: SimSpec = SimSpec()
    overrides: dict[str, float] = Field(
        default_factory=dict, description="Parameter path -> value, e.g. navigation.gate_sigma"
    )

    @field_validator("overrides")
    @classmethod
    def _known(cls, v: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, value in v.items():
            path = resolve_path(name, f"overrides.{name}")
            PARAMETERS[path].check(value, f"overrides.{name}")
            out[path] = value
        return out


def _values(model: BaseModel, group: str) -> dict[str, float]:
    """The group's scalar settings as floats (a switch as 1.0 / 0.0: the core's parameters are float32)."""
    return {f"{group}.{k}": float(v) for k, v in model.model_dump().items() if isinstance(v, int | float)}


def _revalidate(model_cls: type[BaseModel], base: BaseModel, group: str, values: Mapping[str, float]) -> Any:
    data = base.model_dump()
    data.update({k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(group + ".")})
    try:
        return model_cls.model_validate(data)
    except pydantic.ValidationError as exc:
        raise config_error(exc, f"{group} parameters", prefix=group) from exc


@functools.lru_cache(maxsize=256)
def _site(site: str) -> SiteSpec:
    return load_preset("sites", site, SiteSpec)


def resolved_values(
    scenario: ScenarioSpec, site: str, assignments: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Every scalar parameter for this scenario at ``site``: presets, then the site's guidance overrides,
    then the scenario's overrides, then the cell's ``assignments``. ``fuel_margin_pct`` or
    ``fuel_margin_hover_s`` (one of them, not both) is kept as a key."""
    site_spec = _site(site)
    values: dict[str, float] = {}
    values |= _values(load_preset("vehicles", scenario.vehicle, VehicleSpec), "vehicle")
    suite = load_preset("sensors", scenario.sensors, SensorSuiteSpec)
    values |= (
        _values(suite.altimeter, "altimeter")
        | _values(suite.imu, "imu")
        | _values(suite.navigation, "navigation")
        | _values(suite.hazard_detection, "hazard_detection")
    )
    values |= _values(load_preset("guidance", scenario.guidance, GuidanceSpec), "guidance")
    values |= _values(scenario.sim, "sim")
    values |= _values(site_spec.terrain, "terrain")
    for name, value in site_spec.guidance_overrides.items():
        path = resolve_path(
            name if "." in name else f"guidance.{name}", f"sites.{site}.guidance_overrides.{name}"
        )
        values[path] = float(value)
    values |= dict(scenario.overrides)
    for name, value in (assignments or {}).items():
        path = resolve_path(name, name)
        PARAMETERS[path].check(float(value), name)
        values[path] = float(value)
    if FUEL_MARGIN in values and FUEL_MARGIN_HOVER in values:
        raise ConfigError(
            f"field '{FUEL_MARGIN_HOVER}' = {values[FUEL_MARGIN_HOVER]!r}: give one propellant margin, "
            f"{FUEL_MARGIN} or {FUEL_MARGIN_HOVER}, not both ({FUEL_MARGIN} = {values[FUEL_MARGIN]!r} is also given)",
            field=FUEL_MARGIN_HOVER,
            value=values[FUEL_MARGIN_HOVER],
        )
    return values


def terrain_spec(values: Mapping[str, float], site: str) -> TerrainSpec:
    """The site's :class:`TerrainSpec` with the ``terrain.*`` entries of resolved ``values`` applied (a cell's
    terrain axes and overrides): the spec the engine's elevation models and rock table are built from."""
    return _revalidate(TerrainSpec, _site(site).terrain, "terrain", values)


def _params_from_values(
    values: Mapping[str, float],
    site: str,
    beams: Sequence[BeamSpec] | None = None,
) -> Params:
    """Core parameters from resolved ``values``; the altimeter's ``beams`` about its boresight (the sensor
    preset's; one beam along the boresight where not given)."""
    groups: dict[str, Any] = {}
    specs: dict[str, BaseModel] = {}
    for group, model_cls in GROUPS.items():
        if group == "terrain":
            continue
        defaults = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(group + ".")}
        try:
            specs[group] = model_cls.model_validate(defaults)
        except pydantic.ValidationError as exc:
            raise config_error(exc, f"{group} parameters", prefix=group) from exc
    terrain_values = terrain_spec(values, site)
    sim: SimSpec = specs["sim"]  # type: ignore[assignment]
    alt: AltimeterSpec = specs["altimeter"]  # type: ignore[assignment]
    gd: GuidanceSpec = specs["guidance"]  # type: ignore[assignment]
    check_period_multiple("altimeter.period_s", alt.period_s, sim.dt_s)
    check_period_multiple("guidance.guidance_period_s", gd.guidance_period_s, sim.dt_s)

    def f32(x: float) -> jax.Array:
        return jnp.asarray(x, dtype=jnp.float32)

    # Arrays that are not study parameters: the beam layout comes from the sensor preset.
    layout = beams or [BeamSpec()]
    arrays: dict[str, dict[str, Any]] = {
        "altimeter": {
            "beam_directions": jnp.asarray(
                np.stack([beam_direction_body(b.tilt_deg, b.azimuth_deg) for b in layout]), jnp.float32
            ),
            "beam_ranges": jnp.asarray([float(b.range) for b in layout], jnp.float32),
            "beam_velocities": jnp.asarray([float(b.velocity) for b in layout], jnp.float32),
        },
        "navigation": dict(
            zip(
                ("offset_sigma_m", "offset_correlation_m"),
                (
                    f32(x)
                    for x in offset_statistics(
                        terrain_values, values["navigation.assumed_horizontal_position_sigma_m"]
                    )
                ),
                strict=True,
            )
        ),
    }
    for group, cls in _PARAM_CLASSES.items():
        extra = arrays.get(group, {})
        fields = [n for n in cls.__dataclass_fields__ if n not in extra]  # type: ignore[attr-defined]
        groups[group] = cls(**{name: f32(values[f"{group}.{name}"]) for name in fields}, **extra)
    terrain = terrain_params(terrain_values, values["vehicle.footpad_diameter_m"])
    body = BodySpec()
    return Params(
        body=BodyParams(mu_m3ps2=f32(body.mu_m3ps2), radius_m=f32(body.radius_m)), terrain=terrain, **groups
    )


# Perfect knowledge: no navigation, sensor or pointing errors, altimeter unused (the estimate is then the
# truth exactly). The nominal descent defines the propellant need that fuel margins are relative to.
_PERFECT_KNOWLEDGE: dict[str, float] = {
    "altimeter.max_range_m": 1e-3,
    "imu.bias_x_mps2": 0.0,
    "imu.bias_y_mps2": 0.0,
    "imu.bias_z_mps2": 0.0,
    "imu.velocity_random_walk_mps_per_sqrt_s": 0.0,
    "navigation.initial_downrange_error_m": 0.0,
    "navigation.initial_crossrange_error_m": 0.0,
    "navigation.initial_altitude_error_m": 0.0,
    "navigation.initial_horizontal_velocity_error_mps": 0.0,
    "navigation.initial_crossrange_velocity_error_mps": 0.0,
    "navigation.initial_vertical_velocity_error_mps": 0.0,
    "vehicle.pointing_bias_x_deg": 0.0,
    "vehicle.pointing_bias_y_deg": 0.0,
    "imu.accel_scale_factor_ppm": 0.0,
    "imu.accel_misalignment_x_deg": 0.0,
    "imu.accel_misalignment_y_deg": 0.0,
    "imu.gyro_bias_x_dph": 0.0,
    "imu.gyro_bias_y_dph": 0.0,
    "imu.gyro_bias_z_dph": 0.0,
    "imu.gyro_angle_random_walk_deg_per_sqrt_h": 0.0,
    "navigation.initial_attitude_error_x_deg": 0.0,
    "navigation.initial_attitude_error_y_deg": 0.0,
    "navigation.initial_attitude_error_z_deg": 0.0,
    "navigation.trn_sigma_m": 0.0,
    "hazard_detection.scan_height_m": 0.0,
}

_simulate_one = jax.jit(simulate)
_NOMINAL_MODES = (
    TouchdownMode.SAFE,
    TouchdownMode.AT_REST_BEYOND_OPERATIONAL_TILT,
    TouchdownMode.TIPPED_STATIC,
)


def _need_from_values(values: dict[str, float], site: str) -> float:
    values = dict(values)
    dry = values["vehicle.dry_mass_kg"]
    key = jax.random.key(0)
    load = values["vehicle.propellant_kg"]  # the preset's load as a first guess; the need is then solved
    need = 0.0
    for _ in range(3):
        values["vehicle.propellant_kg"] = load
        result = _simulate_one(_params_from_values(values, site), key)
        outcome = Outcome(int(result.outcome))
        # The need is what the flight burns: a nominal descent that comes down within the gear's speeds
        # on ground too steep for the footpads (the site's terrain at the target) still defines it.
        mode = TouchdownMode(int(result.touchdown_mode))
        if mode not in _NOMINAL_MODES:
            raise ConfigError(
                f"the nominal descent (perfect navigation) at site '{site}' does not land: outcome {outcome.name.lower()} "
                f"({mode.name.lower()}) with the given vehicle and guidance; the guidance preset does not suit this vehicle or site",
                field="guidance",
                value=site,
            )
        used = load - float(result.propellant_remaining_kg)
        # The burn's mass ratio is nearly independent of the load: used = (dry + load) * c.
        c = used / (dry + load)
        need = dry * c / (1.0 - c)
        load = need * 1.02
    return need


# The nominal descent never takes an altimeter reading (its range is 1 mm) and never scans for hazards
# (scan height 0), so the altimeter's, the filter's, the onboard map's and the hazard detection's settings
# cannot change what it burns: cells that differ only in those
# (a sensor-latency axis, say) share one computation, with whichever values came first. This dict is the
# one cache of the need (per process).
_UNUSED_BY_NOMINAL = ("altimeter.", "navigation.", "terrain.map_", "hazard_detection.")
_needs: dict[tuple[str, str], float] = {}


def nominal_propellant_need_kg(
    scenario: ScenarioSpec, site: str, assignments: Mapping[str, float] | None = None
) -> float:
    """Propellant the nominal descent (perfect knowledge, no dispersion) uses at ``site``, kg."""
    values = resolved_values(scenario, site, assignments)
    values.pop(FUEL_MARGIN, None)
    values.pop(FUEL_MARGIN_HOVER, None)
    values |= _PERFECT_KNOWLEDGE
    used = {k: v for k, v in values.items() if not k.startswith(_UNUSED_BY_NOMINAL)}
    key = (json.dumps(used, sort_keys=True), site)
    if key not in _needs:
        _needs[key] = _need_from_values(values, site)
    return _needs[key]


def build_params(
    scenario: ScenarioSpec,
    site: str,
    assignments: Mapping[str, float] | None = None,
    as_flown: Mapping[str, float] | None = None,
) -> Params:
    """Core :class:`Params` for ``scenario`` at ``site`` with per-cell ``assignments`` ({path or alias: value}).

    ``fuel_margin_pct`` or ``fuel_margin_hover_s`` sets ``vehicle.propellant_kg`` (:func:`propellant_load_kg`)
    from the nominal descent's need (:func:`nominal_propellant_need_kg`). ``as_flown`` ({path or alias: value},
    a replay's) are inputs where a flight departed from its plan, a pilot's slower final descent say: they are
    flown, but the need, and with it the load, is the plan's (the scenario and assignments without them), as a
    mission loads its propellant for the plan and the crew spends the margin.
    """
    values = resolved_values(scenario, site, assignments) | resolve_as_flown(as_flown or {})
    margin = values.pop(FUEL_MARGIN, None)
    hover_s = values.pop(FUEL_MARGIN_HOVER, None)
    if margin is not None or hover_s is not None:
        need = nominal_propellant_need_kg(scenario, site, assignments)
        values["vehicle.propellant_kg"] = propellant_load_kg(values, need, margin, hover_s)
    alt = load_preset("sensors", scenario.sensors, SensorSuiteSpec).altimeter
    return _params_from_values(values, site, alt.beams)


def resolve_as_flown(as_flown: Mapping[str, float]) -> dict[str, float]:
    """``{path: value}`` of a replay's as-flown inputs (see :func:`build_params`), each checked against the
    parameter registry; a propellant margin is refused (it is the plan's)."""
    out: dict[str, float] = {}
    for name, value in as_flown.items():
        field = f"as_flown.{name}"
        path = resolve_path(name, field)
        if path in (FUEL_MARGIN, FUEL_MARGIN_HOVER):
            raise ConfigError(
                f"field '{field}' = {value!r}: a propellant margin is the plan's, not a departure from it; "
                "state it in the assignments",
                field=field,
                value=value,
            )
        PARAMETERS[path].check(float(value), field)
        out[path] = float(value)
    return out


def propellant_load_kg(
    values: Mapping[str, float], need_kg: float, margin_pct: float | None, hover_s: float | None
) -> float:
    """Propellant loaded at PDI for a margin over the nominal descent's need ``need_kg``, kg.

    ``margin_pct``: ``need * (1 + pct / 100)``, the margin as a share of the need, carried from PDI (the
    usual statement of a propellant budget's margin).

    ``hover_s``: the margin as hover time *left at touchdown* on the nominal descent, as Apollo budgeted it
    (its ~303 kg, ~73 s, was the planned touchdown remainder). The reserve ``R`` (:func:`hover_reserve_kg`)
    is carried down, which costs propellant: for the same velocity change the mass ratio is fixed (rocket
    equation), ``(dry + load) / (dry + R) = (dry + need) / dry``, so ``load = need + R (dry + need) / dry``.
    The nominal descent's mass ratio is nearly independent of its load (``_need_from_values`` relies on the
    same), so it then lands with ~``R`` left (tests/core/test_apollo.py)."""
    if hover_s is None:
        return need_kg * (1.0 + (margin_pct or 0.0) / 100.0)
    dry = values["vehicle.dry_mass_kg"]
    load = need_kg + hover_reserve_kg(values, hover_s) * (dry + need_kg) / dry
    if load <= 0.0:
        raise ConfigError(
            f"field '{FUEL_MARGIN_HOVER}' = {hover_s!r}: leaves no propellant to load ({load:.1f} kg for a nominal "
            f"need of {need_kg:.1f} kg); a negative hover margin may remove at most part of the need",
            field=FUEL_MARGIN_HOVER,
            value=hover_s,
        )
    return load


def hover_mass_flow_kgps(values: Mapping[str, float], mass_kg: float) -> float:
    """Propellant flow that holds ``mass_kg`` in a hover at the site, ``m g / (Isp g0)``, kg/s: ``g = mu / R^2``
    of the body, ``Isp`` the engine's at the hover throttle ``m g / max thrust`` (clipped to its range)."""
    body = BodySpec()
    weight_n = mass_kg * body.mu_m3ps2 / body.radius_m**2
    fields = VehicleParams.__dataclass_fields__
    veh = VehicleParams(**{n: jnp.asarray(values[f"vehicle.{n}"], jnp.float32) for n in fields})
    throttle = jnp.clip(weight_n / veh.max_thrust_n, veh.min_throttle, 1.0)
    thrust_n, mdot_kgps = mass_flow(throttle, veh)
    return weight_n * float(mdot_kgps) / float(thrust_n)  # rescaled to m g where the throttle clips


def hover_reserve_kg(values: Mapping[str, float], hover_s: float) -> float:
    """Propellant left at touchdown that holds the lander ``hover_s`` in a hover until its tanks are dry, kg.

    The flow is proportional to the mass hovering (``m g / (Isp g0)``), so the mass decays exponentially to
    ``vehicle.dry_mass_kg`` and ``R = dry (exp(hover_s g / (Isp g0)) - 1)``, ``g / (Isp g0)`` the flow per kg at
    the dry mass (:func:`hover_mass_flow_kgps`; the Isp's change with throttle over the hover's few % of mass is
    neglected). Negative seconds are a deficit."""
    dry = values["vehicle.dry_mass_kg"]
    return dry * float(np.expm1(hover_s * hover_mass_flow_kgps(values, dry) / dry))


def params_summary(params: Params) -> dict[str, float]:
    """Flat ``{path: value}`` of the scalar parameters (for provenance and reports)."""
    out: dict[str, float] = {}
    for group in (*_PARAM_CLASSES, "terrain"):
        obj = getattr(params, group)
        for name in obj.__dataclass_fields__:
            leaf = np.asarray(getattr(obj, name))
            if leaf.ndim == 0:
                out[f"{group}.{name}"] = float(leaf)
    return out
