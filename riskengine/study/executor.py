"""Executors: where chunk tasks run. One seam, two implementations.

``InProcessExecutor`` runs each task at submission, in this process (unit tests, debugging).
``RayExecutor`` fans tasks out over Ray: an embedded local instance sized to the machine by default,
or the cluster named by ``address`` / ``RAY_ADDRESS``. Each task asks for one CPU; a worker dying
(or its node) is retried by Ray (``max_retries``); an exception raised by the task is not retried
and surfaces as :class:`TaskFailed`.

Executors are context managers: enter before the driver runs any JAX computation (Ray forks workers).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class TaskFailed(Exception):
    """A task failed for good; ``str()`` is the task's error."""


class Executor(Protocol):
    @property
    def slots(self) -> int:
        """How many tasks to keep in flight."""
        ...

    def __enter__(self) -> Executor: ...
    def __exit__(self, *exc: object) -> None: ...
    def put(self, obj: Any) -> Any:
        """Share a large argument between tasks (passed to ``submit`` in its place)."""
        ...

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Start ``fn(*args)``; returns a handle."""
        ...

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[Any]:
        """Handles among ``handles`` that have finished (at least one unless the timeout passed)."""
        ...

    def result(self, handle: Any) -> Any:
        """The finished task's value; raises :class:`TaskFailed` if it failed for good."""
        ...

    def cancel(self, handles: Sequence[Any]) -> None: ...


class _Done:
    __slots__ = ("error", "value")

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error


class InProcessExecutor:
    """Runs each task synchronously at ``submit``."""

    slots = 1

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def put(self, obj: Any) -> Any:
        return obj

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Done:
        try:
            return _Done(fn(*args))
        except Exception as exc:
            return _Done(error=exc)

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[Any]:
        return list(handles)

    def result(self, handle: _Done) -> Any:
        if handle.error is not None:
            raise TaskFailed(f"{type(handle.error).__name__}: {handle.error}") from handle.error
        return handle.value

    def cancel(self, handles: Sequence[Any]) -> None:
        return None


def machine_cpus() -> int:
    """CPUs this process may use (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _in_worker(fn: Callable[..., T], *args: Any) -> T:
    from riskengine.study.worker_setup import configure_worker

    configure_worker()
    return fn(*args)


class RayExecutor:
    """Ray tasks, one CPU each.

    ``address``: join that cluster (default: ``RAY_ADDRESS`` from the settings, else start a local
    instance with ``workers`` CPUs, default all of the machine's). ``workers`` also caps the tasks in
    flight on a joined cluster. ``max_retries``: retries of a task whose worker or node died.
    ``scheduling_strategy``: Ray's (``"DEFAULT"`` or ``"SPREAD"``).
    If Ray is already initialised in this process, that instance is used and left running.
    """

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        *,
        max_retries: int = 3,
        scheduling_strategy: str = "DEFAULT",
    ) -> None:
        self.address = address
        self.workers = workers
        self.max_retries = max_retries
        self.scheduling_strategy = scheduling_strategy
        self._owned = False
        self._slots = 1
        self._remote: Any = None

    @property
    def slots(self) -> int:
        return self._slots

    def __enter__(self) -> RayExecutor:
        import ray

        from riskengine.study.settings import get_settings

        if not ray.is_initialized():
            address = self.address or get_settings().ray_address
            with warnings.catch_warnings():
                # ray.init fork-execs its daemons; JAX warns about any fork once its backend exists
                # (importing the core creates arrays), but an exec'd child never runs JAX code.
                warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
                if address:
                    ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
                else:
                    ray.init(
                        # "local": always a new embedded instance, never a cluster some `ray start` left running.
                        address="local",
                        num_cpus=self.workers or machine_cpus(),
                        include_dashboard=False,
                        logging_level=logging.WARNING,
                        log_to_driver=False,
                    )
            self._owned = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # Two tasks per CPU keep workers busy while the driver stores results.
        self._slots = 2 * max(1, min(cpus, self.workers or cpus))
        self._remote = ray.remote(_in_worker).options(
            num_cpus=1,
            max_retries=self.max_retries,
            retry_exceptions=False,
            scheduling_strategy=self.scheduling_strategy,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            import ray

            ray.shutdown()
            self._owned = False

    def put(self, obj: Any) -> Any:
        import ray

        return ray.put(obj)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._remote.remote(fn, *args)

    def wait(self, handles: Sequence[Any], timeout: float | None = None) -> list[Any]:
        import ray

        done, _ = ray.wait(list(handles), num_returns=1, timeout=timeout)
        rest = [h for h in handles if h not in done]
        if done and rest:  # collect everything else already finished too
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            done += more
        return done

    def result(self, handle: Any) -> Any:
        import ray
        from ray import exceptions as rex

        try:
            return ray.get(handle)
        except rex.RayTaskError as exc:  # raised by the task itself: not retried
            cause = exc.cause if exc.cause is not None else exc
            raise TaskFailed(f"{type(cause).__name__}: {cause}") from exc
        except rex.RayError as exc:  # worker/node died more often than max_retries, or similar
            raise TaskFailed(f"{type(exc).__name__}: {exc}") from exc

    def cancel(self, handles: Sequence[Any]) -> None:
        import ray

        for h in handles:
            ray.cancel(h, force=True)
