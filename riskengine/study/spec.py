"""The study spec: one pydantic model, loaded from YAML (``configs/studies/``) or accepted over HTTP.

A spec may start from a preset and override fields::

    preset: smoke
    samples_per_cell: 500

The model checks the spec's shape (non-empty grid, positive sample counts, well-formed distributions).
Whether a site or parameter exists and whether values are physically possible depends on the engine:
:func:`riskengine.study.check_spec` checks that against a kernel and raises ``ConfigError``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from riskengine.config import DistributionSpec, ScenarioSpec
from riskengine.errors import ConfigError, NotFoundError
from riskengine.study.landing import LandingMapSpec, check_study_size

LATENCY_AXIS = "sensor_latency_s"
MARGIN_AXIS = "fuel_margin_pct"
STANDARD_AXES = (LATENCY_AXIS, MARGIN_AXIS)
MAX_SEED = 2**32 - 1


class EarlyStopping(BaseModel):
    """Per-cell early stopping: a cell stops once its 95 % interval is narrower than ``target_width``.

    The rule is only evaluated after every ``check_every`` samples of a cell (counted from the cell's
    first sample), so where a cell stops does not depend on how the study is chunked.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    target_width: float = Field(gt=0, lt=1, description="full width hi - lo of the 95 % interval")
    check_every: int = Field(default=100, ge=1, description="samples between stopping checks")


