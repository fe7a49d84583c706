"""Pydantic models of the presets. Every scalar has its unit in its name and a physical range.

The ranges are what is physically possible (or what the model is valid for), not what is typical:
they reject nonsense such as negative mass or a throttle above 1, and they bound dispersions.
"""

from __future__ import annotations

import itertools

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskengine.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BodySpec(_Strict):
    mu_m3ps2: float = Field(
        4.9028e12, ge=0.0, le=1e16, description="Gravitational parameter (NASA Moon fact sheet)"
    )
    radius_m: float = Field(
        1.7374e6, gt=1e5, le=1e8, description="Reference sphere radius (NASA Moon fact sheet)"
    )


class VehicleSpec(_Strict):
    name: str = ""
    description: str = ""
    dry_mass_kg: float = Field(gt=1.0, le=1e6)
    propellant_kg: float = Field(ge=0.0, le=1e6, description="Propellant at powered-descent initiation")
    max_thrust_n: float = Field(gt=0.0, le=1e8)
    min_throttle: float = Field(ge=0.0, lt=1.0)
    isp_s: float = Field(gt=50.0, le=1000.0)
    isp_min_throttle_s: float = Field(gt=50.0, le=1000.0)
    slew_rate_dps: float = Field(gt=0.0, le=180.0)
    pointing_bias_x_deg: float = Field(0.0, ge=-10.0, le=10.0)
    pointing_bias_y_deg: float = Field(0.0, ge=-10.0, le=10.0)
    cg_height_m: float = Field(gt=0.05, le=20.0)
    footprint_radius_m: float = Field(gt=0.05, le=20.0)
    max_vertical_speed_mps: float = Field(gt=0.0, le=50.0)
    max_horizontal_speed_mps: float = Field(gt=0.0, le=50.0)
    max_slope_deg: float = Field(gt=0.0, le=60.0)
    crash_speed_mps: float = Field(gt=0.0, le=500.0)


class AltimeterSpec(_Strict):
    max_range_m: float = Field(gt=0.0, le=1e6)
    acquisition_delay_s: float = Field(0.0, ge=0.0, le=3600.0)
    latency_s: float = Field(0.0, ge=0.0, le=10.0)
    noise_floor_m: float = Field(ge=0.0, le=1e4)
    noise_fraction: float = Field(ge=0.0, le=1.0)
    dropout_prob: float = Field(0.0, ge=0.0, le=1.0)
    period_s: float = Field(gt=0.0, le=60.0)
    velocity_noise_mps: float = Field(0.0, ge=0.0, le=100.0)
    velocity_gain: float = Field(0.0, ge=0.0, le=1.0, description="0: the sensor measures no velocity")


class ImuSpec(_Strict):
    bias_x_mps2: float = Field(0.0, ge=-1.0, le=1.0)
    bias_y_mps2: float = Field(0.0, ge=-1.0, le=1.0)
    bias_z_mps2: float = Field(0.0, ge=-1.0, le=1.0)
    velocity_random_walk_mps_per_sqrt_s: float = Field(0.0, ge=0.0, le=1.0)


class NavigationSpec(_Strict):
    initial_downrange_error_m: float = Field(0.0, ge=-1e5, le=1e5)
    initial_crossrange_error_m: float = Field(0.0, ge=-1e5, le=1e5)
    initial_altitude_error_m: float = Field(0.0, ge=-1e5, le=1e5)
    initial_horizontal_velocity_error_mps: float = Field(0.0, ge=-1e3, le=1e3)
    initial_vertical_velocity_error_mps: float = Field(0.0, ge=-1e3, le=1e3)
    assumed_altitude_sigma_m: float = Field(gt=0.0, le=1e5)
    assumed_vertical_velocity_sigma_mps: float = Field(gt=0.0, le=1e3)
    process_accel_sigma_mps2: float = Field(ge=0.0, le=10.0)
    gate_sigma: float = Field(gt=0.0, le=1e3)
    gate_floor_m: float = Field(0.0, ge=0.0, le=1e5)
    max_consecutive_rejections: float = Field(0.0, ge=0.0, le=1e6, description="0: never declare failed")


class SensorSuiteSpec(_Strict):
    name: str = ""
    description: str = ""
    altimeter: AltimeterSpec
    imu: ImuSpec
    navigation: NavigationSpec


