"""Bad configuration is refused before anything runs, naming the field, the value and what is allowed."""

from __future__ import annotations

import pydantic
import pytest

from riskengine.config import ScenarioSpec, build_dispersion, build_params
from riskengine.config.distributions import Normal, TruncNormal, Uniform
from riskengine.errors import ConfigError, NotFoundError


def test_override_outside_physical_range_names_field_value_and_range():
    # Inside a pydantic model the ConfigError surfaces as a ValidationError carrying the same message.
    with pytest.raises(pydantic.ValidationError) as exc:
        ScenarioSpec(overrides={"vehicle.min_throttle": 1.5})
    msg = str(exc.value)
    assert "overrides.vehicle.min_throttle" in msg and "1.5" in msg and "[0, 1" in msg


def test_unknown_parameter_lists_what_is_allowed():
    with pytest.raises(pydantic.ValidationError) as exc:
        ScenarioSpec(overrides={"vehicle.warp_factor": 9.0})
    assert "vehicle.warp_factor" in str(exc.value) and "navigation" in str(exc.value)


def test_negative_mass_in_assignments_refused():
    with pytest.raises(ConfigError) as exc:
        build_params(ScenarioSpec(), "mare_frigoris", {"vehicle.dry_mass_kg": -10.0})
    assert "vehicle.dry_mass_kg" in str(exc.value) and "-10" in str(exc.value)


def test_unknown_site_and_vehicle():
    with pytest.raises(NotFoundError, match=r"unknown site preset 'moon_base'.*atlas_crater"):
        build_params(ScenarioSpec(), "moon_base")
    with pytest.raises(NotFoundError, match="unknown vehicle preset 'saturn'"):
        build_params(ScenarioSpec(vehicle="saturn"), "mare_frigoris")


def test_periods_must_be_whole_steps():
    with pytest.raises(ConfigError, match=r"altimeter.period_s.*whole multiple of sim.dt_s = 0.3"):
        build_params(ScenarioSpec(sim={"dt_s": 0.3, "max_time_s": 1800.0}), "mare_frigoris")


def test_dispersion_outside_physical_range_refused():
    with pytest.raises(ConfigError) as exc:
        build_dispersion({"altimeter.dropout_prob": Uniform(low=0.5, high=1.5)})
    assert "dispersions.altimeter.dropout_prob" in str(exc.value) and "[0, 1]" in str(exc.value)
    with pytest.raises(ConfigError, match="6 sigma"):
        build_dispersion({"vehicle.dry_mass_kg": Normal(mean=20.0, std=5.0)})
    ok = build_dispersion(
        {
            "vehicle.dry_mass_kg": TruncNormal(mean=340.0, std=5.0, low=320.0, high=360.0),
            "sensor_latency_s": Uniform(low=0, high=60),
        }
    )
    assert ok.paths == ("altimeter.acquisition_delay_s", "vehicle.dry_mass_kg")
