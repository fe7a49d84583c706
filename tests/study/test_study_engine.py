"""The study engine in process: determinism across chunkings, resume, failures, the cube on disk."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
import zarr

from riskengine.errors import StudyError
from riskengine.study import InProcessExecutor, StudyProgress, StudySpec, open_cube, run_study
from riskengine.study.kernel import CellRef, SampleBatch
from riskengine.study.synthetic import BernoulliKernel

SpecFactory = Callable[..., StudySpec]


def run(spec: StudySpec, out: Any, **kw: Any) -> Any:
    kw.setdefault("kernel", BernoulliKernel())
    return run_study(spec, out, executor=InProcessExecutor(), **kw)


def cube_data(path: Any) -> dict[str, np.ndarray]:
    ds = open_cube(path)
    return {str(k): np.asarray(v.values) for k, v in ds.data_vars.items()}


def assert_same_cube(a: Any, b: Any) -> None:
    da, db = cube_data(a), cube_data(b)
    assert da.keys() == db.keys()
    for name in da:
        np.testing.assert_array_equal(da[name], db[name], err_msg=name)


def test_chunking_does_not_change_the_cube(tmp_path: Path, spec_factory: SpecFactory) -> None:
    spec = spec_factory()
    runs = {size: run(spec, tmp_path / f"c{size}.zarr", chunk_size=size) for size in (1000, 120, 50, 25)}
    assert [r.chunks_total for r in runs.values()] == [2, 12, 36, 60]
    for size in (120, 50, 25):
        assert_same_cube(tmp_path / "c1000.zarr", tmp_path / f"c{size}.zarr")
    ds = open_cube(tmp_path / "c50.zarr")
    assert (ds["n"] == spec.samples_per_cell).all()
    assert (ds["count"].sum("outcome") == ds["n"]).all()


def test_early_stopping_is_chunk_invariant_and_records_n(tmp_path: Path, spec_factory: SpecFactory) -> None:
    spec = spec_factory(samples_per_cell=400, early_stopping={"target_width": 0.09, "check_every": 40})
    a = run(spec, tmp_path / "a.zarr", chunk_size=1000)
    b = run(spec, tmp_path / "b.zarr", chunk_size=30)  # rounded up to pieces of 40 samples
    assert_same_cube(tmp_path / "a.zarr", tmp_path / "b.zarr")
    ds = open_cube(tmp_path / "a.zarr")
    n, stopped = ds["n"].values, ds["stopped_early"].values
    assert stopped.any() and not stopped.all()
    assert (n[stopped] < 400).all() and (n[stopped] % 40 == 0).all() and (n[~stopped] == 400).all()
    width = (ds["p_success_hi"] - ds["p_success_lo"]).values
    assert (width[stopped] < 0.09).all()
    assert (ds["count"].sum("outcome").values == n).all()
    assert a.samples_run == b.samples_run == n.sum()


def test_resume_after_interruption(tmp_path: Path, spec_factory: SpecFactory) -> None:
    spec = spec_factory()
    reference = tmp_path / "ref.zarr"
    run(spec, reference, chunk_size=40)
    out = tmp_path / "cube.zarr"

    class Stop(Exception):
        pass

    def stop_after_5(p: StudyProgress) -> None:
        if p.chunks_done >= 5:
            raise Stop

    with pytest.raises(Stop):
        run(spec, out, chunk_size=40, progress=stop_after_5)
    assert open_cube(out).attrs["status"] == "interrupted"
    seen: list[StudyProgress] = []
    second = run(spec, out, progress=seen.append)  # chunk size comes from the store
    assert second.chunks_resumed == 5
    assert second.chunks_run == second.chunks_total - 5
    assert seen[0].chunks_done == 5 and seen[-1].chunks_done == seen[-1].chunks_total
    assert seen[-1].samples_done == seen[-1].samples_total == spec.n_cells * spec.samples_per_cell
    assert_same_cube(reference, out)
    ds = open_cube(out)
    assert ds.attrs["status"] == "complete" and ds.attrs["runs"] == 2
    assert [set(r) for r in ds.attrs["run_history"]] == [
        {"started_at", "git_revision", "riskengine_version"}
    ] * 2
    assert (ds["count"].sum("outcome") == spec.samples_per_cell).all()  # nothing counted twice
    # A finished study is not run again.
    third = run(spec, out)
    assert third.chunks_run == 0


def test_piece_stored_but_not_marked_done_is_recomputed_not_double_counted(
    tmp_path: Path, spec_factory: SpecFactory
) -> None:
    spec = spec_factory()
    out = tmp_path / "cube.zarr"
    run(spec, out, chunk_size=60)
    before = cube_data(out)
    # Simulate a driver dying after writing aggregates and cube regions but before the done flags.
    root = zarr.open_group(str(out), mode="r+")
    root["_ledger/done"][0:3, :] = False
    root.attrs["status"] = "interrupted"
    again = run(spec, out)
    assert again.chunks_run == 6  # three cells x two pieces
    after = cube_data(out)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)


def test_resume_refuses_another_study_or_layout(tmp_path: Path, spec_factory: SpecFactory) -> None:
    out = tmp_path / "cube.zarr"
    run(spec_factory(), out, chunk_size=60)
    with pytest.raises(StudyError, match="different study"):
        run(spec_factory(seed=8), out)
    root = zarr.open_group(str(out), mode="r+")
    root.attrs["status"] = "interrupted"
    with pytest.raises(StudyError, match="chunk_size=60"):
        run(spec_factory(), out, chunk_size=30)
    run(spec_factory(seed=8), out, overwrite=True)
    assert open_cube(out).attrs["seed"] == 8


@dataclasses.dataclass(frozen=True)
class BrokenKernel(BernoulliKernel):
    bad_cell: int = 3

    def simulate(
        self, spec: StudySpec, cell: CellRef, cell_key: Any, sample_index: np.ndarray
    ) -> SampleBatch:
        if cell.index == self.bad_cell:
            raise FloatingPointError("guidance diverged in cell 3")
        return super().simulate(spec, cell, cell_key, sample_index)


def test_a_failing_chunk_fails_the_study_with_its_error(tmp_path: Path, spec_factory: SpecFactory) -> None:
    spec = spec_factory()
    out = tmp_path / "cube.zarr"
    with pytest.raises(StudyError) as err:
        run(spec, out, chunk_size=120, kernel=BrokenKernel())
    msg = str(err.value)
    assert "chunk 3" in msg and "FloatingPointError: guidance diverged in cell 3" in msg
    assert "site atlas_crater" in msg
    ds = open_cube(out)
    assert ds.attrs["status"] == "failed" and "guidance diverged" in ds.attrs["error"]
    # The chunks that finished are kept; a fixed engine resumes from them.
    fixed = run(spec, out)
    assert fixed.chunks_resumed == 3 and fixed.chunks_run == 9


def test_plain_xarray_reads_the_cube_without_project_code(tmp_path: Path, spec_factory: SpecFactory) -> None:
    spec = spec_factory(
        grid={
            "sensor_latency_s": [0.0, 20.0],
            "fuel_margin_pct": [0.0, 10.0],
            "synthetic.logit_shift": [0.0, 1.0],
        }
    )
    out = tmp_path / "cube.zarr"
    run(spec, out)
    script = (
        "import json, sys, warnings; warnings.simplefilter('error'); import xarray as xr;"
        f"ds = xr.open_zarr({str(out)!r});"
        "print(json.dumps({'dims': dict(ds.sizes), 'vars': sorted(ds.data_vars), 'attrs': ds.attrs,"
        " 'units': {k: ds[k].attrs.get('units') for k in ds.coords}, 'site': [str(s) for s in ds.site.values],"
        " 'site_dtype': str(ds.site.dtype), 'p': float(ds.p_success.sum()),"
        " 'riskengine_loaded': any(m.startswith('riskengine') for m in sys.modules)}, default=str))"
    )
    proc = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, check=True)
    got = json.loads(proc.stdout)
    assert got["dims"] == {
        "site": 2,
        "sensor_latency_s": 2,
        "fuel_margin_pct": 2,
        "synthetic.logit_shift": 2,
        "outcome": 6,
        "quantile": 3,
        "touchdown_x_m": 100,
        "touchdown_y_m": 100,
        "ellipse_level": 3,
    }
    assert not got["riskengine_loaded"]
    assert proc.stderr == ""
    for var in (
        "p_success", "p_success_lo", "p_success_hi", "count", "n",
        "touchdown_vertical_speed_quantile", "touchdown_horizontal_speed_quantile",
        "propellant_remaining_quantile", "miss_distance_quantile", "nominal_propellant_need_kg",
    ):  # fmt: skip
        assert var in got["vars"]
    assert got["units"]["sensor_latency_s"] == "s" and got["units"]["fuel_margin_pct"] == "percent"
    assert got["units"]["quantile"] == "1"
    assert got["site"] == ["atlas_crater", "mare_frigoris"] and "U" not in got["site_dtype"]
    attrs = got["attrs"]
    assert attrs["interval_method"] == "wilson" and attrs["Conventions"].startswith("CF")
    assert json.loads(attrs["spec_json"])["seed"] == spec.seed and attrs["spec_sha256"] == spec.sha256()
    for key in (
        "riskengine_version",
        "jax_version",
        "ray_version",
        "zarr_version",
        "git_revision",
        "started_at",
        "finished_at",
    ):
        assert key in attrs
    ds = xr.open_zarr(out)
    assert ds["p_success_lo"].attrs["interval_method"] == "wilson"
    np.testing.assert_allclose(ds["p_success"], ds["count"].sel(outcome="landed") / ds["n"])
    need = ds["nominal_propellant_need_kg"]
    np.testing.assert_allclose(ds["propellant_loaded_kg"], need * (1 + ds["fuel_margin_pct"] / 100))


def test_memory_store_and_retained_samples(spec_factory: SpecFactory) -> None:
    spec = spec_factory(retain_samples=10)
    a, b = zarr.storage.MemoryStore(), zarr.storage.MemoryStore()
    run(spec, a, chunk_size=1000)
    run(spec, b, chunk_size=7)  # retained samples span pieces
    ca, cb = open_cube(a), open_cube(b)
    assert ca.sizes["sample"] == 10
    for name in ca.data_vars:
        np.testing.assert_array_equal(ca[name].values, cb[name].values, err_msg=str(name))
    assert (ca["sample_outcome"] >= 0).all()


@pytest.mark.slow
def test_interval_coverage_on_a_known_model(tmp_path: Path, spec_factory: SpecFactory) -> None:
    """95 % Wilson intervals cover the true p in about 95 % of 480 cells of 200 samples each."""
    kernel = BernoulliKernel()
    spec = spec_factory(
        grid={
            "sensor_latency_s": [0.0, 15.0, 30.0, 45.0],
            "fuel_margin_pct": [0.0, 5.0, 10.0],
            "synthetic.logit_shift": [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5],
        },
        samples_per_cell=200,
        dispersions={},
        seed=2024,
    )
    out = tmp_path / "cov.zarr"
    run(spec, out, kernel=kernel, chunk_size=2000)
    ds = open_cube(out)
    true_p = np.empty(ds["p_success"].shape)
    for idx in np.ndindex(*true_p.shape):
        site = str(ds.site.values[idx[0]])
        a = {d: float(ds[d].values[i]) for d, i in zip(ds["p_success"].dims[1:], idx[1:], strict=True)}
        true_p[idx] = kernel.true_p(site, a)
    covered = (ds["p_success_lo"].values <= true_p) & (true_p <= ds["p_success_hi"].values)
    coverage = covered.mean()
    # Binomial(480, 0.95) has sd 1 %: [0.91, 0.99] is a +-4 sd band.
    assert 0.91 <= coverage <= 0.99, coverage
    # The estimator is unbiased: mean error over cells is small.
    assert abs((ds["p_success"].values - true_p).mean()) < 0.01


def test_cancel_hook_stops_and_the_study_resumes(tmp_path: Path, spec_factory: SpecFactory) -> None:
    from riskengine.study.runner import StudyCancelled

    spec = spec_factory()
    out = tmp_path / "cube.zarr"
    polls: list[int] = []

    def cancel() -> bool:
        polls.append(1)
        return len(polls) >= 3

    with pytest.raises(StudyCancelled):
        run(spec, out, chunk_size=120, cancel=cancel)
    assert open_cube(out).attrs["status"] == "cancelled"
    res = run(spec, out)
    assert res.chunks_resumed == 3 and res.chunks_run == 9
    assert (open_cube(out)["n"] == spec.samples_per_cell).all()


def test_fsspec_url_location(tmp_path: Path, spec_factory: SpecFactory) -> None:
    url = f"memory://riskengine-tests/{tmp_path.name}/cube.zarr"  # any fsspec URL: s3://, gs://, ...
    res = run(spec_factory(), url, chunk_size=1000)
    assert res.location == url
    ds = xr.open_zarr(url)
    assert (ds["n"] == 120).all()
