"""``run_study``: plan, fan out, store, resume.

The driver is the only writer of the store. For each finished chunk it writes every piece's aggregates
to the ledger, writes the cube region of each cell that is now complete (an idempotent overwrite
computed from all the cell's pieces), and only then marks the pieces done. A chunk interrupted at any
point is therefore either counted once from the ledger or recomputed; it is never lost or counted twice.
Re-running a study on the same store resumes from its done pieces.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskengine.errors import StudyError
from riskengine.store import CubeStore, LedgerShape, PieceRecord
from riskengine.store.location import Location, describe
from riskengine.study.aggregate import PieceAggregate, merge, n_bins
from riskengine.study.cube import build_template, cell_values, global_attrs
from riskengine.study.executor import Executor, RayExecutor, TaskFailed
from riskengine.study.kernel import METRICS, Kernel
from riskengine.study.landing import LandingAggregate, array_shapes
from riskengine.study.plan import ChunkTask, PieceTask, StudyPlan, default_chunk_size, plan_study
from riskengine.study.progress import ProgressCallback, ProgressTracker
from riskengine.study.provenance import git_revision, package_version, provenance, utc_now
from riskengine.study.spec import MARGIN_AXIS, StudySpec
from riskengine.study.validate import check_spec
from riskengine.study.worker import ChunkResult, run_chunk


class StudyCancelled(StudyError):
    """``run_study``'s ``cancel`` hook asked to stop; the store is marked ``cancelled``."""


@dataclass(frozen=True)
class StudyRun:
    """What :func:`run_study` did."""

    location: str
    spec_sha256: str
    chunks_total: int
    chunks_run: int
    chunks_resumed: int
    samples_run: int
    samples_total: int
    wall_s: float
    nodes: tuple[str, ...] = ()  # Ray node ids ("local" in process) that ran chunks in this run
    worker_pids: tuple[int, ...] = ()

    @property
    def trajectories_per_s(self) -> float:
        return self.samples_run / self.wall_s if self.wall_s > 0 else 0.0


def default_kernel() -> Kernel:
    from riskengine.study.descent import DescentKernel

    return DescentKernel()


