"""Spec model and validation: bad specs are refused with errors naming field, value and what is allowed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from riskengine.errors import ConfigError, NotFoundError
from riskengine.study import StudySpec, check_spec, load_study_spec, parse_study_spec
from riskengine.study.synthetic import BernoulliKernel

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "studies"
BASE: dict[str, Any] = {
    "sites": ["atlas_crater"],
    "grid": {"sensor_latency_s": [0.0, 10.0], "fuel_margin_pct": [5.0]},
    "samples_per_cell": 10,
}


def spec(**over: Any) -> dict[str, Any]:
    return {**BASE, **over}


@pytest.mark.parametrize(
    ("data", "field", "needle"),
    [
        (spec(samples_per_cell=-5), "samples_per_cell", "greater than or equal to 1"),
        (spec(samples_per_cell=0), "samples_per_cell", "greater than or equal to 1"),
        (spec(grid={"sensor_latency_s": [], "fuel_margin_pct": [1.0]}), "grid", "empty"),
        (spec(grid={"sensor_latency_s": [1.0]}), "grid", "missing ['fuel_margin_pct']"),
        (spec(grid={"sensor_latency_s": [1.0, 1.0], "fuel_margin_pct": [1.0]}), "grid", "repeats"),
        (spec(sites=[]), "sites", "at least 1"),
        (spec(seed=-1), "seed", "greater than or equal to 0"),
        (spec(quantiles=[0.5, 1.0]), "quantiles", "strictly between 0 and 1"),
        (
            spec(dispersions={"x": {"kind": "normal", "mean": 0, "std": -1}}),
            "dispersions.x.normal.std",
            "greater than 0",
        ),
        (
            spec(dispersions={"x": {"kind": "uniform", "low": 2, "high": 1}}),
            "dispersions.x.uniform",
            "below high",
        ),
        (
            spec(dispersions={"x": {"kind": "gamma"}}),
            "dispersions.x",
            "does not match any of the expected tags",
        ),
        (
            spec(dispersions={"sensor_latency_s": {"kind": "fixed", "value": 1}}),
            "spec",
            "cannot also be dispersed",
        ),
        (spec(surprise=1), "surprise", "Extra inputs are not permitted"),
        (spec(early_stopping={"target_width": 0}), "early_stopping.target_width", "greater than 0"),
    ],
)
def test_malformed_specs_are_refused(data: dict[str, Any], field: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_study_spec(data)
    assert err.value.field == field
    assert needle in str(err.value)
    assert field in str(err.value)


@pytest.mark.parametrize(
    ("over", "field", "needle"),
    [
        ({"sites": ["atlas_crater", "atlantis"]}, "sites.1", "unknown site 'atlantis'"),
        (
            {"grid": {**BASE["grid"], "synthetic.logit_shfit": [0.0]}},
            "grid.synthetic.logit_shfit",
            "did you mean 'synthetic.logit_shift'",
        ),
        (
            {"dispersions": {"imu.bias": {"kind": "fixed", "value": 0}}},
            "dispersions.imu.bias",
            "unknown parameter",
        ),
        (
            {"grid": {"sensor_latency_s": [-1.0], "fuel_margin_pct": [0.0]}},
            "grid.sensor_latency_s",
            "outside the physical range",
        ),
        (
            {"grid": {"sensor_latency_s": [0.0], "fuel_margin_pct": [-150.0]}},
            "grid.fuel_margin_pct",
            "[-100.0, 1000.0]",
        ),
        (
            {
                "dispersions": {
                    "synthetic.speed_scale": {
                        "kind": "truncnormal",
                        "mean": 1,
                        "std": 1,
                        "low": -1,
                        "high": 2,
                    }
                }
            },
            "dispersions.synthetic.speed_scale",
            "leaves the physical range",
        ),
        (
            {"dispersions": {"synthetic.speed_scale": {"kind": "normal", "mean": 1, "std": 1}}},
            "dispersions.synthetic.speed_scale",
            "leaves the physical range",
        ),
    ],
)
def test_specs_the_engine_cannot_run_are_refused(over: dict[str, Any], field: str, needle: str) -> None:
    s = parse_study_spec(spec(**over))
    with pytest.raises(ConfigError) as err:
        check_spec(s, BernoulliKernel())
    assert err.value.field == field
    assert needle in str(err.value)


def test_a_good_spec_passes_and_orders_axes(spec_factory: Callable[..., StudySpec]) -> None:
    s = parse_study_spec(
        spec(grid={"synthetic.logit_shift": [0.0, 1.0], "fuel_margin_pct": [0.0], "sensor_latency_s": [0.0]})
    )
    check_spec(s, BernoulliKernel())
    assert list(s.grid) == ["sensor_latency_s", "fuel_margin_pct", "synthetic.logit_shift"]
    assert s.n_cells == 2


def test_spec_hash_is_stable_and_sensitive() -> None:
    a, b = parse_study_spec(spec()), parse_study_spec(spec())
    assert a.sha256() == b.sha256()
    assert a.sha256() != a.with_overrides(seed=1).sha256()
    assert a.with_overrides(seed=None) == a


def test_overrides_are_validated() -> None:
    with pytest.raises(ConfigError, match="samples_per_cell"):
        parse_study_spec(spec()).with_overrides(samples_per_cell=-1)


def test_preset_plus_overrides() -> None:
    smoke = load_study_spec("smoke")
    s = parse_study_spec({"preset": "smoke", "samples_per_cell": 500, "grid": {"fuel_margin_pct": [5.0]}})
    assert s.samples_per_cell == 500
    assert s.grid["fuel_margin_pct"] == [5.0]
    assert s.grid["sensor_latency_s"] == smoke.grid["sensor_latency_s"]  # mappings merge
    assert s.dispersions == smoke.dispersions
    with pytest.raises(NotFoundError, match="no study preset 'nope'"):
        parse_study_spec({"preset": "nope"})


def test_shipped_presets_meet_the_issue() -> None:
    smoke = load_study_spec(CONFIGS / "smoke.yaml")
    assert set(smoke.sites) >= {"atlas_crater", "mare_frigoris"}
    assert all(2 <= len(v) <= 3 for v in smoke.grid.values())
    big = load_study_spec(CONFIGS / "atlas_vs_frigoris.yaml")
    assert set(big.sites) >= {"atlas_crater", "mare_frigoris"}
    lat, margin = big.grid["sensor_latency_s"], big.grid["fuel_margin_pct"]
    assert len(lat) >= 6 and min(lat) == 0 and max(lat) >= 60
    assert len(margin) >= 6 and min(margin) == 0 and max(margin) >= 30


def test_missing_spec_file() -> None:
    with pytest.raises(NotFoundError):
        load_study_spec("/nonexistent/spec.yaml")
