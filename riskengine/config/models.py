"""Pydantic models of the presets. Every scalar has its unit in its name and a physical range.

The ranges are what is physically possible (or what the model is valid for), not what is typical:
they reject nonsense such as negative mass or a throttle above 1, and they bound dispersions.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskengine.config.terrain_models import CraterPopulationSpec, FeatureSpec, LevelSpec
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
    footpad_diameter_m: float = Field(
        0.5, gt=0.0, le=5.0, description="Diameter of one footpad: the area in which a rock lifts it"
    )
    max_vertical_speed_mps: float = Field(gt=0.0, le=50.0)
    max_horizontal_speed_mps: float = Field(gt=0.0, le=50.0)
    max_slope_deg: float = Field(gt=0.0, le=60.0)
    crash_speed_mps: float = Field(gt=0.0, le=500.0)
    throttle_band_low: float = Field(
        1.0, ge=0.0, le=1.0, description="Unusable throttle band, low edge (band_low >= band_high: none)"
    )
    throttle_band_high: float = Field(1.0, ge=0.0, le=1.0, description="Unusable throttle band, high edge")
    throttle_levels: float = Field(
        0.0, ge=0.0, le=1000.0, description="0: continuous throttle; n >= 2: n discrete settings"
    )
    throttle_time_constant_s: float = Field(
        0.0, ge=0.0, le=10.0, description="First-order response time of the delivered thrust"
    )


class BeamSpec(_Strict):
    """One altimeter beam fixed in the body, ``tilt_deg`` from the instrument's boresight towards azimuth
    ``azimuth_deg`` (from body +x towards +y, as if the boresight were body -z). Body +x points up and
    downrange in braking and downrange when upright, so azimuth 180 tilts towards the nadir while braking
    (``riskengine.core.attitude``)."""

    tilt_deg: float = Field(0.0, ge=0.0, le=80.0)
    azimuth_deg: float = Field(0.0, ge=-360.0, le=360.0)
    range: bool = Field(True, description="The beam measures slant range")
    velocity: bool = Field(
        True, description="The beam measures line-of-sight velocity (with the velocity channel)"
    )

    @model_validator(mode="after")
    def _measures_something(self) -> BeamSpec:
        if not (self.range or self.velocity):
            raise ValueError("a beam must measure range, velocity or both")
        return self


class AltimeterSpec(_Strict):
    max_range_m: float = Field(gt=0.0, le=1e6)
    acquisition_delay_s: float = Field(0.0, ge=0.0, le=3600.0)
    latency_s: float = Field(0.0, ge=0.0, le=10.0)
    noise_floor_m: float = Field(ge=0.0, le=1e4)
    noise_fraction: float = Field(ge=0.0, le=1.0)
    dropout_prob: float = Field(0.0, ge=0.0, le=1.0)
    period_s: float = Field(gt=0.0, le=60.0)
    velocity_noise_mps: float = Field(0.0, ge=0.0, le=100.0)
    velocity_channel: bool = Field(
        False, description="Each beam also measures the line-of-sight velocity (Doppler); false: range only"
    )
    boresight_tilt_deg: float = Field(
        0.0,
        ge=0.0,
        le=80.0,
        description="Cant of the instrument's boresight from body -z (the engine's direction)",
    )
    boresight_azimuth_deg: float = Field(
        180.0,
        ge=-360.0,
        le=360.0,
        description="Direction of the cant, from body +x towards +y (180: towards the nadir while pitched back in braking)",
    )
    beams: list[BeamSpec] = Field(
        default_factory=lambda: [BeamSpec()],
        min_length=1,
        max_length=4,
        description="Body-fixed beams (1 to 4), tilt and azimuth about the boresight; each gives a slant range "
        "and/or, with the velocity channel, its line-of-sight velocity",
    )
    beam_divergence_mrad: float = Field(
        1.0, ge=0.0, le=300.0, description="Full beam width: the spot whose terrain a range averages"
    )
    max_incidence_deg: float = Field(
        70.0, gt=0.0, le=89.0, description="No return beyond this angle between beam and ground normal"
    )


class ImuSpec(_Strict):
    bias_x_mps2: float = Field(0.0, ge=-1.0, le=1.0, description="Accelerometer bias, body x")
    bias_y_mps2: float = Field(0.0, ge=-1.0, le=1.0, description="Accelerometer bias, body y")
    bias_z_mps2: float = Field(0.0, ge=-1.0, le=1.0, description="Accelerometer bias, body z (thrust axis)")
    velocity_random_walk_mps_per_sqrt_s: float = Field(0.0, ge=0.0, le=1.0)
    accel_scale_factor_ppm: float = Field(
        0.0, ge=-1e5, le=1e5, description="Accelerometer scale-factor error"
    )
    accel_misalignment_x_deg: float = Field(
        0.0, ge=-5.0, le=5.0, description="Triad misalignment about body x"
    )
    accel_misalignment_y_deg: float = Field(
        0.0, ge=-5.0, le=5.0, description="Triad misalignment about body y"
    )
    gyro_bias_x_dph: float = Field(0.0, ge=-1e3, le=1e3, description="Gyro bias, body x")
    gyro_bias_y_dph: float = Field(0.0, ge=-1e3, le=1e3, description="Gyro bias, body y")
    gyro_bias_z_dph: float = Field(0.0, ge=-1e3, le=1e3, description="Gyro bias, body z")
    gyro_angle_random_walk_deg_per_sqrt_h: float = Field(0.0, ge=0.0, le=100.0)


class NavigationSpec(_Strict):
    initial_downrange_error_m: float = Field(0.0, ge=-1e5, le=1e5)
    initial_crossrange_error_m: float = Field(0.0, ge=-1e5, le=1e5)
    initial_altitude_error_m: float = Field(0.0, ge=-1e5, le=1e5)
    initial_horizontal_velocity_error_mps: float = Field(0.0, ge=-1e3, le=1e3)
    initial_crossrange_velocity_error_mps: float = Field(0.0, ge=-1e3, le=1e3)
    initial_vertical_velocity_error_mps: float = Field(0.0, ge=-1e3, le=1e3)
    initial_attitude_error_x_deg: float = Field(0.0, ge=-10.0, le=10.0, description="Knowledge error at PDI")
    initial_attitude_error_y_deg: float = Field(0.0, ge=-10.0, le=10.0)
    initial_attitude_error_z_deg: float = Field(0.0, ge=-10.0, le=10.0)
    assumed_altitude_sigma_m: float = Field(gt=0.0, le=1e5)
    assumed_vertical_velocity_sigma_mps: float = Field(gt=0.0, le=1e3)
    assumed_horizontal_position_sigma_m: float = Field(500.0, gt=0.0, le=1e6)
    assumed_horizontal_velocity_sigma_mps: float = Field(1.0, gt=0.0, le=1e3)
    assumed_attitude_sigma_deg: float = Field(0.05, gt=0.0, le=30.0)
    assumed_accel_bias_sigma_mps2: float = Field(0.003, gt=0.0, le=1.0)
    # The filter's accelerometer scale-factor / misalignment and gyro-bias states (riskengine.core.navigation):
    # their initial 1-sigma; defaults are the tactical-grade classes of Groves 2013, Table 4.1 and sec. 4.4.
    assumed_accel_scale_factor_ppm: float = Field(
        300.0, gt=0.0, le=1e5, description="Accelerometer scale-factor error the filter assumes (1 sigma)"
    )
    assumed_accel_misalignment_deg: float = Field(
        0.02,
        gt=0.0,
        le=10.0,
        description="Accelerometer triad misalignment the filter assumes (1 sigma, each axis)",
    )
    assumed_gyro_bias_dph: float = Field(
        0.1, gt=0.0, le=1e3, description="Gyro bias the filter assumes (1 sigma, each axis)"
    )
    assumed_map_sigma_m: float = Field(0.0, ge=0.0, le=1e4, description="Onboard-map height error (1 sigma)")
    terrain_offset_scale: float = Field(
        1.0,
        ge=0.0,
        le=100.0,
        description="The terrain offset each beam sees through the horizontal error, a consider parameter: its sigma "
        "(derived from the onboard map at the assumed horizontal sigma) times this (0: not considered)",
    )
    process_accel_sigma_mps2: float = Field(ge=0.0, le=10.0)
    gate_sigma: float = Field(gt=0.0, le=1e3)
    gate_floor_m: float = Field(0.0, ge=0.0, le=1e5)
    max_consecutive_rejections: float = Field(0.0, ge=0.0, le=1e6, description="0: never declare failed")
    trn_sigma_m: float = Field(
        0.0, ge=0.0, le=1e5, description="Terrain-relative position fix, 1 sigma (0: none)"
    )
    trn_min_altitude_m: float = Field(0.0, ge=0.0, le=1e6)
    trn_max_altitude_m: float = Field(0.0, ge=0.0, le=1e6)
    trn_period_s: float = Field(1.0, gt=0.0, le=600.0)


class HazardDetectionSpec(_Strict):
    """Hazard detection and avoidance: a lidar scan of the ground below during the terminal descent and a
    divert to the nearest spot it judges safe (``riskengine.core.hazard_avoidance``). Off by default: the
    Hakuto-R-class presets fly without it."""

    scan_height_m: float = Field(
        0.0,
        ge=0.0,
        le=5000.0,
        description="Scan when the estimated height above the map falls to this in terminal descent (0: no hazard detection)",
    )
    divert_radius_m: float = Field(
        100.0, gt=0.0, le=2000.0, description="Candidate spots lie within this distance of the point below"
    )
    safe_slope_deg: float = Field(
        5.0, ge=0.0, le=45.0, description="A spot whose measured footpad tilt is at most this is safe"
    )
    slope_noise_deg: float = Field(
        1.0, ge=0.0, le=20.0, description="1-sigma error of the tilt measured at each candidate spot"
    )
    divert_speed_mps: float = Field(
        3.0, gt=0.0, le=50.0, description="Horizontal speed cap while flying to the chosen spot"
    )
    divert_gain_per_s: float = Field(
        0.2, gt=0.0, le=10.0, description="Horizontal speed commanded per metre from the chosen spot"
    )


class SensorSuiteSpec(_Strict):
    name: str = ""
    description: str = ""
    altimeter: AltimeterSpec
    imu: ImuSpec
    navigation: NavigationSpec
    hazard_detection: HazardDetectionSpec = HazardDetectionSpec()


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
    braking_max_tilt_deg: float = Field(
        85.0, gt=0.0, le=90.0, description="Thrust tilt from vertical, braking"
    )
    approach_max_tilt_deg: float = Field(45.0, gt=0.0, le=90.0)
    terminal_max_tilt_deg: float = Field(20.0, gt=0.0, le=90.0)
    max_descent_accel_mps2: float = Field(
        1.0, gt=0.0, le=20.0, description="Largest downward acceleration commanded"
    )
    min_glide_slope_deg: float = Field(
        5.0, ge=0.0, le=60.0, description="Glide slope from the site below which the lander may not sink"
    )
    stopping_margin: float = Field(
        2.0, ge=1.0, le=10.0, description="Sink no faster than full thrust stops in h / this"
    )
    attitude_gate_deg: float = Field(
        15.0, gt=0.0, le=180.0, description="Throttle held at minimum beyond this pointing error"
    )


class SimSpec(_Strict):
    dt_s: float = Field(0.1, gt=0.0, le=5.0, description="Integration step")
    max_time_s: float = Field(1800.0, gt=0.0, le=36000.0)


# TerrainSpec fields that shape the grids at load time: not per-sample study parameters (the registry in
# parameters.py should skip them as it skips grid_step_m and map_smoothing_m).
# The footpad's size sets the site's rock table when the parameters are built, not per sample.
VEHICLE_LOAD_TIME_FIELDS = frozenset({"footpad_diameter_m"})
TERRAIN_LOAD_TIME_FIELDS = frozenset(
    {
        "map_smoothing_m",
        "approach_azimuth_deg",
        "rock_abundance_k",
        "roughness_rms_slope_deg",
        "roughness_baseline_m",
        "hurst_exponent",
        "map_resolution_m",
        "map_min_crater_diameter_m",
    }
)


def _default_levels() -> list[LevelSpec]:
    return [
        LevelSpec(step_m=400.0, downrange_km=(-720.0, 60.0), crossrange_km=(-20.0, 20.0)),
        LevelSpec(step_m=25.0, downrange_km=(-30.0, 5.0), crossrange_km=(-5.0, 5.0)),
        LevelSpec(step_m=5.0, downrange_km=(-2.5, 2.5), crossrange_km=(-2.5, 2.5)),
    ]


class TerrainSpec(_Strict):
    """Terrain of a site: the 2-D elevation model (``riskengine.terrain``) and its onboard map.

    Track coordinates: downrange along ``approach_azimuth_deg`` (the approach comes from negative downrange,
    the target is at 0), crossrange to the left of track. Load-time fields (``TERRAIN_LOAD_TIME_FIELDS``,
    lists, nested models) shape the grids; ``map_offset_m``, ``map_shift_*_m`` and ``map_fidelity`` are
    per-sample map errors the engine applies to the onboard map.
    """

    map_smoothing_m: float = Field(
        0.0,
        ge=0.0,
        le=1e5,
        description="Onboard map blur, m: Gaussian sigma (the orbital product's effective resolution)",
    )
    map_fidelity: float = Field(1.0, ge=0.0, le=1.0, description="Relief scale of the onboard map (1: all)")
    map_offset_m: float = Field(0.0, ge=-1e4, le=1e4, description="Vertical offset of the onboard map, m")
    map_shift_downrange_m: float = Field(
        0.0, ge=-1e5, le=1e5, description="Horizontal registration error of the onboard map, downrange, m"
    )
    map_shift_crossrange_m: float = Field(
        0.0, ge=-1e5, le=1e5, description="Horizontal registration error of the onboard map, crossrange, m"
    )
    # Bounded to 2^31: resolved parameter values pass through float, exact for integers below 2^53.
    seed: int = Field(
        0, ge=0, le=2**31 - 1, description="Seed of the procedural terrain (craters, roughness)"
    )
    approach_azimuth_deg: float = Field(
        270.0, ge=-360.0, le=360.0, description="Direction of flight over the site, clockwise from north"
    )
    levels: list[LevelSpec] = Field(
        default_factory=_default_levels, min_length=1, max_length=3, description="Grid levels, coarsest first"
    )
    features: list[FeatureSpec] = Field(default_factory=list, description="Named large landforms")
    craters: CraterPopulationSpec = Field(default_factory=CraterPopulationSpec)
    rock_abundance_k: float = Field(
        0.01, ge=0.0, le=0.5, description="Golombek-Rapp rock abundance k (area fraction), site-wide"
    )
    roughness_rms_slope_deg: float = Field(
        2.0, ge=0.0, le=45.0, description="RMS slope of the fractal background at roughness_baseline_m"
    )
    roughness_baseline_m: float = Field(25.0, gt=0.0, le=1e4, description="Baseline of that RMS slope, m")
    hurst_exponent: float = Field(0.85, gt=0.0, lt=1.0, description="Self-affine roughness (Rosenburg 2011)")
    map_resolution_m: float = Field(
        0.0, ge=0.0, le=1e4, description="Onboard map resolves nothing finer than this, m (0: every level's)"
    )
    map_min_crater_diameter_m: float = Field(
        0.0, ge=0.0, le=1e5, description="Procedural craters below this diameter are absent from the map, m"
    )
    map_missing_features: list[str] = Field(
        default_factory=list, description="Named features absent from the onboard map"
    )
    dem_file: str | None = Field(
        None, description="User DEM (NetCDF, Zarr or GeoTIFF), absolute or relative to configs/sites/"
    )

    @model_validator(mode="after")
    def _consistent(self) -> TerrainSpec:
        names = [f.name for f in self.features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"features: names must be unique; repeated: {dupes}")
        for i, missing in enumerate(self.map_missing_features):
            if missing not in names:
                close = difflib.get_close_matches(missing, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"map_missing_features[{i}] = {missing!r} is not a feature of this site; "
                    f"allowed: {names}{hint}"
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
