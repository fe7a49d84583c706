"""Settings read from the environment, and the persistent compilation cache the engine commands use."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskengine.cli import build_parser
from riskengine.study import settings as study_settings
from riskengine.study.settings import settings_from_env
from riskengine.study.worker_setup import enable_compilation_cache


def test_the_jax_cache_lives_under_the_data_dir_unless_named(tmp_path: Path) -> None:
    data = {"RISKENGINE_DATA_DIR": str(tmp_path / "data")}
    assert settings_from_env(data).jax_cache_dir == tmp_path / "data" / "jax-cache"
    named = {**data, "RISKENGINE_JAX_CACHE_DIR": str(tmp_path / "shared")}
    assert settings_from_env(named).jax_cache_dir == tmp_path / "shared"
    assert (
        settings_from_env({**data, "RISKENGINE_JAX_CACHE_DIR": ""}).jax_cache_dir
        == tmp_path / "data" / "jax-cache"
    )


def test_engine_commands_and_only_they_enable_the_cache() -> None:
    parser = build_parser()
    flying = [
        ["replay", "nominal"],
        ["validate", "--quick"],
        ["study", "run", "smoke", "--out", "c.zarr"],
        ["serve"],
    ]
    for argv in flying:
        assert getattr(parser.parse_args(argv), "flies_engine", False), argv
    for argv in (["keys", "list"], ["study", "show", "x.zarr"]):
        assert not getattr(parser.parse_args(argv), "flies_engine", False), argv


def test_enable_points_jax_at_the_settings_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jax

    before = jax.config.jax_compilation_cache_dir
    target = tmp_path / "cache"
    monkeypatch.setattr(
        study_settings, "get_settings", lambda: settings_from_env({"RISKENGINE_JAX_CACHE_DIR": str(target)})
    )
    try:
        enable_compilation_cache()
        assert target.is_dir() and jax.config.jax_compilation_cache_dir == str(target)
    finally:
        jax.config.update("jax_compilation_cache_dir", before)
