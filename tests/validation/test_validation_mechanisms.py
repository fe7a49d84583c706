"""Naming a failure's mechanism from its counterfactual re-flights (no engine run: the rules alone)."""

from __future__ import annotations

import numpy as np

from riskengine.validation import mechanisms

PATHS = ("imu.bias_x_mps2", "imu.bias_y_mps2", "navigation.initial_altitude_error_m", "vehicle.isp_s")


def _cf(imu: bool, nav: bool, vehicle: bool, margin: bool, reproduced: bool = True):
    return mechanisms.Counterfactuals(
        samples=np.array([5]),
        lands_without={"imu": np.array([imu]), "navigation": np.array([nav]), "vehicle": np.array([vehicle])},
        lands_with_margin=np.array([margin]),
        reproduced=np.array([reproduced]),
        margin_pct=20.0,
    )


def _record(mode: str = "dry_before_contact", err: float | None = -2400.0):
    return {"mode": mode, "slope_deg": 16.5, "altitude_error_at_first_valid_m": err}


def test_groups_are_the_registry_sections_in_order():
    assert mechanisms.groups(PATHS) == {"imu": (0, 1), "navigation": (2,), "vehicle": (3,)}
    assert mechanisms.label("imu") == "IMU errors"
    assert mechanisms.label("sim") == "sim dispersions"


def test_the_ground_names_terrain_failures_without_a_reflight():
    name, detail = mechanisms.name(_record("at_rest_beyond_operational_tilt"), None, None)
    assert name.startswith("terrain:") and "16.5 deg" in detail


def test_a_single_sufficient_group_is_the_mechanism():
    name, detail = mechanisms.name(_record(), _cf(True, False, False, True), 0)
    assert name == "IMU errors"
    assert "lands with 20 % margin" in detail
    assert "2400 m higher than it believed" in detail


def test_several_sufficient_groups_are_all_named_and_none_is_combined():
    name, _ = mechanisms.name(_record(err=None), _cf(True, True, False, False), 0)
    assert name == "IMU errors or navigation errors at PDI"
    name, detail = mechanisms.name(_record(err=300.0), _cf(False, False, False, False, reproduced=False), 0)
    assert name == mechanisms.COMBINED
    assert "not reproduced" in detail and "believed" not in detail
