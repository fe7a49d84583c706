"""The one-trajectory-at-a-time baseline: a plain Python loop over samples, each stepped alone.

This is how per-run simulation tools work (one vehicle state, small-array math per step, a loop over
runs). It reuses the NumPy twin's step on batches of one, so its physics is the twin's, line for line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bench import numpy_twin
from bench.numpy_twin import Inputs


@dataclass(frozen=True)
class PerTrajectoryRun:
    outcome: np.ndarray  # (n,) int32
    metrics: dict[str, np.ndarray]  # each (n,)
    wall_s: float

    @property
    def trajectories_per_s(self) -> float:
        return len(self.outcome) / self.wall_s


def run(inputs: Inputs, n: int) -> PerTrajectoryRun:
    """Simulate the first ``n`` samples of ``inputs`` one after another."""
    results = []
    t0 = time.perf_counter()
    for i in range(n):
        results.append(numpy_twin.simulate(inputs.take(i)))
    wall = time.perf_counter() - t0
    return PerTrajectoryRun(
        np.concatenate([r.outcome for r in results]),
        {m: np.concatenate([getattr(r, m) for r in results]) for m in numpy_twin.METRIC_FIELDS},
        wall,
    )
