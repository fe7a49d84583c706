"""Physics core: pure JAX functions over immutable PyTrees. Imports jax and numpy only.

``init(params, key) -> State``, ``step(params, state, noise_key) -> State``, ``finish(params, state) -> Result``;
``simulate_batch(params, dispersion, key, sample_index)`` is the jitted, vmapped entry point used by studies.
"""

from riskengine.core.dispersion import KINDS, Dispersion, apply_dispersion, get_path
from riskengine.core.engine import (
    finish,
    init,
    simulate,
    simulate_batch,
    simulate_sample,
    simulate_trace,
    step,
    trace_length,
)
from riskengine.core.events import EVENT_FIELDS, EVENTS, Event
from riskengine.core.navigation import NAV_STATE_DIM, NAV_STATE_NAMES
from riskengine.core.outcomes import (
    MODE_OUTCOME,
    OUTCOMES,
    SUCCESS_OUTCOMES,
    TOUCHDOWN_MODES,
    Outcome,
    TouchdownMode,
)
from riskengine.core.params import (
    AltimeterParams,
    BodyParams,
    ElevationGrid,
    ElevationModel,
    GuidanceParams,
    HazardDetectionParams,
    ImuParams,
    NavigationParams,
    Params,
    SimParams,
    TerrainParams,
    VehicleParams,
)
from riskengine.core.result import Result, Trace

__all__ = [
    "EVENTS",
    "EVENT_FIELDS",
    "KINDS",
    "MODE_OUTCOME",
    "NAV_STATE_DIM",
    "NAV_STATE_NAMES",
    "OUTCOMES",
    "SUCCESS_OUTCOMES",
    "TOUCHDOWN_MODES",
    "AltimeterParams",
    "BodyParams",
    "Dispersion",
    "ElevationGrid",
    "ElevationModel",
    "Event",
    "GuidanceParams",
    "HazardDetectionParams",
    "ImuParams",
    "NavigationParams",
    "Outcome",
    "Params",
    "Result",
    "SimParams",
    "TerrainParams",
    "TouchdownMode",
    "Trace",
    "VehicleParams",
    "apply_dispersion",
    "finish",
    "get_path",
    "init",
    "simulate",
    "simulate_batch",
    "simulate_sample",
    "simulate_trace",
    "step",
    "trace_length",
]
