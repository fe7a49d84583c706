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
    slew_rate_dps: Array  # maximum rotation rate of the thrust direction, deg/s
    pointing_bias_x_deg: Array  # constant thrust-direction error, small angles about site x/y
    pointing_bias_y_deg: Array
    cg_height_m: Array  # centre of gravity above the footpad plane
    footprint_radius_m: Array  # horizontal distance from the centre line to a footpad
    max_vertical_speed_mps: Array  # touchdown limits: above any of these is not "landed"
    max_horizontal_speed_mps: Array
    max_slope_deg: Array
    crash_speed_mps: Array  # total impact speed above which the structure is destroyed


@pytree_dataclass
class TerrainParams(PyTree):
    grid_start_m: Array  # downrange of the first grid point
    grid_step_m: Array
    elevation_m: Array  # (N,) true elevation on the grid
    map_base_m: Array  # (N,) the onboard map's elevation before fidelity/offset/shift (smoothed truth)
    map_fidelity: Array  # 1: map = smoothed truth; 0: map is flat at the site's elevation (no terrain)
    map_offset_m: Array  # constant vertical error of the onboard map
    map_shift_m: Array  # downrange registration error of the onboard map
    slope_sigma_deg: Array  # local slope at touchdown: Rayleigh scale (per-axis Gaussian gradient)
    rock_height_mean_m: Array  # height of a rock under one footpad: exponential with this mean


@pytree_dataclass
class AltimeterParams(PyTree):
    max_range_m: Array  # readings only below this height above terrain
    acquisition_delay_s: Array  # "sensor latency": first valid reading this long after first in range
    latency_s: Array  # each reading describes the state this long ago
    noise_floor_m: Array  # 1-sigma noise = floor + fraction * range
    noise_fraction: Array
    dropout_prob: Array  # probability that a given reading is invalid
    period_s: Array  # time between readings (an integer multiple of the step)
    velocity_noise_mps: Array  # Doppler channel (as NDL or the Apollo landing radar): 1-sigma per axis
    velocity_gain: Array  # fraction of the horizontal-velocity residual removed per reading (0: no channel)


@pytree_dataclass
class ImuParams(PyTree):
    bias_x_mps2: Array  # accelerometer bias in the site frame (see ``sensors``)
    bias_y_mps2: Array
    bias_z_mps2: Array
    velocity_random_walk_mps_per_sqrt_s: Array  # white accelerometer noise


@pytree_dataclass
class NavigationParams(PyTree):
    # The estimate at powered-descent initiation is the truth plus these errors (orbit determination).
    initial_downrange_error_m: Array
    initial_crossrange_error_m: Array
    initial_altitude_error_m: Array
    initial_horizontal_velocity_error_mps: Array
    initial_vertical_velocity_error_mps: Array
    # The altitude filter's beliefs and rejection logic.
    assumed_altitude_sigma_m: Array  # filter's initial 1-sigma altitude uncertainty
    assumed_vertical_velocity_sigma_mps: Array
    process_accel_sigma_mps2: Array  # filter's process noise (unmodelled vertical acceleration)
    gate_sigma: Array  # reject a reading whose innovation exceeds gate_sigma * sqrt(S) ...
    gate_floor_m: Array  # ... or this, whichever is larger
    max_consecutive_rejections: Array  # declare the altimeter failed after this many (0: never)


@pytree_dataclass
class GuidanceParams(PyTree):
    pdi_altitude_m: Array  # powered-descent initiation, above the site's elevation
    pdi_range_m: Array  # ground distance from PDI to the site
    pdi_speed_mps: Array
    pdi_flight_path_deg: Array
    braking_time_s: Array  # planned duration of the braking phase (PDI -> high gate)
    high_gate_altitude_m: Array
    high_gate_range_m: Array  # ground distance before the site
    high_gate_horizontal_speed_mps: Array
    high_gate_vertical_speed_mps: Array  # negative: descending
    high_gate_horizontal_accel_mps2: Array  # target acceleration (thrust + gravity), negative: braking
    high_gate_vertical_accel_mps2: Array
    approach_time_s: Array  # planned duration of the approach phase (high gate -> low gate)
    low_gate_altitude_m: Array
    low_gate_vertical_speed_mps: Array
    terminal_descent_rate_mps: Array  # final sink rate, held until touchdown is sensed (positive)
    terminal_time_constant_s: Array  # above the final rate, sink at (estimated height) / this
    terminal_max_sink_mps: Array
    terminal_velocity_gain_per_s: Array
    terminal_position_gain_per_s: Array
    terminal_max_horizontal_speed_mps: Array
    guidance_period_s: Array  # commands are recomputed at this period and held in between


@pytree_dataclass
class SimParams(PyTree):
    dt_s: Array
    max_time_s: Array
    long_braking_steps: Array  # 1.0: step at the guidance period while nothing faster can happen (engine)


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
    sim: SimParams
