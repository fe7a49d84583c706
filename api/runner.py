"""Background execution: one worker thread runs queued studies, one at a time, through ``run_study``.

The registry is the source of truth. A study is ``queued`` until the thread picks it up, ``running``
while ``run_study`` works on its cube, then ``succeeded``, ``failed`` or ``cancelled``. When the
service stops, the running study is interrupted (its store keeps the finished chunks) and stays
``running`` in the registry; at the next start :meth:`StudyRunner.start` re-queues every ``queued`` or
``running`` study, oldest first, and ``run_study`` resumes each from its completed chunks (the cube is
the same as an uninterrupted run's).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import ACTIVE, Study, utc_now
from api.metrics import Metrics, TimedExecutor
from riskengine.errors import RiskEngineError
from riskengine.store import CubeStore
from riskengine.study import Executor, Kernel, StudyProgress, StudySpec, open_cube, run_study
from riskengine.study.runner import StudyCancelled

log = logging.getLogger(__name__)

#: Cube attributes copied into a finished study's provenance.
PROVENANCE_KEYS = (
    "git_revision",
    "kernel",
    "spec_sha256",
    "seed",
    "jax_prng_impl",
    "chunk_size",
    "piece_size",
    "runs",
    "started_at",
    "finished_at",
    "riskengine_schema",
    "interval_method",
    "interval_confidence",
    "key_derivation",
)

PROGRESS_EVERY_S = 1.0


class ServiceStopping(Exception):
    """Raised through ``run_study`` to interrupt a study when the service shuts down (not a cancel)."""


def provenance_from_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    keep = {k: attrs[k] for k in PROVENANCE_KEYS if k in attrs}
    keep |= {k: v for k, v in attrs.items() if k.endswith("_version")}
    return keep


class StudyRunner:
    """Runs studies from the registry in a daemon thread."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        kernel: Kernel,
        executor_factory: Callable[[], Executor],
        metrics: Metrics,
        chunk_size: int | None = None,
    ) -> None:
        self._sessions = sessions
        self._kernel = kernel
        self._executor_factory = executor_factory
        self._metrics = metrics
        self._chunk_size = chunk_size
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._cancel: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.current: str | None = None

    # ------------------------------------------------------------------ control
    def start(self) -> list[str]:
        """Re-queue unfinished studies and start the thread; returns the ids re-queued."""
        resumed = self._requeue_unfinished()
        self._thread = threading.Thread(target=self._loop, name="study-runner", daemon=True)
        self._thread.start()
        return resumed

    def stop(self, timeout: float = 60.0) -> None:
        """Interrupt the running study (it stays ``running``, to be resumed) and end the thread."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, study_id: str) -> None:
        self._queue.put(study_id)

    def request_cancel(self, study_id: str) -> None:
        with self._lock:
            self._cancel.add(study_id)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _requeue_unfinished(self) -> list[str]:
        ids = []
        with self._sessions() as session:
            rows = session.scalars(
                select(Study).where(Study.status.in_(ACTIVE)).order_by(Study.created_at, Study.id)
            ).all()
            for study in rows:
                if study.cancel_requested:
                    self._finish(session, study, "cancelled")
                else:
                    ids.append(study.id)
        for study_id in ids:
            self.submit(study_id)
        if ids:
            log.info("resuming %d unfinished studies: %s", len(ids), ids)
        return ids

    # ------------------------------------------------------------------ the thread
    def _loop(self) -> None:
        while not self._stopping.is_set():
            study_id = self._queue.get()
            if study_id is None:
                break
            try:
                self._run_one(study_id)
            except Exception:  # never let one study end the thread
                log.exception("study %s: unexpected error in the runner", study_id)

    def _should_cancel(self, study_id: str) -> bool:
        if self._stopping.is_set():
            raise ServiceStopping("service stopping")
        with self._lock:
            return study_id in self._cancel

    def _run_one(self, study_id: str) -> None:
        if self._stopping.is_set():
            return
        with self._sessions() as session:
            now = utc_now()
            # Conditional, so a cancel racing with the pick-up wins cleanly.
            picked = session.execute(
                update(Study)
                .where(Study.id == study_id, Study.status.in_(ACTIVE), Study.cancel_requested.is_(False))
                .values(
                    status="running",
                    runs=Study.runs + 1,
                    started_at=func.coalesce(Study.started_at, now),
                    updated_at=now,
                )
            )
            session.commit()
            study = session.get(Study, study_id)
            if study is None:
                return
            if getattr(picked, "rowcount", 0) == 0:
                if study.status in ACTIVE:  # cancel requested before it started
                    self._finish(session, study, "cancelled")
                return
            spec = StudySpec.model_validate_json(study.spec_json)
            location = study.cube_location
        self.current = study_id
        reporter = _ProgressWriter(self._sessions, study_id, self._metrics)
        executor = TimedExecutor(self._executor_factory(), self._metrics.chunk_seconds.observe)
        try:
            # The store fixes the chunk size once created; a resumed study keeps its own.
            fresh = CubeStore.open(location) is None
            run_study(
                spec,
                location,
                kernel=self._kernel,
                executor=executor,
                chunk_size=self._chunk_size if fresh else None,
                progress=reporter,
                cancel=lambda: self._should_cancel(study_id),
            )
        except ServiceStopping:
            reporter.flush()
            log.info("study %s interrupted by shutdown; it resumes at the next start", study_id)
            return
        except StudyCancelled:
            reporter.flush()
            self._finish_id(study_id, "cancelled")
            return
        except RiskEngineError as exc:
            reporter.flush()
            self._finish_id(study_id, "failed", error=str(exc))
            return
        except Exception as exc:
            log.exception("study %s failed", study_id)
            reporter.flush()
            self._finish_id(study_id, "failed", error=f"internal error: {type(exc).__name__}: {exc}")
            return
        finally:
            self.current = None
            with self._lock:
                self._cancel.discard(study_id)
        reporter.flush()
        try:
            prov = provenance_from_attrs(dict(open_cube(location).attrs))
        except RiskEngineError as exc:
            prov = {"error": f"cube attributes unreadable: {exc}"}
        self._finish_id(study_id, "succeeded", provenance=prov)

    def _finish_id(self, study_id: str, status: str, **fields: Any) -> None:
        with self._sessions() as session:
            study = session.get(Study, study_id)
            if study is not None:
                self._finish(session, study, status, **fields)

    @staticmethod
    def _finish(
        session: Session,
        study: Study,
        status: str,
        error: str | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> None:
        study.status = status
        study.error = error
        if provenance is not None:
            study.provenance_json = json.dumps(provenance, default=str)
        study.finished_at = study.updated_at = utc_now()
        if status == "succeeded":
            study.eta_s = 0.0
        session.commit()
        log.info("study %s %s%s", study.id, status, f": {error}" if error else "")


class _ProgressWriter:
    """The ``progress`` callback: throttled writes of the latest snapshot to the registry, and the
    trajectories counter."""

    def __init__(self, sessions: sessionmaker[Session], study_id: str, metrics: Metrics) -> None:
        self._sessions = sessions
        self._id = study_id
        self._metrics = metrics
        self._baseline: int | None = None  # samples found done when this run started (resumed)
        self._counted = 0
        self._last_write = 0.0
        self._last_chunks = -1
        self._pending: StudyProgress | None = None

    def __call__(self, p: StudyProgress) -> None:
        if self._baseline is None:
            self._baseline = p.samples_done
        run = p.samples_done - self._baseline
        if run > self._counted:
            self._metrics.trajectories.inc(run - self._counted)
            self._counted = run
        self._pending = p
        now = time.monotonic()
        if p.chunks_done != self._last_chunks or now - self._last_write >= PROGRESS_EVERY_S:
            self.flush()

    def flush(self) -> None:
        p, self._pending = self._pending, None
        if p is None:
            return
        self._last_write, self._last_chunks = time.monotonic(), p.chunks_done
        with self._sessions() as session:
            study = session.get(Study, self._id)
            if study is None:
                return
            study.chunks_done, study.chunks_total = p.chunks_done, p.chunks_total
            study.chunks_resumed = p.chunks_resumed
            study.samples_done, study.samples_total = p.samples_done, p.samples_total
            study.eta_s = p.eta_s
            study.updated_at = utc_now()
            session.commit()