class StudySpec(BaseModel):
    """A dispersion study: sites x grid axes, ``samples_per_cell`` Monte Carlo samples each.

    ``grid`` maps an axis name to its values. ``sensor_latency_s`` and ``fuel_margin_pct`` are required
    (give one value to hold an axis fixed); any other key names a dispersable parameter as an extra axis.
    ``fuel_margin_pct`` is propellant loaded above the nominal descent's need at that site (percent).
    Axis order in ``grid`` is the cube's dimension order after ``site``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="study", min_length=1, max_length=200)
    description: str = ""
    scenario: ScenarioSpec = Field(default_factory=lambda: ScenarioSpec.model_validate({}))
    sites: list[str] = Field(min_length=1)
    grid: dict[str, list[float]]
    samples_per_cell: int = Field(ge=1, le=10_000_000)
    dispersions: dict[str, DistributionSpec] = Field(default_factory=dict)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    early_stopping: EarlyStopping | None = None
    quantiles: list[float] = Field(default_factory=lambda: [0.05, 0.5, 0.95], min_length=1)
    retain_samples: int = Field(
        default=0, ge=0, le=10_000, description="per-trajectory results kept for each cell's first N samples"
    )
    landing_map: LandingMapSpec = Field(
        default_factory=LandingMapSpec, description="grid of the per-cell landing maps (site track frame)"
    )

    @model_validator(mode="before")
    @classmethod
    def _resolve_preset(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "preset" in data:
            return resolve_preset(data)
        return data

    @field_validator("sites")
    @classmethod
    def _unique_sites(cls, sites: list[str]) -> list[str]:
        dupes = sorted({s for s in sites if sites.count(s) > 1})
        if dupes:
            raise ValueError(f"sites must be unique; repeated: {dupes}")
        return sites

    @field_validator("grid")
    @classmethod
    def _grid_axes(cls, grid: dict[str, list[float]]) -> dict[str, list[float]]:
        missing = [a for a in STANDARD_AXES if a not in grid]
        if missing:
            raise ValueError(f"grid needs the axes {list(STANDARD_AXES)}; missing {missing}")
        for axis, values in grid.items():
            if not values:
                raise ValueError(f"grid axis {axis!r} is empty; give at least one value")
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"grid axis {axis!r} has a non-finite value: {values}")
            if len(set(values)) != len(values):
                raise ValueError(f"grid axis {axis!r} repeats a value: {values}")
        # Standard axes first, then extras in the order given.
        extras = {k: v for k, v in grid.items() if k not in STANDARD_AXES}
        return {**{a: grid[a] for a in STANDARD_AXES}, **extras}

    @field_validator("quantiles")
    @classmethod
    def _quantile_levels(cls, qs: list[float]) -> list[float]:
        if not all(0.0 < q < 1.0 for q in qs):
            raise ValueError(f"quantile levels must lie strictly between 0 and 1: {qs}")
        if len(set(qs)) != len(qs):
            raise ValueError(f"quantile levels repeat: {qs}")
        return sorted(qs)

    @model_validator(mode="after")
    def _axes_not_dispersed(self) -> StudySpec:
        both = sorted(set(self.grid) & set(self.dispersions))
        if both:
            raise ValueError(f"{both} are grid axes and cannot also be dispersed")
        return self

    @field_validator("landing_map")
    @classmethod
    def _landing_map_size(cls, lm: LandingMapSpec, info: ValidationInfo) -> LandingMapSpec:
        sites, grid = info.data.get("sites"), info.data.get("grid")
        if sites is not None and grid is not None:
            check_study_size(lm, len(sites) * math.prod(len(v) for v in grid.values()))
        return lm

    # ------------------------------------------------------------------ derived
    @property
    def axes(self) -> dict[str, list[float]]:
        """Grid axes in cube order (without ``site``)."""
        return dict(self.grid)

    @property
    def n_cells(self) -> int:
        return len(self.sites) * math.prod(len(v) for v in self.grid.values())

    def canonical_json(self) -> str:
        """The spec as JSON, field order fixed by the model: the input to :meth:`sha256`."""
        return self.model_dump_json()

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def with_overrides(self, **fields: Any) -> StudySpec:
        """A validated copy with some fields replaced (``None`` values are ignored)."""
        data = self.model_dump(mode="json")
        data.update({k: v for k, v in fields.items() if v is not None})
        return parse_study_spec(data)


# ---------------------------------------------------------------------- loading
def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def preset_path(name: str, studies_dir: Path | None = None) -> Path:
    """Path of the study preset ``name`` (``configs/studies/<name>.yaml``)."""
    from riskengine.config.presets import config_dir

    root = studies_dir or config_dir() / "studies"
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"study preset name {name!r} is not a plain name", field="preset", value=name)
    path = root / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in root.glob("*.yaml")) if root.is_dir() else []
        raise NotFoundError(f"no study preset {name!r} in {root}; known presets: {known}")
    return path


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read study spec {path}: {exc}", field="spec", value=str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"study spec {path} must be a mapping, not {type(data).__name__}", value=str(path))
    return data


def resolve_preset(data: Mapping[str, Any], _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Merge ``data`` over the preset it names (recursively); mappings merge, other values replace."""
    data = dict(data)
    name = data.pop("preset")
    if not isinstance(name, str):
        raise ConfigError(f"preset must be a name, got {name!r}", field="preset", value=name)
    if name in _seen:
        raise ConfigError(f"study presets form a cycle: {[*_seen, name]}", field="preset", value=name)
    base = _read_yaml(preset_path(name))
    if "preset" in base:
        base = resolve_preset(base, (*_seen, name))
    return _deep_merge(base, data)


def _config_error(exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "spec"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    msg = err["msg"].removeprefix("Value error, ")
    return ConfigError(f"invalid study spec: {field}: {msg}{more}", field=field, value=err.get("input"))


def parse_study_spec(data: Mapping[str, Any]) -> StudySpec:
    """Validate a mapping into a :class:`StudySpec`; errors become ``ConfigError`` naming the field."""
    try:
        return StudySpec.model_validate(dict(data))
    except ValidationError as exc:
        raise _config_error(exc) from exc


def load_study_spec(source: str | Path) -> StudySpec:
    """Load a spec from a YAML file, or from a preset by name (``"smoke"``)."""
    path = Path(source)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise NotFoundError(f"no study spec file {path}")
        return parse_study_spec(_read_yaml(path))
    return parse_study_spec(_read_yaml(preset_path(str(source))))
