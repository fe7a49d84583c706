"""Static parameters of one descent, as immutable PyTrees (brax's ``System``: never changes in a run).

Every leaf is a float32 scalar except the terrain grids. Frames and units:

* **Site frame**: inertial (a non-rotating Moon, see ``dynamics``), origin on the reference sphere at the
  landing site, ``z`` up through the site, ``x`` along the approach ground track (towards the site),
  ``y`` crossrange. Positions in m, velocities in m/s.
* **Downrange** ``s``: arc length along the reference sphere from the site, negative before it, m.
* **Elevations** are heights above the reference sphere, which passes through the landing site, m.
"""

from __future__ import annotations

import jax

from riskengine.core._pytree import PyTree, pytree_dataclass

Array = jax.Array


@pytree_dataclass
class BodyParams(PyTree):
    mu_m3ps2: Array  # gravitational parameter
    radius_m: Array  # reference sphere radius through the landing site


@pytree_dataclass
class VehicleParams(PyTree):
    dry_mass_kg: Array
    propellant_kg: Array  # loaded at powered-descent initiation
    max_thrust_n: Array
    min_throttle: Array  # fraction of max thrust; the engine cannot run below it
    isp_s: Array  # at full thrust
    isp_min_throttle_s: Array  # at minimum throttle; linear in between (LM: 311 s -> 285 s)
    slew_rate_dps: Array  # maximum rotation rate of the thrust axis, deg/s
    pointing_bias_x_deg: Array  # thrust misalignment: small angles of the thrust line about body x/y
    pointing_bias_y_deg: Array
    cg_height_m: Array  # centre of gravity above the footpad plane
    footprint_radius_m: Array  # horizontal distance from the centre line to a footpad
    max_vertical_speed_mps: Array  # touchdown limits: above any of these is not "landed"
    max_horizontal_speed_mps: Array
    max_slope_deg: Array
    crash_speed_mps: Array  # total impact speed above which the structure is destroyed
    throttle_band_low: Array  # unusable throttle band (low, high): commands inside go to an edge
    throttle_band_high: Array  # (LM: 0.6-0.925 unusable; band_low >= band_high: no band)
    throttle_levels: Array  # 0: continuous; n >= 2: n discrete settings from min_throttle to 1
    throttle_time_constant_s: Array  # first-order response of the delivered thrust (0: immediate)


@pytree_dataclass
class ElevationGrid(PyTree):
    """One level of an elevation model (``riskengine.core.elevation``), in track coordinates."""

    origin_m: Array  # (2,) downrange, crossrange of heights_m[0, 0]
    step_m: Array  # cell size (square cells)
    heights_m: Array  # (n_downrange, n_crossrange) float32, above the reference sphere


@pytree_dataclass
class ElevationModel(PyTree):
    levels: tuple[ElevationGrid, ...]  # coarsest first; each finer level inside the previous one
    max_height_m: Array  # highest point of the model (bounds where a beam can meet the ground)
    flat_heights_m: Array  # every level's heights, row-major, concatenated (``elevation.model_of``)


@pytree_dataclass
class TerrainParams(PyTree):
    truth: ElevationModel
    onboard: ElevationModel  # the onboard map, before its per-sample errors below
    map_fidelity: Array  # relief scale of the onboard map: 1 as built, 0 flat at the site's elevation
    map_offset_m: Array  # vertical registration error of the onboard map
    map_shift_downrange_m: Array  # horizontal registration error of the onboard map
    map_shift_crossrange_m: Array
    roughness_gradient: Array  # per-axis RMS ground gradient at roughness_baseline_m (self-affine roughness)
    roughness_baseline_m: Array
    hurst_exponent: Array  # RMS gradient over a baseline L scales as L^(H - 1)
    rock_height_quantiles_m: Array  # (Q,) tallest rock under one footpad at probabilities (i + 0.5) / Q


@pytree_dataclass
class AltimeterParams(PyTree):
    max_range_m: Array  # slant range along a beam beyond which it gives no reading
    acquisition_delay_s: Array  # "sensor latency": first valid reading this long after first in range
    latency_s: Array  # each reading describes the state this long ago
    noise_floor_m: Array  # 1-sigma noise = floor + fraction * range
    noise_fraction: Array
    dropout_prob: Array  # probability that a given reading is invalid
    period_s: Array  # time between readings (an integer multiple of the step)
    velocity_noise_mps: Array  # Doppler channel (as NDL or the Apollo landing radar): 1-sigma per axis
    velocity_channel: Array  # 1: each beam also measures its line-of-sight velocity (Doppler); 0: none
    beam_divergence_mrad: Array  # full beam width: a range averages the terrain over its spot
    max_incidence_deg: Array  # no return beyond this angle between the beam and the ground normal
    boresight_tilt_deg: Array  # cant of the instrument's boresight from body -z
    boresight_azimuth_deg: Array  # direction of the cant, from body +x towards +y
    beam_directions: Array  # (B, 3) unit beam directions about a boresight along body -z (sensor preset)
    beam_ranges: Array  # (B,) 1 where the beam measures slant range
    beam_velocities: Array  # (B,) 1 where the beam measures line-of-sight velocity (with the channel on)


@pytree_dataclass
class ImuParams(PyTree):
    """Strapdown IMU errors, all in the body frame (z along the thrust axis, see ``attitude``)."""

    bias_x_mps2: Array  # accelerometer bias, body axes
    bias_y_mps2: Array
    bias_z_mps2: Array
    velocity_random_walk_mps_per_sqrt_s: Array  # white accelerometer noise
    accel_scale_factor_ppm: Array  # accelerometer scale-factor error (all axes)
    accel_misalignment_x_deg: Array  # accelerometer triad misalignment: small rotation about body x/y
    accel_misalignment_y_deg: Array
    gyro_bias_x_dph: Array  # gyro bias, body axes, deg/h: grows the attitude-knowledge error
    gyro_bias_y_dph: Array
    gyro_bias_z_dph: Array
    gyro_angle_random_walk_deg_per_sqrt_h: Array