class GuidanceSpec(_Strict):
    name: str = ""
    description: str = ""
    pdi_altitude_m: float = Field(gt=100.0, le=2e5)
    pdi_range_m: float = Field(gt=0.0, le=3e6)
    pdi_speed_mps: float = Field(ge=0.0, le=3000.0)
    pdi_flight_path_deg: float = Field(0.0, ge=-45.0, le=45.0)
    braking_time_s: float = Field(gt=0.0, le=7200.0)
    high_gate_altitude_m: float = Field(gt=0.0, le=1e5)
    high_gate_range_m: float = Field(ge=0.0, le=1e6)
    high_gate_horizontal_speed_mps: float = Field(ge=0.0, le=3000.0)
    high_gate_vertical_speed_mps: float = Field(ge=-500.0, le=0.0)
    high_gate_horizontal_accel_mps2: float = Field(0.0, ge=-20.0, le=20.0)
    high_gate_vertical_accel_mps2: float = Field(0.0, ge=-20.0, le=20.0)
    approach_time_s: float = Field(gt=0.0, le=3600.0)
    low_gate_altitude_m: float = Field(gt=0.0, le=1e4)
    low_gate_vertical_speed_mps: float = Field(ge=-50.0, le=0.0)
    terminal_descent_rate_mps: float = Field(gt=0.0, le=20.0)
    terminal_time_constant_s: float = Field(gt=0.0, le=600.0)
    terminal_max_sink_mps: float = Field(gt=0.0, le=100.0)
    terminal_velocity_gain_per_s: float = Field(gt=0.0, le=10.0)
    terminal_position_gain_per_s: float = Field(ge=0.0, le=10.0)
    terminal_max_horizontal_speed_mps: float = Field(ge=0.0, le=50.0)
    guidance_period_s: float = Field(gt=0.0, le=60.0)


class SimSpec(_Strict):
    dt_s: float = Field(0.1, gt=0.0, le=5.0, description="Integration step")
    max_time_s: float = Field(1800.0, gt=0.0, le=36000.0)
    long_braking_steps: bool = Field(
        True,
        description="Step at the guidance period (not dt_s) during braking while the altimeter is out of "
        "range and not closing on it (see riskengine.core.engine); false: dt_s throughout",
    )


class TerrainSpec(_Strict):
    """Along-track terrain of a site. ``profile_km_m``: knots (downrange km, elevation m above the site)."""

    profile_km_m: list[tuple[float, float]] = Field(min_length=2)
    grid_step_m: float = Field(250.0, gt=1.0, le=1e5)
    map_smoothing_m: float = Field(0.0, ge=0.0, le=1e5, description="Box-filter width of the onboard map")
    map_fidelity: float = Field(1.0, ge=0.0, le=1.0)
    map_offset_m: float = Field(0.0, ge=-1e4, le=1e4)
    map_shift_m: float = Field(0.0, ge=-1e5, le=1e5)
    slope_sigma_deg: float = Field(ge=0.0, le=45.0)
    rock_height_mean_m: float = Field(ge=0.0, le=5.0)

    @model_validator(mode="after")
    def _knots_increase(self) -> TerrainSpec:
        xs = [k[0] for k in self.profile_km_m]
        if any(b <= a for a, b in itertools.pairwise(xs)):
            raise ValueError("profile_km_m downrange values must strictly increase")
        if not xs[0] < 0.0 < xs[-1]:
            raise ValueError(
                f"profile_km_m must span the site (downrange 0); it spans {xs[0]} to {xs[-1]} km"
            )
        return self


class SiteSpec(_Strict):
    name: str = ""
    display_name: str = ""
    latitude_deg: float = Field(ge=-90.0, le=90.0)
    longitude_deg: float = Field(ge=-180.0, le=360.0)
    description: str = ""
    sources: list[str] = []
    terrain: TerrainSpec
    guidance_overrides: dict[str, float] = {}


def check_period_multiple(name: str, period_s: float, dt_s: float) -> None:
    """Sensor and guidance periods must be whole numbers of steps, so halving dt keeps their timing."""
    ratio = period_s / dt_s
    if ratio < 1.0 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
        raise ConfigError(
            f"field '{name}' = {period_s}: must be a whole multiple of sim.dt_s = {dt_s}",
            field=name,
            value=period_s,
        )
