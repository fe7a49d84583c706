"""Fixtures for study-engine tests: the closed-form kernel, small specs, a shared local Ray."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from study_helpers import make_spec

from riskengine.study import StudySpec
from riskengine.study.synthetic import BernoulliKernel


@pytest.fixture
def kernel() -> BernoulliKernel:
    return BernoulliKernel()


@pytest.fixture
def spec_factory() -> Callable[..., StudySpec]:
    return make_spec


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A local 2-CPU Ray instance for one test module (startup takes a few seconds)."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    old = os.environ.get("RISKENGINE_DATA_DIR")
    os.environ["RISKENGINE_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))  # workers inherit it
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
    if old is None:
        os.environ.pop("RISKENGINE_DATA_DIR", None)
    else:
        os.environ["RISKENGINE_DATA_DIR"] = old
