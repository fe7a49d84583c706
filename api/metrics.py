"""Prometheus metrics of one app instance (its own registry: several apps may live in one test process).

``riskengine_studies{status}``                      studies in the registry by status (read at scrape time)
``riskengine_trajectories_simulated_total``         trajectories simulated by this process
``riskengine_chunk_duration_seconds``               submit-to-result time of chunk tasks
``riskengine_http_request_duration_seconds``        request latency by method, route template and status
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import STATUSES, Study
from riskengine.study import Executor


class _StudiesByStatus(Collector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "riskengine_studies", "Studies in the registry by status", labels=["status"]
        )
        with self._sessions() as session:
            rows = session.execute(select(Study.status, func.count()).group_by(Study.status)).all()
        counts = {str(status): int(n) for status, n in rows}
        for status in STATUSES:
            family.add_metric([status], counts.get(status, 0))
        yield family


class Metrics:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_StudiesByStatus(sessions))
        self.trajectories = Counter(
            "riskengine_trajectories_simulated",
            "Trajectories simulated by this service process",
            registry=self.registry,
        )
        self.chunk_seconds = Histogram(
            "riskengine_chunk_duration_seconds",
            "Time from submitting a chunk task to its result",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "riskengine_http_request_duration_seconds",
            "HTTP request latency",
            labelnames=["method", "route", "status"],
            registry=self.registry,
        )


class TimedExecutor:
    """Wraps an executor; observes each chunk task's submit-to-finish time."""

    def __init__(self, inner: Executor, observe: Callable[[float], None]) -> None:
        self._inner = inner
        self._observe = observe
        self._started: dict[Any, float] = {}

    @property
    def slots(self) -> int:
        return self._inner.slots

    def __enter__(self) -> TimedExecutor:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)

    def put(self, obj: Any) -> Any:
        return self._inner.put(obj)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.monotonic()
        handle = self._inner.submit(fn, *args)
        self._started[handle] = t0
        return handle

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[Any]:
        done = self._inner.wait(handles, timeout)
        now = time.monotonic()
        for handle in done:
            t0 = self._started.pop(handle, None)
            if t0 is not None:
                self._observe(now - t0)
        return done

    def result(self, handle: Any) -> Any:
        return self._inner.result(handle)

    def cancel(self, handles: Sequence[Any]) -> None:
        for handle in handles:
            self._started.pop(handle, None)
        self._inner.cancel(handles)
