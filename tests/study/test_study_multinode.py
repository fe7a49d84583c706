"""A study on a two-node local Ray cluster (head and worker node as separate raylet processes),
joined through RAY_ADDRESS the way a deployment would."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from study_helpers import make_spec

from riskengine.study import InProcessExecutor, RayExecutor, open_cube, run_study
from riskengine.study.settings import get_settings
from riskengine.study.synthetic import BernoulliKernel

# ray.init forks its raylet after JAX ran in this test process (fork+exec of a subprocess: harmless).
_FORK = pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
pytestmark = [_FORK]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    os.environ["RISKENGINE_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    yield c
    ray.shutdown()
    c.shutdown()
    os.environ.pop("RISKENGINE_DATA_DIR", None)


def test_study_spreads_over_two_nodes(cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    get_settings.cache_clear()
    try:
        spec = make_spec()
        executor = RayExecutor(scheduling_strategy="SPREAD")
        res = run_study(
            spec,
            tmp_path / "cube.zarr",
            kernel=BernoulliKernel(delay_s=0.05),
            executor=executor,
            chunk_size=60,
        )
    finally:
        get_settings.cache_clear()
    assert not ray.is_initialized()  # the executor joined the cluster and left it
    assert len(res.nodes) == 2, res.nodes
    assert res.chunks_run == res.chunks_total
    run_study(spec, tmp_path / "ref.zarr", kernel=BernoulliKernel(), executor=InProcessExecutor())
    a, b = open_cube(tmp_path / "cube.zarr"), open_cube(tmp_path / "ref.zarr")
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=str(name))


def test_a_dead_node_is_retried_and_the_cube_is_exact(cluster: Any, tmp_path: Path) -> None:
    """The second node's raylet and workers are killed mid-study; its chunks are retried on the head."""
    spec = make_spec()
    head_id = cluster.head_node.node_id
    [other] = [n for n in cluster.list_all_nodes() if n.node_id != head_id]
    killed: list[str] = []

    def kill_second_node(p: Any) -> None:
        if p.chunks_done >= 3 and not killed:
            killed.append(other.node_id)
            cluster.remove_node(other)

    executor = RayExecutor(address=cluster.address, scheduling_strategy="SPREAD")
    res = run_study(
        spec,
        tmp_path / "cube.zarr",
        kernel=BernoulliKernel(delay_s=0.2),
        executor=executor,
        chunk_size=60,
        progress=kill_second_node,
    )
    assert killed and res.chunks_run == res.chunks_total
    run_study(spec, tmp_path / "ref.zarr", kernel=BernoulliKernel(), executor=InProcessExecutor())
    a, b = open_cube(tmp_path / "cube.zarr"), open_cube(tmp_path / "ref.zarr")
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=str(name))
    assert (a["count"].sum("outcome") == spec.samples_per_cell).all()
