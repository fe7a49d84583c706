"""Once-per-process setup of a Ray worker, at the start of its first task.

* CPU affinity: XLA sizes its CPU thread pool from the process's CPU affinity, so a worker left with
  the whole machine runs a pool thread per core and N workers oversubscribe N cores. Each worker claims
  one CPU slot of its machine with an exclusive ``flock`` on ``<tmp>/riskengine-cpu-slots/<uid>/<cpu>.lock``
  (released by the kernel when the worker dies) and pins *every* thread of the process to that CPU:
  importing the engine may already have created XLA's pool (module-level arrays), and Linux affinity
  is per thread. Threads created later inherit it. A worker finding every slot taken (more workers
  than CPUs) pins to ``pid mod ncpu``.
* JAX persistent compilation cache (``enable_compilation_cache``, the directory from
  :mod:`riskengine.study.settings`), so a fresh worker loads compiled programs instead of compiling; a
  reused worker keeps its jit cache anyway. The CLI's engine commands use the same cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

_state: dict[str, object] = {}


def _claim_cpu(cpus: list[int]) -> int:
    slot_dir = Path(tempfile.gettempdir()) / "riskengine-cpu-slots" / str(os.getuid())
    slot_dir.mkdir(parents=True, exist_ok=True)
    for cpu in cpus:
        fh: IO[bytes] = open(slot_dir / f"{cpu}.lock", "wb")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            continue
        _state["slot_file"] = fh
        return cpu
    return cpus[os.getpid() % len(cpus)]


def _thread_ids() -> list[int]:
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return [0]  # no /proc: the calling thread only


def _pin_all_threads(cpu: int) -> None:
    for tid in _thread_ids():
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            os.sched_setaffinity(tid, {cpu})


def configure_worker(pin_cpu: bool = True) -> None:
    """Idempotent; called at the start of every task run by the Ray executor."""
    if _state.get("done"):
        return
    if pin_cpu and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:
            cpu = _claim_cpu(cpus)
            _pin_all_threads(cpu)
            _state["cpu"] = cpu
    enable_compilation_cache()
    _state["done"] = True


def enable_compilation_cache() -> None:
    """Point JAX's persistent compilation cache at the settings' directory (every program, however fast
    it compiled: the descent programs take 18-40 s on one core, and a cached one loads in well under a
    second). Without a writable directory the process runs with its in-memory jit cache only."""
    import jax

    from riskengine.study.settings import get_settings

    cache = get_settings().jax_cache_dir
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home: run without a persistent cache
        return
    jax.config.update("jax_compilation_cache_dir", str(cache))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def worker_info() -> dict[str, object]:
    """What :func:`configure_worker` did in this process, and every thread's CPU set (for tests)."""
    threads: dict[int, list[int]] = {}
    if hasattr(os, "sched_getaffinity"):
        for tid in _thread_ids():
            with contextlib.suppress(OSError):
                threads[tid] = sorted(os.sched_getaffinity(tid))
    return {
        "configured": bool(_state.get("done")),
        "cpu": _state.get("cpu"),
        "pid": os.getpid(),
        "threads": threads,
    }
