"""Engine throughput: dispersed full-model descents per second on this machine.

Each size is compiled ahead of time (``lower().compile()`` of the engine's jitted block runner, on exactly
the block layout ``simulate_batch`` uses) and then run once, so the timed run holds no compilation and the
batch is not simulated twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bench.inputs import study_inputs
from riskengine.core import OUTCOMES, Dispersion, Params
from riskengine.core.engine import BLOCK_LANES, LANE_MULTIPLE, _simulate_blocks


@dataclass(frozen=True)
class EngineFigure:
    trajectories: int
    wall_s: float
    trajectories_per_s: float
    trajectory_steps_per_s: float  # simulated steps (duration / dt) summed over trajectories, per second
    landed_fraction: float
    compile_s: float  # trace + XLA compile of this batch shape (not in wall_s)


def _inputs() -> tuple[Params, Dispersion]:
    # Spread the altimeter latency over the studies' range so run lengths vary as in a real study.
    return study_inputs(spread_latency=True)


def _blocks(n: int) -> jax.Array:
    """Sample indices 0..n-1 laid out as ``simulate_batch`` lays them out: (n_blocks, block), padded."""
    block = BLOCK_LANES if n > BLOCK_LANES else max(LANE_MULTIPLE, -(-n // LANE_MULTIPLE) * LANE_MULTIPLE)
    padded = -(-n // block) * block
    idx = np.concatenate([np.arange(n), np.zeros(padded - n, dtype=np.int64)]).astype(np.int32)
    return jnp.asarray(idx.reshape(padded // block, block))


def measure(n: int, seed: int = 0) -> EngineFigure:
    """Time ``n`` dispersed descents (compilation timed apart, before the run)."""
    params, dispersion = _inputs()
    key = jax.random.key(seed)
    idx = _blocks(n)
    t0 = time.perf_counter()
    compiled = _simulate_blocks.lower(params, dispersion, key, idx).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = compiled(params, dispersion, key, idx)
    result.outcome.block_until_ready()
    wall = time.perf_counter() - t0
    duration = np.asarray(result.duration_s).reshape(-1)[:n]
    outcome = np.asarray(result.outcome).reshape(-1)[:n]
    steps = float(np.sum(duration) / float(params.sim.dt_s))
    landed = float(np.mean(outcome == OUTCOMES.index("landed")))
    return EngineFigure(n, wall, n / wall, steps / wall, landed, compile_s)


def compile_seconds() -> float:
    """Trace + XLA compile of the 1024-lane block program (the shape of a 1e3 batch)."""
    return measure(1_000).compile_s
