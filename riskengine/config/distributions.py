"""Dispersion specs (fixed, normal, truncated normal, uniform) and their translation to the core."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskengine.config.parameters import FUEL_MARGIN, FUEL_MARGIN_HOVER, PARAMETERS, resolve_path
from riskengine.core.dispersion import FIXED, NORMAL, TRUNCNORMAL, UNIFORM, Dispersion
from riskengine.errors import ConfigError

# A normal distribution's support is unbounded; it must stay inside the physical range for all but a
# vanishing fraction of samples: +-6 sigma (probability 2e-9) must fit, otherwise use truncnormal.
NORMAL_SIGMAS_INSIDE = 6.0


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fixed(_Dist):
    kind: Literal["fixed"] = "fixed"
    value: float


class Normal(_Dist):
    kind: Literal["normal"] = "normal"
    mean: float
    std: float = Field(gt=0.0)


class TruncNormal(_Dist):
    kind: Literal["truncnormal"] = "truncnormal"
    mean: float
    std: float = Field(gt=0.0)
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> TruncNormal:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class Uniform(_Dist):
    kind: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


DistributionSpec = Annotated[Fixed | Normal | TruncNormal | Uniform, Field(discriminator="kind")]


def support(dist: Fixed | Normal | TruncNormal | Uniform) -> tuple[float, float]:
    if isinstance(dist, Fixed):
        return dist.value, dist.value
    if isinstance(dist, Normal):
        return dist.mean - NORMAL_SIGMAS_INSIDE * dist.std, dist.mean + NORMAL_SIGMAS_INSIDE * dist.std
    return dist.low, dist.high


def check_distribution(path: str, dist: Fixed | Normal | TruncNormal | Uniform, field: str) -> None:
    info = PARAMETERS[path]
    lo, hi = support(dist)
    if not (math.isfinite(lo) and math.isfinite(hi) and info.low <= lo and hi <= info.high):
        what = "+-6 sigma of the normal" if isinstance(dist, Normal) else "support"
        raise ConfigError(
            f"field '{field}' = {dist.model_dump()}: its {what} [{lo:g}, {hi:g}] leaves the physical range of "
            f"{path}: [{info.low:g}, {info.high:g}] {info.unit}",
            field=field,
            value=dist.model_dump(),
        )


def build_dispersion(
    dists: Mapping[str, Fixed | Normal | TruncNormal | Uniform], *, field_prefix: str = "dispersions"
) -> Dispersion:
    """Core :class:`Dispersion` for ``{parameter path or alias: distribution}``; validates every entry."""
    rows: dict[str, tuple[int, float, float, float, float]] = {}
    for name, dist in dists.items():
        field = f"{field_prefix}.{name}"
        path = resolve_path(name, field)
        if path in (FUEL_MARGIN, FUEL_MARGIN_HOVER):
            raise ConfigError(
                f"field '{field}': {path} is a grid axis, not a per-sample dispersion; disperse vehicle.propellant_kg instead",
                field=field,
                value=name,
            )
        if not PARAMETERS[path].per_sample:
            raise ConfigError(
                f"field '{field}': {path} shapes what is built for a cell (terrain grids, the rock table), so it "
                "cannot be drawn per sample; put it on a grid axis or in the scenario's overrides",
                field=field,
                value=name,
            )
        check_distribution(path, dist, field)
        if isinstance(dist, Fixed):
            rows[path] = (FIXED, dist.value, 0.0, dist.value, dist.value)
        elif isinstance(dist, Normal):
            rows[path] = (NORMAL, dist.mean, dist.std, *support(dist))
        elif isinstance(dist, TruncNormal):
            rows[path] = (TRUNCNORMAL, dist.mean, dist.std, dist.low, dist.high)
        else:
            rows[path] = (UNIFORM, 0.5 * (dist.low + dist.high), 0.0, dist.low, dist.high)
    return Dispersion.from_rows(rows) if rows else Dispersion.empty()
