"""Progress reports sent while a study runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StudyProgress:
    """A snapshot of a running study.

    ``chunks_done`` counts chunks finished in this run, found finished in the store (``chunks_resumed``),
    or made unnecessary by early stopping. ``samples_total`` is the planned number of trajectories,
    reduced as cells stop early; ``samples_done`` are trajectories counted in the cube so far.
    ``eta_s`` extrapolates this run's throughput (``None`` until something has finished).
    """

    chunks_done: int
    chunks_total: int
    samples_done: int
    samples_total: int
    chunks_resumed: int
    elapsed_s: float
    eta_s: float | None

    @property
    def fraction(self) -> float:
        return self.samples_done / self.samples_total if self.samples_total else 1.0


ProgressCallback = Callable[[StudyProgress], None]


class ProgressTracker:
    """Counts and ETA; calls the callback on every update."""

    def __init__(self, chunks_total: int, samples_total: int, callback: ProgressCallback | None) -> None:
        self.chunks_total = chunks_total
        self.samples_total = samples_total
        self.chunks_done = 0
        self.chunks_resumed = 0
        self.samples_done = 0
        self.samples_run = 0  # in this run: the ETA's throughput
        self._callback = callback
        self._t0 = time.monotonic()

    def snapshot(self) -> StudyProgress:
        elapsed = time.monotonic() - self._t0
        remaining = max(0, self.samples_total - self.samples_done)
        eta = remaining * elapsed / self.samples_run if self.samples_run else None
        if remaining == 0:
            eta = 0.0
        return StudyProgress(
            self.chunks_done,
            self.chunks_total,
            self.samples_done,
            self.samples_total,
            self.chunks_resumed,
            elapsed,
            eta,
        )

    def report(self) -> None:
        if self._callback is not None:
            self._callback(self.snapshot())
