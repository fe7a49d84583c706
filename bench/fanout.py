"""Fan-out: study wall time over 1, 2, ... Ray workers, time to the first finished chunk, and what the
persistent compilation cache saves. Each run is a fresh process (``python -m bench.study_run``).

Order: a cold run (empty cache dir: every worker traces and compiles), then the same run again (fresh
Ray, fresh workers, warm cache), then 2.. workers on the warm cache. Parallel efficiency for n workers is
``wall(1) / (n * wall(n))`` on the warm cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def study_command(
    samples_per_cell: int, workers: int | None, out: str, in_process: bool = False
) -> list[str]:
    cmd = [sys.executable, "-m", "bench.study_run", "--samples-per-cell", str(samples_per_cell), "--out", out]
    return [*cmd, "--in-process"] if in_process else [*cmd, "--workers", str(workers)]


def run_study_process(cmd: list[str], data_dir: str) -> dict[str, Any]:
    env = {**os.environ, "RISKENGINE_DATA_DIR": data_dir}
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    command_s = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    # command_s: the whole command, interpreter start to exit (end to end, as a user would time it).
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "command_s": command_s}


def measure(samples_per_cell: int, workers: list[int]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        data = str(Path(tmp) / "data")  # its jax-cache starts empty
        out = str(Path(tmp) / "cube.zarr")
        cold = run_study_process(study_command(samples_per_cell, 1, out), data)
        runs = {}
        for n in workers:
            runs[n] = run_study_process(study_command(samples_per_cell, n, out), data)
    wall1 = runs[min(workers)]["wall_s"] * min(workers)
    efficiency = {n: wall1 / (n * r["wall_s"]) for n, r in runs.items()}
    return {
        "samples_per_cell": samples_per_cell,
        "cold_cache_1_worker": cold,
        "warm_cache": {str(n): r for n, r in runs.items()},
        "parallel_efficiency": {str(n): e for n, e in efficiency.items()},
        # Time to the first chunk = worker start + compile (or cache load) + one chunk of work.
        "compile_saved_by_cache_s": cold["first_chunk_s"] - runs[min(workers)]["first_chunk_s"],
        "command": f"python -m bench.study_run --samples-per-cell {samples_per_cell} --workers N --out DIR "
        "(RISKENGINE_DATA_DIR=fresh dir: 1st run cold, then warm)",
    }
