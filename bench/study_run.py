"""One study run in a fresh process, reported as JSON: ``python -m bench.study_run --samples-per-cell K
[--workers N | --in-process] [--spec NAME] [--kernel bernoulli] [--chunk-size C] --out DIR``.

A fresh process per measurement: peak RSS (``ru_maxrss``) covers exactly one study, Ray starts before
any JAX runs in the driver, and the persistent compilation cache is read from ``RISKENGINE_DATA_DIR``.
Prints ``{"wall_s", "first_chunk_s", "samples", "peak_rss_mb", "workers_peak_rss_mb", ...}``; ``wall_s`` and
``first_chunk_s`` count from the scheduler's start (Ray already up), as ``StudyRun.wall_s`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import threading
import time
from typing import Any

from riskengine.study import InProcessExecutor, RayExecutor, StudyProgress, load_study_spec, run_study
from riskengine.study.synthetic import BernoulliKernel

# The closed-form kernel's own study (its parameters are not the descent's): the smoke study's grid.
BERNOULLI_SPEC: dict[str, Any] = {
    "name": "bernoulli-memory",
    "sites": ["atlas_crater", "mare_frigoris"],
    "grid": {"sensor_latency_s": [0.0, 30.0, 60.0], "fuel_margin_pct": [0.0, 10.0, 20.0]},
    "samples_per_cell": 1,
}


def _ray_workers_rss_mb() -> float:
    """Summed RSS (MB) of the Ray workers this driver's local instance started: they descend from its
    raylet, itself a child of this process (other sessions' Ray workers on the machine are not counted)."""
    import psutil

    total = 0
    for proc in psutil.Process().children(recursive=True):
        try:
            if "default_worker.py" in " ".join(proc.cmdline()) or proc.name().startswith("ray::"):
                total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def run(
    samples_per_cell: int,
    out: str,
    workers: int | None,
    in_process: bool,
    spec_name: str = "smoke",
    kernel_name: str = "descent",
    chunk_size: int | None = None,
) -> dict[str, Any]:
    if kernel_name == "bernoulli":
        from riskengine.study import StudySpec

        spec = StudySpec.model_validate({**BERNOULLI_SPEC, "samples_per_cell": samples_per_cell})
    else:
        base = load_study_spec(spec_name)
        spec = type(base).model_validate(
            {**base.model_dump(mode="json"), "samples_per_cell": samples_per_cell}
        )
    first: list[float] = []
    t_call = time.monotonic()

    def progress(p: StudyProgress) -> None:
        # p.elapsed_s counts from the scheduler's start (Ray up, first chunks about to be submitted).
        if not first and p.chunks_done > p.chunks_resumed:
            first.extend([p.elapsed_s, time.monotonic() - t_call])

    peak_workers = [0.0]
    stop = threading.Event()

    def sample() -> None:  # Ray workers are not our children: sample their RSS while the study runs
        while not stop.wait(0.5):
            peak_workers[0] = max(peak_workers[0], _ray_workers_rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    executor = InProcessExecutor() if in_process else RayExecutor(workers=workers)
    if not in_process:
        sampler.start()
    kernel: dict[str, Any] = {"kernel": BernoulliKernel()} if kernel_name == "bernoulli" else {}
    result = run_study(
        spec, out, executor=executor, progress=progress, overwrite=True, chunk_size=chunk_size, **kernel
    )
    stop.set()
    return {
        "spec": spec.name,
        "kernel": kernel_name,
        "samples": result.samples_run,
        "chunks": result.chunks_total,
        "wall_s": result.wall_s,
        "first_chunk_s": first[0] if first else None,  # from submitting the first chunks
        "first_chunk_from_call_s": first[1] if first else None,  # from calling run_study (Ray start incl.)
        "trajectories_per_s": result.trajectories_per_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "workers_peak_rss_mb": None if in_process else peak_workers[0],
        "workers": 1 if in_process else workers,
        "worker_pids": list(result.worker_pids),
        "jax_cache_dir": os.environ.get("RISKENGINE_DATA_DIR"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.study_run")
    parser.add_argument("--samples-per-cell", type=int, required=True)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--spec", default="smoke", help="study preset (descent kernel)")
    parser.add_argument("--kernel", choices=("descent", "bernoulli"), default="descent")
    parser.add_argument("--chunk-size", type=int)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    figures = run(
        args.samples_per_cell,
        args.out,
        args.workers,
        args.in_process,
        args.spec,
        args.kernel,
        args.chunk_size,
    )
    figures["process_s"] = time.monotonic() - t0
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
