"""The headline study end to end: ``atlas_vs_frigoris`` (2 sites x 7 latencies x 6 fuel margins, 1000
samples per cell, 84,000 descents) on a local Ray instance, each run a fresh process.

First with an empty compilation cache (what a fresh machine or a code change costs), then again on the
warm cache. ``process_s`` is the whole process (Ray start, workers' imports, compile or cache load,
every chunk, the cube written); ``wall_s`` counts from the scheduler's start, as ``StudyRun.wall_s`` does.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.fanout import run_study_process, study_command

SPEC = "atlas_vs_frigoris"
SAMPLES_PER_CELL = 1000


def measure(workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-headline-") as tmp:
        data = str(Path(tmp) / "data")  # its jax-cache starts empty
        out = str(Path(tmp) / "cube.zarr")
        cmd = [*study_command(SAMPLES_PER_CELL, workers, out), "--spec", SPEC]
        cold = run_study_process(cmd, data)
        warm = run_study_process(cmd, data)
    return {
        "spec": SPEC,
        "samples_per_cell": SAMPLES_PER_CELL,
        "workers": workers,
        "cold_cache": cold,
        "warm_cache": warm,
        "command": f"python -m bench.study_run --spec {SPEC} --samples-per-cell {SAMPLES_PER_CELL} "
        f"--workers {workers} --out DIR (RISKENGINE_DATA_DIR=fresh dir: 1st run cold, then warm)",
    }
