"""Memory: peak RSS of whole studies of growing size, each in a fresh in-process run (one process holds
the driver and the engine, so ``ru_maxrss`` is the study's whole footprint). Aggregates stream (counts
and histograms per piece; no per-trajectory arrays kept), so RSS should not grow with trajectory count.

Descent-engine studies are run up to what fits the time budget (a 1e7-trajectory descent study is hours
on two cores). The 1e7 figure is measured with the closed-form Bernoulli kernel through the same runner,
aggregation and Zarr store, in chunks of 1e5: the part of a study whose memory could grow with its size.
The engine's own footprint is per chunk (fixed lane blocks), which the descent runs show.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from bench.fanout import run_study_process, study_command

CELLS = 18  # the smoke study's grid: 2 sites x 3 latencies x 3 margins


BERNOULLI_CHUNK = 100_000


def measure(totals: list[int], bernoulli_totals: list[int]) -> dict[str, Any]:
    runs = {}
    large_runs = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        data = str(Path(tmp) / "data")
        for n in totals:
            spc = math.ceil(n / CELLS)
            out = str(Path(tmp) / f"cube-{n}.zarr")
            runs[n] = run_study_process(study_command(spc, None, out, in_process=True), data)
            runs[n]["command"] = f"python -m bench.study_run --samples-per-cell {spc} --in-process --out DIR"
        for n in bernoulli_totals:
            spc = math.ceil(n / CELLS)
            out = str(Path(tmp) / f"bernoulli-{n}.zarr")
            extra = ["--kernel", "bernoulli", "--chunk-size", str(BERNOULLI_CHUNK)]
            large_runs[n] = run_study_process(study_command(spc, None, out, in_process=True) + extra, data)
            large_runs[n]["command"] = (
                f"python -m bench.study_run --samples-per-cell {spc} --in-process --kernel bernoulli "
                f"--chunk-size {BERNOULLI_CHUNK} --out DIR"
            )
    measured_1e7 = [r["peak_rss_mb"] for n, r in large_runs.items() if n >= 10_000_000]
    return {
        "runs": {str(n): r for n, r in runs.items()},
        "bernoulli_runs": {str(n): r for n, r in large_runs.items()},
        "peak_rss_mb_1e7": measured_1e7[0] if measured_1e7 else None,
        "peak_rss_mb_1e7_kernel": "bernoulli" if measured_1e7 else None,
    }
