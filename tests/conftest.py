"""Set-up for the whole suite.

One JAX persistent compilation cache for every process the suite starts: this pytest process, and the CLI
subprocesses, services and Ray workers, which inherit ``RISKENGINE_JAX_CACHE_DIR`` from its environment.
Each descent program is then compiled once per run of the suite instead of once per process (18-40 s
each on one core; loading a cached one takes well under a second). The directory is fresh for the
session and removed at its end, so no test loads a program another version of the code compiled.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_OWN_CACHE: str | None = None
if not os.environ.get("RISKENGINE_JAX_CACHE_DIR"):
    _OWN_CACHE = tempfile.mkdtemp(prefix="riskengine-test-jax-cache-")
    os.environ["RISKENGINE_JAX_CACHE_DIR"] = _OWN_CACHE


def pytest_configure(config: pytest.Config) -> None:
    from riskengine.study.worker_setup import enable_compilation_cache

    enable_compilation_cache()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
