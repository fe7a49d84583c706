"""The study engine on a real local Ray: same cube as in process, worker deaths retried, failures surfaced."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from study_helpers import make_spec

from riskengine.errors import StudyError
from riskengine.study import InProcessExecutor, RayExecutor, StudyProgress, StudySpec, open_cube, run_study
from riskengine.study.synthetic import BernoulliKernel
from riskengine.study.worker_setup import worker_info

# ray.init forks its raylet after JAX ran in this test process (fork+exec of a subprocess: harmless).
_FORK = pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
pytestmark = [pytest.mark.usefixtures("ray_local"), _FORK]
SpecFactory = Callable[..., StudySpec]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("ref") / "ref.zarr"
    run_study(make_spec(), out, kernel=BernoulliKernel(), executor=InProcessExecutor())
    yield out


def assert_same_cube(a: Path, b: Path) -> None:
    da, db = open_cube(a), open_cube(b)
    assert set(da.data_vars) == set(db.data_vars)
    for name in da.data_vars:
        np.testing.assert_array_equal(da[name].values, db[name].values, err_msg=str(name))


def test_ray_gives_the_in_process_cube(tmp_path: Path, spec_factory: SpecFactory, reference: Path) -> None:
    progress: list[StudyProgress] = []
    res = run_study(
        spec_factory(),
        tmp_path / "ray.zarr",
        kernel=BernoulliKernel(),
        executor=RayExecutor(),
        chunk_size=60,
        progress=progress.append,
    )
    assert res.chunks_run == res.chunks_total == 24
    assert all(pid > 0 for pid in res.worker_pids) and res.nodes and "local" not in res.nodes
    assert progress[-1].chunks_done == 24 and progress[-1].eta_s == 0.0
    assert [p.chunks_done for p in progress] == sorted(p.chunks_done for p in progress)
    assert_same_cube(reference, tmp_path / "ray.zarr")


def test_workers_pin_every_thread_to_one_cpu(tmp_path: Path, spec_factory: SpecFactory) -> None:
    # Run some JAX first so XLA's thread pool exists in the workers, then look at every thread.
    run_study(
        spec_factory(), tmp_path / "c.zarr", kernel=BernoulliKernel(), executor=RayExecutor(), chunk_size=1000
    )
    with RayExecutor() as ex:
        infos = [ex.result(h) for h in [ex.submit(worker_info) for _ in range(4)]]
    for info in infos:
        assert info["configured"], info
        threads = info["threads"]
        assert isinstance(threads, dict) and len(threads) > 1
        assert all(cpus == [info["cpu"]] for cpus in threads.values()), info


def test_a_killed_worker_is_retried_and_the_cube_is_exact(
    tmp_path: Path, spec_factory: SpecFactory, reference: Path
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    kernel = BernoulliKernel(crash_cells=(7,), crash_marker_dir=str(markers))
    res = run_study(
        spec_factory(), tmp_path / "cube.zarr", kernel=kernel, executor=RayExecutor(), chunk_size=120
    )
    assert [p.name for p in markers.iterdir()] == ["crashed-cell-7"]  # it did die
    assert res.chunks_run == 12
    assert_same_cube(reference, tmp_path / "cube.zarr")


def test_a_chunk_raising_fails_the_study_with_its_error(tmp_path: Path, spec_factory: SpecFactory) -> None:
    kernel = BernoulliKernel(fail_cells=(4,))
    with pytest.raises(StudyError, match=r"chunk 4 .*FloatingPointError: injected failure in cell 4"):
        run_study(
            spec_factory(), tmp_path / "cube.zarr", kernel=kernel, executor=RayExecutor(), chunk_size=120
        )
    assert open_cube(tmp_path / "cube.zarr").attrs["status"] == "failed"


def test_interrupted_ray_study_resumes(tmp_path: Path, spec_factory: SpecFactory, reference: Path) -> None:
    out = tmp_path / "cube.zarr"

    def interrupt(p: StudyProgress) -> None:
        if p.chunks_done >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(
            spec_factory(),
            out,
            kernel=BernoulliKernel(),
            executor=RayExecutor(),
            chunk_size=60,
            progress=interrupt,
        )
    res = run_study(spec_factory(), out, kernel=BernoulliKernel(), executor=RayExecutor())
    assert res.chunks_resumed >= 4 and res.chunks_resumed + res.chunks_run == 24
    assert_same_cube(reference, out)
