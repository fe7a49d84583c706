"""Per-trajectory results (leading batch dimension B when batched)."""

from __future__ import annotations

from riskengine.core._pytree import PyTree, pytree_dataclass
from riskengine.core.params import Array


@pytree_dataclass
class Result(PyTree):
    outcome: Array  # int32 code, see riskengine.core.outcomes.OUTCOMES
    touchdown_mode: Array  # int32, what happened in finer detail: riskengine.core.outcomes.TouchdownMode
    touchdown_vertical_speed_mps: Array  # sink speed at contact (positive down); NaN without contact
    touchdown_horizontal_speed_mps: Array  # NaN without contact
    slope_deg: Array  # vehicle tilt at rest (terrain + rock); NaN without contact
    tilt_deg: Array  # thrust axis from the local vertical at contact; NaN without contact
    propellant_remaining_kg: Array  # at contact, or at the end of the run
    miss_distance_m: Array  # ground distance from the target at contact; NaN without contact
    touchdown_downrange_m: Array  # contact point along the approach (arc on the sphere); NaN without contact
    touchdown_crossrange_m: Array  # contact point crossrange (site frame y); NaN without contact
    duration_s: Array  # from powered-descent initiation to contact (or the time limit)
    altimeter_rejections: Array  # int32, readings rejected by the innovation gate
    nis_sum: Array  # sum of normalised innovations squared over accepted scalar measurements
    nis_count: Array  # int32, accepted scalar measurements (altimeter, Doppler axes, position fixes)
    integration_steps: Array  # int32, steps taken until done (long braking steps count once)
    hazard_divert_m: Array  # ground distance the hazard scan moved the aim point; NaN without a scan
    events: Array  # (n_events, 5): see riskengine.core.events


@pytree_dataclass
class Trace(PyTree):
    """Time history of one trajectory, sampled every ``record_every`` steps (padded with the final state)."""

    t_s: Array
    true_altitude_m: Array  # above true terrain
    estimated_altitude_m: Array  # above the onboard map's terrain, as navigation believes
    vertical_speed_mps: Array
    horizontal_speed_mps: Array
    propellant_kg: Array
    downrange_m: Array
    crossrange_m: Array  # ground track, track coordinates (riskengine.core.elevation)
    phase: Array  # int32 guidance phase (riskengine.core.guidance.PHASES)
    t_go_s: Array  # current phase's re-solved time-to-go (0 in terminal descent)
    throttle: Array  # delivered throttle fraction
    tilt_deg: Array  # true thrust axis from the local vertical
    altitude_sigma_m: Array  # the filter's 1-sigma of its position error along the local vertical
    nees: Array  # normalised estimation error squared over the NAV_STATE_DIM error state (NaN once done)
    nav_error: Array  # (NAV_STATE_DIM,) truth minus estimate in the filter's units (engine.nav_error)
    nav_sigma: Array  # (NAV_STATE_DIM,) the filter's 1-sigma of each error-state component
    terrain_offset_m: Array  # true ground under the true position minus the map under the estimate
