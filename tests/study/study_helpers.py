"""Helpers shared by the study tests (a module of its own: ``conftest`` is not importable by name)."""

from __future__ import annotations

from typing import Any

from riskengine.study import StudySpec, parse_study_spec


def make_spec(**over: Any) -> StudySpec:
    data: dict[str, Any] = {
        "name": "test",
        "sites": ["atlas_crater", "mare_frigoris"],
        "grid": {"sensor_latency_s": [0.0, 20.0, 40.0], "fuel_margin_pct": [0.0, 10.0]},
        "samples_per_cell": 120,
        "seed": 7,
        "dispersions": {"synthetic.speed_scale": {"kind": "uniform", "low": 1.0, "high": 2.0}},
    }
    data.update(over)
    return parse_study_spec(data)
