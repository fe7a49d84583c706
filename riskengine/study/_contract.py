"""Stand-ins for the config layer's spec types until ``riskengine.config`` lands.

TEMPORARY: once ``riskengine.config`` exports ``ScenarioSpec`` and ``DistributionSpec`` this module
re-exports them and the definitions below go away. They follow the agreed contract:
``DistributionSpec`` is a discriminated union on ``kind`` (fixed | normal | truncnormal | uniform).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixedDist(_Dist):
    kind: Literal["fixed"] = "fixed"
    value: float


class NormalDist(_Dist):
    kind: Literal["normal"] = "normal"
    mean: float
    std: float = Field(gt=0)


class TruncNormalDist(_Dist):
    kind: Literal["truncnormal"] = "truncnormal"
    mean: float
    std: float = Field(gt=0)
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> TruncNormalDist:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class UniformDist(_Dist):
    kind: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> UniformDist:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


DistributionSpec = Annotated[
    FixedDist | NormalDist | TruncNormalDist | UniformDist, Field(discriminator="kind")
]


class ScenarioSpec(BaseModel):
    """Vehicle preset plus overrides (stand-in; the config layer owns the real model)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    vehicle: str = "hakuto_r"
    overrides: dict[str, float] = Field(default_factory=dict)
