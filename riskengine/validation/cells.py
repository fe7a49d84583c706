"""Study cells flown through the engine's public API, with the smoke preset's scenario and dispersions.

Every cell is flown with the same key and the same sample indices, so cells are paired: sample ``i`` has
the same dispersion draws and noise stream in every cell (common random numbers), and a difference
between two cells is the effect of the cell's values, not of different draws.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.config import build_dispersion, build_params
from riskengine.core import OUTCOMES, Dispersion, Params, Result, apply_dispersion, simulate_batch
from riskengine.study.spec import LATENCY_AXIS, MARGIN_AXIS, StudySpec, load_study_spec

STUDY_PRESET = "smoke"
SUCCESS = "landed"


@functools.cache
def study() -> StudySpec:
    """The preset whose scenario and dispersions the statistical sections fly."""
    return load_study_spec(STUDY_PRESET)


@functools.cache
def dispersion() -> Dispersion:
    return build_dispersion(study().dispersions)


# What would make the working system safer: the same samples flown with hazard detection and avoidance
# (riskengine.core.hazard_avoidance, its other settings at their defaults), scanning from 100 m, the
# height Chang'e-3 hovered at to image the ground below.
HAZARD_DETECTION: tuple[tuple[str, float], ...] = (("hazard_detection.scan_height_m", 100.0),)
# ... and with a rangefinder that reaches 5 km instead of the Hakuto-R-class 3 km: the Navigation Doppler
# Lidar class (metre-level range from above 5 km; Amzajerdian et al., SPIE), so that a lander whose IMU
# drift left it kilometres higher than it believed gets its first reading while it can still use it.
LONG_RANGE_ALTIMETER: tuple[tuple[str, float], ...] = (("altimeter.max_range_m", 5000.0),)
# The upgrades the working-system section flies on the same samples, by the key its data carries.
UPGRADES: dict[str, tuple[tuple[str, float], ...]] = {
    "hazard_detection": HAZARD_DETECTION,
    "hazard_detection_and_5km_rangefinder": HAZARD_DETECTION + LONG_RANGE_ALTIMETER,
}


@functools.lru_cache(maxsize=64)
def cell_params(
    site: str, latency_s: float, margin_pct: float, extra: tuple[tuple[str, float], ...] = ()
) -> Params:
    """The cell's parameters; ``extra``: further (path, value) assignments, e.g. ``HAZARD_DETECTION``."""
    return build_params(
        study().scenario, site, {LATENCY_AXIS: latency_s, MARGIN_AXIS: margin_pct, **dict(extra)}
    )


def key(seed: int) -> jax.Array:
    return jax.random.key(seed)


@functools.lru_cache(maxsize=64)
def run_cell(
    site: str,
    latency_s: float,
    margin_pct: float,
    n: int,
    seed: int,
    extra: tuple[tuple[str, float], ...] = (),
) -> Result:
    """Samples ``0..n-1`` of the cell (host numpy arrays, leading dimension n); cached per process."""
    params = cell_params(site, latency_s, margin_pct, extra)
    result = simulate_batch(params, dispersion(), key(seed), jnp.arange(n, dtype=jnp.int32))
    return jax.device_get(result)


def success(result: Result) -> np.ndarray:
    """(B,) bool: the sample landed."""
    return np.asarray(result.outcome) == OUTCOMES.index(SUCCESS)


def outcome_counts(result: Result) -> dict[str, int]:
    codes = np.bincount(np.asarray(result.outcome, dtype=np.int64), minlength=len(OUTCOMES))
    return {name: int(codes[i]) for i, name in enumerate(OUTCOMES)}


def sample_params(params: Params, disp: Dispersion, seed: int, sample_index: Any) -> Params:
    """Sample ``sample_index``'s dispersed parameters, as ``simulate_sample`` draws them.

    The engine's documented key scheme (core/engine.py): the sample's key is ``fold_in(key, index)`` and
    its parameters come from ``fold_in(sample_key, 0)``. The consistency section checks that traces flown
    from these parameters reproduce ``simulate_batch``'s outcomes sample by sample.
    """
    k = jax.random.fold_in(key(seed), sample_index)
    return apply_dispersion(params, disp, jax.random.fold_in(k, 0))


def sample_key(seed: int, sample_index: Any) -> jax.Array:
    return jax.random.fold_in(key(seed), sample_index)
