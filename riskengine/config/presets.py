"""Named presets: YAML files under the configs directory, one folder per kind."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from riskengine.config.errors import config_error
from riskengine.config.models import GuidanceSpec, SensorSuiteSpec, SiteSpec, VehicleSpec
from riskengine.errors import ConfigError, NotFoundError

M = TypeVar("M", bound=pydantic.BaseModel)

KINDS: dict[str, type[pydantic.BaseModel]] = {
    "vehicles": VehicleSpec,
    "sites": SiteSpec,
    "sensors": SensorSuiteSpec,
    "guidance": GuidanceSpec,
}


@functools.cache
def config_dir() -> Path:
    """The configs directory: ``RISKENGINE_CONFIG_DIR`` or the repository's ``configs/``."""
    env = os.environ.get("RISKENGINE_CONFIG_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "configs"


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def preset_names(kind: str) -> list[str]:
    folder = config_dir() / kind
    return sorted(p.stem for p in folder.glob("*.yaml"))


def site_names() -> list[str]:
    return preset_names("sites")


def preset_path(kind: str, name: str) -> Path:
    if kind not in KINDS and kind not in {"replays", "studies"}:
        raise NotFoundError(f"unknown preset kind '{kind}'")
    path = config_dir() / kind / f"{name}.yaml"
    if not path.is_file():
        allowed = ", ".join(preset_names(kind)) or "none"
        raise NotFoundError(
            f"unknown {kind[:-1] if kind.endswith('s') else kind} preset '{name}' (available: {allowed})"
        )
    return path


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``, mapping by mapping (a sensors preset may change one altimeter field)."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        out[key] = _merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def _raw(kind: str, name: str, chain: tuple[str, ...] = ()) -> tuple[Path, dict[str, Any]]:
    """The preset's YAML mapping with its ``base:`` preset's (of the same kind) under it, recursively."""
    path = preset_path(kind, name)
    data = read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return path, data
    if not isinstance(base, str):
        raise ConfigError(
            f"{path}: field 'base' = {base!r}: expected the name of another {kind} preset",
            field="base",
            value=base,
        )
    if base in (*chain, name):
        raise ConfigError(
            f"{path}: field 'base' = {base!r} makes a cycle ({' -> '.join((*chain, name, base))})",
            field="base",
            value=base,
        )
    _, under = _raw(kind, base, (*chain, name))
    under.pop("name", None)
    return path, _merged(under, data)


@functools.lru_cache(maxsize=256)
def _load(kind: str, name: str) -> pydantic.BaseModel:
    """A preset, validated. ``base: OTHER`` in its YAML starts it from preset OTHER of the same kind and
    changes only the fields it states (``configs/guidance/hakuto_r.yaml``)."""
    path, data = _raw(kind, name)
    data.setdefault("name", name)
    try:
        return KINDS[kind].model_validate(data)
    except pydantic.ValidationError as exc:
        raise config_error(exc, f"{kind} preset '{name}' ({path})") from exc


def load_preset(kind: str, name: str, model: type[M]) -> M:
    """Load and validate preset ``name`` of ``kind`` (vehicles, sites, sensors, guidance)."""
    preset = _load(kind, name)
    assert isinstance(preset, model)
    return preset
