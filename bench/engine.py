"""Engine throughput: dispersed full-model descents per second on this machine."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bench.inputs import study_inputs
from riskengine.core import OUTCOMES, Dispersion, Params, simulate_batch


@dataclass(frozen=True)
class EngineFigure:
    trajectories: int
    wall_s: float
    trajectories_per_s: float
    trajectory_steps_per_s: float  # simulated steps (duration / dt) summed over trajectories, per second
    landed_fraction: float


def _inputs() -> tuple[Params, Dispersion]:
    # Spread the altimeter latency over the studies' range so run lengths vary as in a real study.
    return study_inputs(spread_latency=True)


def measure(n: int, seed: int = 0) -> EngineFigure:
    """Time ``n`` dispersed descents (compilation excluded: warmed up on the same shapes first)."""
    params, dispersion = _inputs()
    idx = jnp.arange(n, dtype=jnp.int32)
    simulate_batch(params, dispersion, jax.random.key(seed + 1), idx).outcome.block_until_ready()
    t0 = time.perf_counter()
    result = simulate_batch(params, dispersion, jax.random.key(seed), idx)
    result.outcome.block_until_ready()
    wall = time.perf_counter() - t0
    steps = float(np.sum(np.asarray(result.duration_s)) / float(params.sim.dt_s))
    landed = float(np.mean(np.asarray(result.outcome) == OUTCOMES.index("landed")))
    return EngineFigure(n, wall, n / wall, steps / wall, landed)


def compile_seconds() -> float:
    """Wall time of the first call on a fresh shape (trace + XLA compile + one run of 64 lanes)."""
    params, dispersion = _inputs()
    idx = jnp.arange(64, dtype=jnp.int32) + 10_000_000
    t0 = time.perf_counter()
    simulate_batch(params, dispersion, jax.random.key(0), idx).outcome.block_until_ready()
    return time.perf_counter() - t0
