"""Engine throughput: dispersed full-model descents per second on this machine.

The engine's block program (``BLOCK_LANES`` lanes) is compiled once, ahead of time (``lower().compile()`` of
the jitted block program ``simulate_batch`` calls), and every size runs as consecutive blocks of it, as a
study worker runs its chunks: the timed runs hold no compilation. Trajectory-steps are the integration
steps actually taken (``Result.integration_steps``), not simulated time over dt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bench.inputs import study_inputs
from riskengine.core import OUTCOMES, Dispersion, Params
from riskengine.core.engine import BLOCK_LANES, _simulate_block


@dataclass(frozen=True)
class EngineFigure:
    trajectories: int
    wall_s: float
    trajectories_per_s: float
    trajectory_steps_per_s: float  # integration steps taken, summed over trajectories, per second
    landed_fraction: float
    compile_s: float  # trace + XLA compile of this batch shape (not in wall_s)


def _inputs() -> tuple[Params, Dispersion]:
    # Spread the altimeter latency over the studies' range so run lengths vary as in a real study.
    return study_inputs(spread_latency=True)


_compiled: dict[str, object] = {}


def _drawn(dispersion: Dispersion) -> jax.Array:
    """Every dispersed path drawn in every lane (the study's own samples, no counterfactual)."""
    return jnp.ones((BLOCK_LANES, len(dispersion.paths)), bool)


def _program(params: Params, dispersion: Dispersion, key: jax.Array) -> tuple[object, float]:
    """The compiled block program, and the seconds its compilation took (once per process)."""
    if "program" not in _compiled:
        idx = jnp.zeros((BLOCK_LANES,), jnp.int32)
        t0 = time.perf_counter()
        _compiled["program"] = _simulate_block.lower(
            params, dispersion, key, idx, _drawn(dispersion)
        ).compile()
        _compiled["compile_s"] = time.perf_counter() - t0
    return _compiled["program"], float(_compiled["compile_s"])  # type: ignore[arg-type]


def measure(n: int, seed: int = 0) -> EngineFigure:
    """Time ``n`` dispersed descents (compilation timed apart, before the run)."""
    params, dispersion = _inputs()
    key = jax.random.key(seed)
    program, compile_s = _program(params, dispersion, key)
    blocks = -(-n // BLOCK_LANES)
    idx = np.arange(blocks * BLOCK_LANES, dtype=np.int32).reshape(blocks, BLOCK_LANES)
    outcome, steps = [], []
    t0 = time.perf_counter()
    for b in range(blocks):  # a sample's index is its own: the last block's extra samples are real ones
        result = program(params, dispersion, key, jnp.asarray(idx[b]), _drawn(dispersion))  # type: ignore[operator]
        outcome.append(result.outcome)
        steps.append(result.integration_steps)
    jax.block_until_ready(outcome)
    wall = time.perf_counter() - t0
    done = blocks * BLOCK_LANES  # every lane ran a real, distinct sample
    out = np.concatenate([np.asarray(o).reshape(-1) for o in outcome])
    total_steps = float(sum(np.asarray(s, dtype=np.float64).sum() for s in steps))
    landed = float(np.mean(out == OUTCOMES.index("landed")))
    return EngineFigure(done, wall, done / wall, total_steps / wall, landed, compile_s)


def compile_seconds() -> float:
    """Trace + XLA compile of the block program."""
    return measure(BLOCK_LANES).compile_s