@pytree_dataclass
class NavigationParams(PyTree):
    # The estimate at powered-descent initiation is the truth plus these errors (orbit determination).
    initial_downrange_error_m: Array
    initial_crossrange_error_m: Array
    initial_altitude_error_m: Array
    initial_horizontal_velocity_error_mps: Array  # along-track
    initial_crossrange_velocity_error_mps: Array
    initial_vertical_velocity_error_mps: Array
    initial_attitude_error_x_deg: Array  # attitude-knowledge error at PDI (star-tracker alignment), body axes
    initial_attitude_error_y_deg: Array
    initial_attitude_error_z_deg: Array
    # The navigation filter's beliefs (initial 1-sigma uncertainties and noise models).
    assumed_altitude_sigma_m: Array
    assumed_vertical_velocity_sigma_mps: Array
    assumed_horizontal_position_sigma_m: Array
    assumed_horizontal_velocity_sigma_mps: Array
    assumed_attitude_sigma_deg: Array
    assumed_accel_bias_sigma_mps2: Array
    assumed_accel_scale_factor_ppm: (
        Array  # initial sigmas of the thrust-proportional error state (navigation)
    )
    assumed_accel_misalignment_deg: Array
    assumed_gyro_bias_dph: Array  # initial sigma of the gyro-bias state, each axis
    assumed_map_sigma_m: Array  # onboard-map height error, added to each altimeter reading's variance
    # Each beam's terrain offset through the horizontal error, a consider parameter (navigation.py): its
    # sigma and decorrelation distance are derived from the onboard map (riskengine.terrain.offsets).
    terrain_offset_scale: Array  # the derived sigma's multiplier (0: not considered)
    offset_sigma_m: Array  # derived, not a study parameter
    offset_correlation_m: Array  # derived, not a study parameter
    process_accel_sigma_mps2: Array  # unmodelled acceleration (white), all axes
    # Innovation gating and the fault guard.
    gate_sigma: Array  # reject a reading whose innovation exceeds gate_sigma * sqrt(S) ...
    gate_floor_m: Array  # ... or this, whichever is larger
    max_consecutive_rejections: Array  # declare the altimeter failed after this many (0: never)
    # Terrain-relative navigation: a horizontal position fix inside an altitude band (0 sigma: none).
    trn_sigma_m: Array
    trn_min_altitude_m: Array
    trn_max_altitude_m: Array
    trn_period_s: Array


@pytree_dataclass
class GuidanceParams(PyTree):
    pdi_altitude_m: Array  # powered-descent initiation, above the site's elevation
    pdi_range_m: Array  # ground distance from PDI to the site
    pdi_speed_mps: Array
    pdi_flight_path_deg: Array
    braking_time_s: Array  # planned braking duration (PDI -> high gate): sets the downrange jerk target
    high_gate_altitude_m: Array
    high_gate_range_m: Array  # ground distance before the site
    high_gate_horizontal_speed_mps: Array
    high_gate_vertical_speed_mps: Array  # negative: descending
    high_gate_horizontal_accel_mps2: Array  # target acceleration (thrust + gravity), negative: braking
    high_gate_vertical_accel_mps2: Array
    approach_time_s: Array  # planned approach duration (high gate -> low gate): sets its jerk target
    low_gate_altitude_m: Array
    low_gate_vertical_speed_mps: Array
    terminal_descent_rate_mps: Array  # final sink rate, held until touchdown is sensed (positive)
    terminal_time_constant_s: Array  # above the final rate, sink at (estimated height) / this
    terminal_max_sink_mps: Array
    terminal_velocity_gain_per_s: Array
    terminal_position_gain_per_s: Array
    terminal_max_horizontal_speed_mps: Array
    guidance_period_s: Array  # commands are recomputed at this period and held in between
    braking_max_tilt_deg: Array  # thrust-axis tilt from the local vertical allowed in each phase
    approach_max_tilt_deg: Array
    terminal_max_tilt_deg: Array
    max_descent_accel_mps2: Array  # the vertical channel never commands more downward acceleration
    min_glide_slope_deg: Array  # the stopping guard's floor rises from the site at this elevation angle
    stopping_margin: Array  # sink only as fast as full thrust could arrest in height / this factor
    attitude_gate_deg: Array  # throttle held at minimum while the thrust axis is this far off command


@pytree_dataclass
class HazardDetectionParams(PyTree):
    """Hazard detection and avoidance (``riskengine.core.hazard_avoidance``): one scan, one divert."""

    scan_height_m: (
        Array  # scan once the estimated height above the map falls to this in terminal descent (0: off)
    )
    divert_radius_m: Array  # candidate spots within this ground distance of the point below the lander
    safe_slope_deg: Array  # a spot whose measured footpad tilt is at most this is safe
    slope_noise_deg: Array  # 1-sigma error of each spot's measured tilt
    divert_speed_mps: Array  # horizontal speed cap while flying to the chosen spot
    divert_gain_per_s: Array  # horizontal velocity commanded per metre from the chosen spot


@pytree_dataclass
class SimParams(PyTree):
    dt_s: Array
    max_time_s: Array


@pytree_dataclass
class Params(PyTree):
    """Everything one descent needs besides its PRNG key."""

    body: BodyParams
    vehicle: VehicleParams
    terrain: TerrainParams
    altimeter: AltimeterParams
    imu: ImuParams
    navigation: NavigationParams
    guidance: GuidanceParams
    hazard_detection: HazardDetectionParams
    sim: SimParams
