"""The study engine on the real descent kernel: spec checks against the engine's registry, a tiny study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from riskengine.errors import ConfigError
from riskengine.study import (
    InProcessExecutor,
    check_spec,
    load_study_spec,
    open_cube,
    parse_study_spec,
    run_study,
)
from riskengine.study.descent import DescentKernel

BASE: dict[str, Any] = {
    "sites": ["mare_frigoris"],
    "grid": {"sensor_latency_s": [0.0], "fuel_margin_pct": [0.0, 20.0]},
    "samples_per_cell": 6,
}


@pytest.mark.parametrize(
    ("over", "field", "needle"),
    [
        ({"sites": ["mare_frigoris", "atlantis"]}, "sites.1", "unknown site 'atlantis'"),
        (
            {"grid": {**BASE["grid"], "navigation.gate_sigm": [3.0]}},
            "grid.navigation.gate_sigm",
            "navigation.gate_sigma",
        ),
        (
            {"dispersions": {"imu.bias": {"kind": "fixed", "value": 0.0}}},
            "dispersions.imu.bias",
            "unknown parameter",
        ),
        (
            {"grid": {"sensor_latency_s": [-5.0], "fuel_margin_pct": [0.0]}},
            "grid.sensor_latency_s",
            "physical range",
        ),
        (
            {"dispersions": {"vehicle.isp_s": {"kind": "uniform", "low": 10.0, "high": 400.0}}},
            "dispersions.vehicle.isp_s",
            "physical range",
        ),
        (
            {"dispersions": {"imu.bias_x_mps2": {"kind": "normal", "mean": 0.0, "std": 0.5}}},
            "dispersions.imu.bias_x_mps2",
            "physical range",
        ),
        (
            {"grid": {**BASE["grid"], "altimeter.acquisition_delay_s": [1.0]}},
            "grid.altimeter.acquisition_delay_s",
            "same parameter as",
        ),
    ],
)
def test_engine_refuses_bad_specs(over: dict[str, Any], field: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_spec(parse_study_spec({**BASE, **over}), DescentKernel())
    assert err.value.field == field
    assert needle in str(err.value)


def test_shipped_presets_pass_the_engine_checks() -> None:
    for name in ("smoke", "atlas_vs_frigoris"):
        check_spec(load_study_spec(name), DescentKernel())


@pytest.mark.slow
def test_a_tiny_descent_study_is_chunk_invariant(tmp_path: Path) -> None:
    spec = load_study_spec("smoke").with_overrides(
        sites=["mare_frigoris"],
        grid={"sensor_latency_s": [0.0], "fuel_margin_pct": [0.0, 20.0]},
        samples_per_cell=6,
    )
    kernel = DescentKernel()
    run_study(spec, tmp_path / "a.zarr", kernel=kernel, executor=InProcessExecutor(), chunk_size=12)
    run_study(spec, tmp_path / "b.zarr", kernel=kernel, executor=InProcessExecutor(), chunk_size=4)
    a, b = open_cube(tmp_path / "a.zarr"), open_cube(tmp_path / "b.zarr")
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=str(name))
    assert (a["n"] == 6).all() and (a["count"].sum("outcome") == 6).all()
    located = a["landing_count"].sum(("touchdown_x_m", "touchdown_y_m")) + a["landing_outside_count"]
    np.testing.assert_array_equal((located + a["landing_no_contact_count"]).values, a["count"].values)
    need = a["nominal_propellant_need_kg"].values
    assert np.isfinite(need).all() and (need > 0).all()
    np.testing.assert_allclose(a["propellant_loaded_kg"].values[..., 1], need[..., 1] * 1.2)
    assert a.attrs["kernel"] == "descent"
