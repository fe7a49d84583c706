"""The per-chunk work: a pure function of (kernel, spec, chunk task), run on a worker.

:func:`run_chunk` evaluates every piece of a chunk in kernel calls of one fixed batch shape
(see :data:`riskengine.study.plan.MAX_BATCH`), applies early stopping at the spec's fixed checkpoints,
and returns compact aggregates (counts and histograms), never per-trajectory arrays unless the spec
asks for retained samples.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from riskengine.study.aggregate import PieceAggregate, aggregate_batch, stop_point
from riskengine.study.kernel import METRICS, CellRef, Kernel, SampleBatch
from riskengine.study.landing import Touchdown
from riskengine.study.plan import ChunkTask, PieceTask, cell_key
from riskengine.study.spec import StudySpec


@dataclass(frozen=True)
class ChunkResult:
    """What a chunk task sends back: one aggregate per piece, plus where and how long it ran."""

    chunk_id: int
    pieces: tuple[PieceAggregate, ...]
    pid: int
    node_id: str
    wall_s: float

    @property
    def samples(self) -> int:
        return sum(p.n for p in self.pieces)


def _simulate_range(
    kernel: Kernel, spec: StudySpec, cell: CellRef, start: int, stop: int, batch_size: int
) -> SampleBatch:
    """Samples ``[start, stop)`` of ``cell`` in calls of exactly ``batch_size`` samples (the last one padded
    with the following sample indices, whose results are dropped): one compiled shape per study run."""
    key = cell_key(spec.seed, cell.site_index, cell.grid_flat)
    outs: list[SampleBatch] = []
    for b0 in range(start, stop, batch_size):
        index = np.arange(b0, b0 + batch_size, dtype=np.int32)
        res = kernel.simulate(spec, cell, key, index)
        keep = min(stop, b0 + batch_size) - b0
        outs.append(
            SampleBatch(
                np.asarray(res.outcome)[:keep],
                {m: np.asarray(res.metrics[m], dtype=np.float64)[:keep] for m in METRICS},
                res.touchdown.take(keep) if res.touchdown is not None else None,
            )
        )
    tds = [o.touchdown for o in outs]
    return SampleBatch(
        np.concatenate([o.outcome for o in outs]),
        {m: np.concatenate([o.metrics[m] for o in outs]) for m in METRICS},
        Touchdown.concat([t for t in tds if t is not None]) if all(t is not None for t in tds) else None,
    )


def run_piece(
    kernel: Kernel, spec: StudySpec, cell: CellRef, task: PieceTask, batch_size: int
) -> PieceAggregate:
    batch = _simulate_range(kernel, spec, cell, task.start, task.stop, batch_size)
    n_out = len(kernel.outcomes)
    stopped = False
    es = spec.early_stopping
    if es is not None:
        success = batch.outcome == kernel.outcomes.index(kernel.success_outcome)
        at = stop_point(success, task.start, task.prior_successes, es.target_width, es.check_every)
        if at is not None:
            batch = batch.take(at - task.start)
            stopped = at < spec.samples_per_cell
    need = float(kernel.nominal_propellant_need_kg(spec, cell))
    agg = aggregate_batch(
        task.cell, task.piece, batch, n_out, stopped=stopped, need_kg=need, landing_map=spec.landing_map
    )
    keep = max(0, min(spec.retain_samples, task.start + len(batch)) - task.start)
    if keep:
        return dataclasses.replace(agg, retained=batch.take(keep), retained_start=task.start)
    return agg


def run_chunk(
    kernel: Kernel, spec: StudySpec, cells: dict[int, CellRef], task: ChunkTask, batch_size: int
) -> ChunkResult:
    """Run one chunk. ``cells`` maps the chunk's cell indices to their :class:`CellRef`."""
    t0 = time.perf_counter()
    pieces = tuple(run_piece(kernel, spec, cells[p.cell], p, batch_size) for p in task.pieces)
    return ChunkResult(task.chunk_id, pieces, os.getpid(), _node_id(), time.perf_counter() - t0)


def _node_id() -> str:
    ray = sys.modules.get("ray")  # never import Ray just to ask: the in-process executor runs without it
    if ray is not None and ray.is_initialized():
        return str(ray.get_runtime_context().get_node_id())
    return "local"
