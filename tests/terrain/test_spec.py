"""The terrain spec: validation messages, the site presets, and what the study parameter registry sees."""

from __future__ import annotations

import pydantic
import pytest
from terrain_helpers import SITES, site_terrain, small_terrain

from riskengine.config.errors import config_error
from riskengine.config.models import TERRAIN_LOAD_TIME_FIELDS, TerrainSpec
from riskengine.config.parameters import PARAMETERS
from riskengine.errors import ConfigError

DOME = {
    "kind": "dome",
    "name": "mons_latreille",
    "east_km": 1.0,
    "north_km": 0.0,
    "diameter_km": 6.4,
    "height_m": 150.0,
}


def test_missing_feature_must_name_a_feature_with_a_suggestion():
    with pytest.raises(pydantic.ValidationError) as exc:
        small_terrain(features=[DOME], map_missing_features=["mons_latrielle"])
    err = config_error(exc.value, "sites preset 'x'", prefix="terrain")
    assert isinstance(err, ConfigError)
    msg = str(err)
    assert "map_missing_features[0] = 'mons_latrielle'" in msg and "did you mean 'mons_latreille'" in msg


def test_feature_names_unique_and_kinds_known():
    with pytest.raises(pydantic.ValidationError, match="repeated"):
        small_terrain(features=[DOME, DOME])
    with pytest.raises(pydantic.ValidationError, match="kind"):
        small_terrain(features=[dict(DOME, kind="volcano")])
    with pytest.raises(pydantic.ValidationError, match="start must be below the end"):
        small_terrain(levels=[{"step_m": 100.0, "downrange_km": [5.0, -5.0], "crossrange_km": [-1.0, 1.0]}])


def test_presets_give_sources_for_every_feature():
    for name in SITES:
        terrain = site_terrain(name)
        assert terrain.features
        for f in terrain.features:
            assert f.source, (name, f.name)
    assert TerrainSpec.model_validate({}).levels  # every field has a default


def test_non_float_terrain_fields_are_not_study_parameters():
    for name, field in TerrainSpec.model_fields.items():
        if field.annotation is not float:
            assert f"terrain.{name}" not in PARAMETERS, name
    for name in ("map_offset_m", "map_shift_downrange_m", "map_shift_crossrange_m", "map_fidelity"):
        assert f"terrain.{name}" in PARAMETERS  # per-sample map errors the engine disperses


def test_load_time_terrain_floats_are_cell_parameters_never_drawn_per_sample():
    from riskengine.config.distributions import Uniform, build_dispersion
    from riskengine.errors import ConfigError

    for n in TERRAIN_LOAD_TIME_FIELDS:
        assert not PARAMETERS[f"terrain.{n}"].per_sample, n
    with pytest.raises(ConfigError, match="grid axis"):
        build_dispersion({"terrain.map_resolution_m": Uniform(kind="uniform", low=5.0, high=60.0)})


def test_default_levels_build_and_the_package_imports_no_jax():
    import ast
    from pathlib import Path

    import riskengine.terrain as pkg
    from riskengine.terrain import site_elevation

    model = site_elevation(TerrainSpec.model_validate({}), onboard=False)
    assert [g.step_m for g in model.levels] == [400.0, 25.0, 5.0]
    for path in Path(pkg.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "jax" or n.startswith("jax.") for n in names), path
