"""The service's handles on the study engine: which kernel, which executor, and the embedded Ray.

Ray is started once per service (in the lifespan), before anything in this process runs JAX, and every
study's ``RayExecutor`` then reuses it. ``ray.init`` replaces the process's SIGTERM handler (and may touch
SIGINT); under uvicorn that would stop a graceful shutdown, so the handlers are put back afterwards.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from api.settings import Settings
from riskengine.study import Executor, InProcessExecutor, Kernel, RayExecutor
from riskengine.study.executor import machine_cpus

log = logging.getLogger(__name__)


def make_kernel(settings: Settings) -> Kernel:
    if settings.kernel == "bernoulli":
        from riskengine.study.synthetic import BernoulliKernel

        return BernoulliKernel()
    from riskengine.study.runner import default_kernel

    return default_kernel()


def make_executor(settings: Settings) -> Executor:
    if settings.executor == "local":
        return InProcessExecutor()
    return RayExecutor(address=settings.ray_address, workers=settings.workers)


def start_ray(settings: Settings) -> bool:
    """Start (or join) Ray if the settings use it; returns whether this call initialised it."""
    if settings.executor != "ray":
        return False
    import ray

    if ray.is_initialized():
        return False
    # Workers inherit the environment: give them the service's data dir (their JAX compilation cache).
    os.environ.setdefault("RISKENGINE_DATA_DIR", str(settings.data_dir))
    # On a busy machine the raylet gives up waiting for its agents (and aborts) before they are up.
    os.environ.setdefault("RAY_agent_register_timeout_ms", "120000")
    main = threading.current_thread() is threading.main_thread()
    saved: dict[int, Any] = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)} if main else {}
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if settings.ray_address:
        kwargs["address"] = settings.ray_address
    else:
        # "local": a new embedded instance, never a cluster some `ray start` left on this machine.
        kwargs |= {
            "address": "local",
            "num_cpus": settings.workers or machine_cpus(),
            "include_dashboard": False,
        }
    for attempt in (1, 2):  # a busy machine can time out a local node's start; once more then
        try:
            ray.init(**kwargs)
            break
        except Exception as exc:
            if attempt == 2:
                raise
            log.warning("ray.init failed (%s); retrying once", exc)
            ray.shutdown()
    for sig, handler in saved.items():
        if handler is not None:
            signal.signal(sig, handler)
    log.info("ray ready: %s", ray.cluster_resources())
    return True


def stop_ray() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


def ray_status(settings: Settings) -> str:
    """'ok', 'not used', or why Ray is not reachable."""
    if settings.executor != "ray":
        return "not used"
    import ray

    if not ray.is_initialized():
        return "not initialised"
    try:
        cpus = ray.cluster_resources().get("CPU", 0)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}: {exc}"
    return "ok" if cpus > 0 else "no CPUs in the cluster"
