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


def test_a_preset_on_a_base_changes_only_what_it_states():
    import yaml

    from riskengine.config.models import GuidanceSpec
    from riskengine.config.presets import config_dir, load_preset

    stated = yaml.safe_load((config_dir() / "guidance" / "hakuto_r.yaml").read_text())
    assert stated.pop("base") == "standard"
    child = load_preset("guidance", "hakuto_r", GuidanceSpec).model_dump()
    parent = load_preset("guidance", "standard", GuidanceSpec).model_dump()
    changed = {k for k in child if child[k] != parent[k]}
    assert changed == set(stated) | {"name"}
    assert all(child[k] == v for k, v in stated.items())


def test_base_cycles_and_bad_bases_are_refused(tmp_path, monkeypatch):
    from riskengine.config import presets

    (tmp_path / "sensors").mkdir()
    (tmp_path / "sensors" / "a.yaml").write_text("base: b\naltimeter: {max_range_m: 5.0}\n")
    (tmp_path / "sensors" / "b.yaml").write_text("base: a\n")
    (tmp_path / "sensors" / "c.yaml").write_text("base: [a]\n")
    (tmp_path / "sensors" / "d.yaml").write_text("base: nowhere\n")
    (tmp_path / "sensors" / "e.yaml").write_text("altimeter: {max_range_m: 9.0, latency_s: 0.1}\nimu: {}\n")
    (tmp_path / "sensors" / "f.yaml").write_text("base: e\naltimeter: {max_range_m: 7.0}\n")
    monkeypatch.setattr(presets, "config_dir", lambda: tmp_path)
    with pytest.raises(ConfigError, match=r"field 'base' = 'a' makes a cycle \(a -> b -> a\)"):
        presets._raw("sensors", "a")
    with pytest.raises(
        ConfigError, match=r"field 'base' = \['a'\]: expected the name of another sensors preset"
    ):
        presets._raw("sensors", "c")
    with pytest.raises(NotFoundError, match="unknown sensor preset 'nowhere'"):
        presets._raw("sensors", "d")
    # Mappings merge field by field: f changes one altimeter field and keeps e's others.
    _, f = presets._raw("sensors", "f")
    assert f == {"altimeter": {"max_range_m": 7.0, "latency_s": 0.1}, "imu": {}}
