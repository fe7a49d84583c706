"""Once-per-process setup of a Ray worker, before its first JAX computation.

* CPU affinity: XLA sizes its CPU thread pool from the process's CPU affinity, so a worker left with
  the whole machine spawns a pool per core and N workers oversubscribe N cores. Each worker claims one
  CPU slot of its node with an exclusive ``flock`` on ``<tmp>/riskengine-cpu-slots/<uid>/<i>.lock``
  (released by the kernel when the worker dies) and pins itself to that CPU. A worker finding every
  slot taken (more workers than CPUs) pins to ``pid mod ncpu``.
* JAX persistent compilation cache under the data dir, so a fresh worker reuses compiled programs;
  a reused worker keeps its in-memory jit cache anyway.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

_state: dict[str, object] = {}


def _claim_cpu(cpus: list[int]) -> int:
    slot_dir = Path(tempfile.gettempdir()) / "riskengine-cpu-slots" / str(os.getuid())
    slot_dir.mkdir(parents=True, exist_ok=True)
    for i, cpu in enumerate(cpus):
        fh: IO[bytes] = open(slot_dir / f"{cpu}.lock", "wb")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            continue
        _state["slot_file"] = fh
        return cpus[i]
    return cpus[os.getpid() % len(cpus)]


def configure_worker(pin_cpu: bool = True) -> None:
    """Idempotent; call at the start of every task."""
    if _state.get("done"):
        return
    if pin_cpu and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:
            cpu = _claim_cpu(cpus)
            os.sched_setaffinity(0, {cpu})
            _state["cpu"] = cpu
    import jax

    from riskengine.study.settings import get_settings

    cache = get_settings().jax_cache_dir
    try:
        cache.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    except OSError:  # read-only home: run without a persistent cache
        pass
    _state["done"] = True


def worker_info() -> dict[str, object]:
    """What :func:`configure_worker` did in this process (for tests and diagnostics)."""
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return {
        "configured": bool(_state.get("done")),
        "cpu": _state.get("cpu"),
        "pid": os.getpid(),
        "affinity": affinity,
    }
