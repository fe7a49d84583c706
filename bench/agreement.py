"""Engine vs NumPy twin vs one-at-a-time loop, on identical inputs: agreement and relative speed.

The three implementations are independent codings of the same model (the loop shares the twin's code),
run on the same samples: same dispersed parameters, draws and noise stream. Until the altimeter's beams
are in range the trajectories agree to float32-accumulation level; after, a descent is chaotic (each
beam's range update moves the horizontal estimate by the terrain slope under the beam), so the metric
agreement per sample reported here is low by construction (slope, miss distance, duration: 0.13-0.47 at
32 samples, the engine against itself compiled differently 0.5-0.8) and the model check is the one-step
comparison from engine states in tests/bench/test_twin_step.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import numpy as np

from bench import numpy_twin, per_trajectory
from bench.inputs import FUEL_MARGIN_PCT, SITE, study_inputs
from riskengine.core import simulate_batch

# |engine - twin| allowed for a sample to count as agreeing on a metric (absolute, or relative to value).
TOLERANCE: dict[str, tuple[float, float]] = {
    "touchdown_vertical_speed_mps": (0.05, 0.01),
    "touchdown_horizontal_speed_mps": (0.05, 0.01),
    "propellant_remaining_kg": (0.5, 0.01),
    "duration_s": (0.5, 0.0),
    "miss_distance_m": (5.0, 0.01),
    "slope_deg": (0.05, 0.0),
}


@dataclass(frozen=True)
class Agreement:
    samples: int
    per_trajectory_samples: int
    outcome_agreement_twin: float  # fraction of samples with the engine's outcome code
    outcome_agreement_per_trajectory: float
    metric_agreement_twin: dict[str, float]  # fraction within TOLERANCE (NaN == NaN counts as agreeing)
    engine_traj_per_s: float  # the same samples, warm
    twin_traj_per_s: float
    per_trajectory_traj_per_s: float

    @property
    def numpy_ratio(self) -> float:
        return self.engine_traj_per_s / self.twin_traj_per_s

    @property
    def per_trajectory_ratio(self) -> float:
        return self.engine_traj_per_s / self.per_trajectory_traj_per_s


def metric_agreement(a: np.ndarray, b: np.ndarray, name: str) -> float:
    atol, rtol = TOLERANCE[name]
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    close = np.abs(a - b) <= atol + rtol * np.abs(a)
    both_nan = np.isnan(a) & np.isnan(b)
    return float(np.mean(close | both_nan))


def compare(n: int, n_loop: int, seed: int = 1) -> Agreement:
    """Run ``n`` samples (Mare Frigoris, 10 % margin, smoke dispersions) through the engine and the twin,
    and the first ``n_loop`` through the one-at-a-time loop."""
    params, dispersion = study_inputs(SITE, FUEL_MARGIN_PCT)
    key = jax.random.key(seed)
    idx = jax.numpy.arange(n, dtype=jax.numpy.int32)
    simulate_batch(params, dispersion, jax.random.key(seed + 1), idx).outcome.block_until_ready()  # compile
    t0 = time.perf_counter()
    eng = jax.device_get(simulate_batch(params, dispersion, key, idx))
    eng_s = time.perf_counter() - t0

    inputs = numpy_twin.inputs_from_engine(params, dispersion, key, idx)
    t0 = time.perf_counter()
    twin = numpy_twin.simulate(inputs)
    twin_s = time.perf_counter() - t0
    loop = per_trajectory.run(inputs, n_loop)

    eo = np.asarray(eng.outcome)
    return Agreement(
        samples=n,
        per_trajectory_samples=n_loop,
        outcome_agreement_twin=float(np.mean(eo == twin.outcome)),
        outcome_agreement_per_trajectory=float(np.mean(eo[:n_loop] == loop.outcome)),
        metric_agreement_twin={
            m: metric_agreement(getattr(eng, m), getattr(twin, m), m) for m in numpy_twin.METRIC_FIELDS
        },
        engine_traj_per_s=n / eng_s,
        twin_traj_per_s=n / twin_s,
        per_trajectory_traj_per_s=loop.trajectories_per_s,
    )