def run_study(
    spec: StudySpec,
    out: Location,
    *,
    kernel: Kernel | None = None,
    executor: Executor | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> StudyRun:
    """Run (or resume) ``spec`` into the cube at ``out``.

    ``kernel``: the model (default: the descent engine). ``executor``: where chunks run (default: Ray,
    local instance with ``workers`` CPUs or the ``RAY_ADDRESS`` cluster). ``chunk_size``: samples per
    task (default: one cell, at most 1000; fixed by the store once created: resuming with another raises ``StudyError``).
    ``overwrite``: replace an existing cube instead of resuming it.
    ``cancel``: polled between chunk completions (at least every second); when it returns true, chunks
    in flight are cancelled, the store is marked ``cancelled`` and :class:`StudyCancelled` is raised
    (finished chunks stay in the ledger). An exception raised by ``cancel`` interrupts the run as any
    other would (store marked ``interrupted``, resumable).
    Raises ``ConfigError`` for a bad spec, ``StudyError`` when a chunk fails for good or the store holds
    another study, ``StorageError`` when the store cannot be used.
    """
    kernel = kernel or default_kernel()
    check_spec(spec, kernel)
    store = None if overwrite else CubeStore.open(out, storage_options=storage_options)
    if store is not None:
        plan = _plan_for_existing(store, spec, chunk_size, out)
        if store.attrs.get("status") == "complete":
            return _nothing_to_do(store, plan)
    else:
        plan = plan_study(spec, chunk_size)
    if store is None:
        size = chunk_size or default_chunk_size(spec)
        store = _create_store(out, plan, size, kernel, overwrite, storage_options)
    else:
        # A resumed study may run other code than its first run: every run is recorded.
        history = [*store.attrs.get("run_history", []), _run_record()]
        store.update_attrs(status="running", runs=len(history), run_history=history)
    executor = executor or RayExecutor(workers=workers)
    with executor:
        scheduler = _Scheduler(plan, store, kernel, executor, progress, cancel)
        try:
            scheduler.run()
        except StudyCancelled:
            _mark(store, status="cancelled")
            raise
        except StudyError as exc:
            _mark(store, status="failed", error=str(exc))
            raise
        except BaseException:
            _mark(store, status="interrupted")
            raise
    store.finalize(status="complete", finished_at=utc_now(), error="")
    t = scheduler.tracker
    return StudyRun(
        describe(out),
        spec.sha256(),
        plan.n_chunks,
        scheduler.chunks_run,
        t.chunks_resumed,
        t.samples_run,
        t.samples_total,
        t.snapshot().elapsed_s,
        tuple(sorted({n for n, _ in scheduler.workers})),
        tuple(sorted({p for _, p in scheduler.workers})),
    )


def _run_record() -> dict[str, str]:
    return {"started_at": utc_now(), "git_revision": git_revision(), "riskengine_version": package_version()}


def _mark(store: CubeStore, **attrs: Any) -> None:
    """Best effort: the original error matters more than recording it."""
    with contextlib.suppress(Exception):
        store.update_attrs(**attrs)


def _plan_for_existing(store: CubeStore, spec: StudySpec, chunk_size: int | None, out: Location) -> StudyPlan:
    attrs = store.attrs
    if attrs.get("spec_sha256") != spec.sha256():
        raise StudyError(
            f"{describe(out)} holds a different study (spec {str(attrs.get('spec_sha256'))[:12]}, "
            f"this one {spec.sha256()[:12]}); choose another output or overwrite it"
        )
    stored = int(attrs["chunk_size"])
    plan = plan_study(spec, stored)
    if chunk_size is not None and _layout(plan_study(spec, chunk_size)) != _layout(plan):
        raise StudyError(
            f"{describe(out)} was started with chunk_size={stored}; resume it with that chunk size "
            f"(or none), not {chunk_size}"
        )
    return plan


def _layout(plan: StudyPlan) -> tuple[int, int, int]:
    return plan.piece_size, plan.pieces_per_cell, plan.cells_per_chunk


def _nothing_to_do(store: CubeStore, plan: StudyPlan) -> StudyRun:
    n = int(store.read_variable("n").sum())
    return StudyRun(describe(store.location), plan.spec.sha256(), plan.n_chunks, 0, plan.n_chunks, 0, n, 0.0)


def _create_store(
    out: Location,
    plan: StudyPlan,
    chunk_size: int,
    kernel: Kernel,
    overwrite: bool,
    storage_options: dict[str, Any] | None,
) -> CubeStore:
    attrs = {
        **global_attrs(plan, provenance(plan.spec, kernel.name)),
        "chunk_size": chunk_size,
        "status": "running",
        "runs": 1,
        "run_history": [_run_record()],
        "started_at": utc_now(),
        "finished_at": "",
        "error": "",
    }
    template, chunks = build_template(plan, kernel, attrs)
    shape = LedgerShape(
        n_cells=len(plan.cells),
        pieces_per_cell=plan.pieces_per_cell,
        n_outcomes=len(kernel.outcomes),
        n_metrics=len(METRICS),
        n_bins=n_bins(),
        retain=plan.spec.retain_samples,
        landing=array_shapes(plan.spec.landing_map, len(kernel.outcomes)),
    )
    return CubeStore.create(
        out, template, chunks, shape, overwrite=overwrite, storage_options=storage_options
    )


class _Scheduler:
    """Keeps the executor busy, stores results, tracks progress."""

    def __init__(
        self,
        plan: StudyPlan,
        store: CubeStore,
        kernel: Kernel,
        executor: Executor,
        progress: ProgressCallback | None,
        cancel: Callable[[], bool] | None = None,
    ) -> None:
        self.plan, self.store, self.kernel, self.executor = plan, store, kernel, executor
        self.cancel = cancel
        self.spec = plan.spec
        self.success = kernel.outcomes.index(kernel.success_outcome)
        self.early = self.spec.early_stopping is not None
        self.tracker = ProgressTracker(plan.n_chunks, plan.total_samples, progress)
        self.records: dict[int, dict[int, PieceRecord]] = collections.defaultdict(dict)
        # Landing maps are large: each incomplete cell keeps one running (exact, integer) sum, not its pieces.
        self.landing: dict[int, LandingAggregate] = {}
        self.resolved = np.zeros((len(plan.cells), plan.pieces_per_cell), dtype=bool)  # done or skipped
        self.queue: collections.deque[ChunkTask] = collections.deque()
        self.chunks_run = 0
        self.workers: set[tuple[str, int]] = set()
        self._load_ledger()

    # ------------------------------------------------------------------ resume
    def _load_ledger(self) -> None:
        ledger, plan = self.store.ledger, self.plan
        done, stopped = ledger.done(), ledger.stopped()
        pending: list[PieceTask] = []
        for c in range(len(plan.cells)):
            stop_at = next((k for k in range(plan.pieces_per_cell) if done[c, k] and stopped[c, k]), None)
            if stop_at is not None:
                self._skip(c, stop_at + 1)
            for k in range(plan.pieces_per_cell):
                if done[c, k]:
                    rec = ledger.read_piece(c, k)
                    self.resolved[c, k] = True
                    self.tracker.samples_done += rec.n
                    self.tracker.samples_total -= self._planned(k) - rec.n
                    if stop_at is None and not done[c].all():
                        self._keep(c, k, rec)
            if stop_at is not None or done[c].all():
                continue
            if self.early:  # pieces of a cell run in order; the next one needs the counts before it
                k = int(np.argmin(done[c]))
                pending.append(self._piece_task(c, k))
            else:
                pending.extend(self._piece_task(c, k) for k in range(plan.pieces_per_cell) if not done[c, k])
        resolved_chunks = {
            ch for ch in range(plan.n_chunks) if all(self.resolved[c, k] for c, k in plan.chunk_members(ch))
        }
        self.tracker.chunks_done = self.tracker.chunks_resumed = len(resolved_chunks)
        self._enqueue(pending)

    def _planned(self, piece: int) -> int:
        start, stop = self.plan.piece_bounds(piece)
        return stop - start

    def _piece_task(self, cell: int, piece: int) -> PieceTask:
        start, stop = self.plan.piece_bounds(piece)
        prior = self.records.get(cell, {})
        succ = sum(int(r.counts[self.success]) for k, r in prior.items() if k < piece)
        n = sum(r.n for k, r in prior.items() if k < piece)
        return PieceTask(cell, piece, start, stop, succ, n)

    def _enqueue(self, pieces: list[PieceTask]) -> None:
        by_chunk: dict[int, list[PieceTask]] = collections.defaultdict(list)
        for p in pieces:
            by_chunk[self.plan.chunk_of(p.cell, p.piece)].append(p)
        for chunk_id in sorted(by_chunk):
            self.queue.append(ChunkTask(chunk_id, tuple(by_chunk[chunk_id])))

    def _skip(self, cell: int, from_piece: int) -> None:
        """Pieces made unnecessary by early stopping."""
        for k in range(from_piece, self.plan.pieces_per_cell):
            if not self.resolved[cell, k]:
                self.resolved[cell, k] = True
                self.tracker.samples_total -= self._planned(k)
                if self.plan.pieces_per_cell > 1:
                    self.tracker.chunks_done += 1

    # ------------------------------------------------------------------ main loop
    def run(self) -> None:
        ex = self.executor
        spec_ref = ex.put(self.spec)
        kernel_ref = ex.put(self.kernel)
        in_flight: dict[Any, ChunkTask] = {}
        self.tracker.report()
        try:
            while self.queue or in_flight:
                while self.queue and len(in_flight) < ex.slots:
                    task = self.queue.popleft()
                    cells = {p.cell: self.plan.cells[p.cell] for p in task.pieces}
                    handle = ex.submit(run_chunk, kernel_ref, spec_ref, cells, task, self.plan.batch_size)
                    in_flight[handle] = task
                finished = ex.wait(list(in_flight), timeout=1.0)
                for handle in finished:
                    task = in_flight.pop(handle)
                    try:
                        result: ChunkResult = ex.result(handle)
                    except TaskFailed as exc:
                        raise StudyError(
                            f"chunk {task.chunk_id} ({self._describe(task)}) failed: {exc}"
                        ) from exc
                    self._absorb(task, result)
                    self.tracker.report()
                if not finished:
                    self.tracker.report()
                if self.cancel is not None and (self.queue or in_flight) and self.cancel():
                    raise StudyCancelled(f"study {self.spec.name!r} cancelled")
        except BaseException:
            ex.cancel(list(in_flight))  # their results would not be recorded anyway
            raise

    def _describe(self, task: ChunkTask) -> str:
        cell = self.plan.cells[task.pieces[0].cell]
        where = ", ".join(f"{k}={v:g}" for k, v in cell.assignments)
        more = f" and {len(task.pieces) - 1} more cells" if len(task.pieces) > 1 else ""
        return f"site {cell.site}, {where}, samples {task.pieces[0].start}-{task.pieces[0].stop}{more}"

    def _absorb(self, task: ChunkTask, result: ChunkResult) -> None:
        ledger, follow_ups = self.store.ledger, []
        for agg in result.pieces:
            c, k = agg.cell, agg.piece
            land = agg.landing.arrays() if agg.landing is not None else None
            rec = PieceRecord(agg.n, agg.counts, agg.hist, agg.stopped, agg.need_kg, land)
            ledger.write_piece(c, k, rec, _retained(agg))
            self._keep(c, k, rec)
            complete = agg.stopped or len(self.records[c]) == self.plan.pieces_per_cell
            if complete:
                self._write_cell(c)
            ledger.mark_done(c, k)
            self.resolved[c, k] = True
            self.tracker.samples_done += agg.n
            self.tracker.samples_run += agg.n
            self.tracker.samples_total -= self._planned(k) - agg.n
            if complete:
                self._skip(c, k + 1)
                del self.records[c]
                self.landing.pop(c, None)
            elif self.early and k + 1 < self.plan.pieces_per_cell:
                follow_ups.append(self._piece_task(c, k + 1))
        self.chunks_run += 1
        self.workers.add((result.node_id, result.pid))
        self.tracker.chunks_done += 1
        self._enqueue(follow_ups)

    def _keep(self, cell: int, piece: int, rec: PieceRecord) -> None:
        if rec.landing is not None:
            land = LandingAggregate.from_arrays(dict(rec.landing))
            self.landing[cell] = self.landing[cell] + land if cell in self.landing else land
        self.records[cell][piece] = dataclasses.replace(rec, landing=None)

    def _write_cell(self, cell: int) -> None:
        recs = [self.records[cell][k] for k in sorted(self.records[cell])]
        totals = merge(
            [
                PieceAggregate(cell, i, r.n, r.counts, r.hist, r.stopped, r.need_kg)
                for i, r in enumerate(recs)
            ],
            len(self.kernel.outcomes),
        )
        totals = dataclasses.replace(totals, landing=self.landing.get(cell))
        retained = self.store.ledger.read_retained(cell) if self.spec.retain_samples else None
        margin = self.plan.cells[cell].assignment_dict()[MARGIN_AXIS]
        hazard = self.kernel.terrain_hazard(self.spec, self.plan.cells[cell])
        values = cell_values(totals, self.plan, self.success, margin, retained, hazard)
        self.store.write_cell(self.plan.grid_index(cell), values)


def _retained(agg: PieceAggregate) -> tuple[int, np.ndarray, np.ndarray] | None:
    if agg.retained is None:
        return None
    r = agg.retained
    metrics = np.stack([r.metrics[m] for m in METRICS], axis=-1)
    return agg.retained_start, np.asarray(r.outcome, dtype=np.int32), metrics
