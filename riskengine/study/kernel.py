"""The seam between the study engine and a model: what a kernel must provide.

A kernel is a small picklable object shipped to every worker. Heavy state (jitted functions, built
parameter PyTrees) is created lazily inside the worker process and cached there, so compilation is
paid once per worker. Two kernels exist: :class:`riskengine.study.descent.DescentKernel` (the lander)
and :class:`riskengine.study.synthetic.BernoulliKernel` (closed-form, for tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from riskengine.study.landing import Touchdown

if TYPE_CHECKING:
    from riskengine.study.spec import StudySpec

#: Per-trajectory metrics every kernel reports (float, NaN where undefined, e.g. no touchdown).
METRICS: tuple[str, ...] = (
    "touchdown_vertical_speed_mps",
    "touchdown_horizontal_speed_mps",
    "propellant_remaining_kg",
    "miss_distance_m",
)
METRIC_UNITS: dict[str, str] = {
    "touchdown_vertical_speed_mps": "m s-1",
    "touchdown_horizontal_speed_mps": "m s-1",
    "propellant_remaining_kg": "kg",
    "miss_distance_m": "m",
}


class ParameterInfo(Protocol):
    """What the engine knows about a dispersable scalar: unit and physical bounds."""

    @property
    def unit(self) -> str: ...
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def description(self) -> str: ...


@dataclass(frozen=True)
class ParamInfo:
    """A plain :class:`ParameterInfo`."""

    unit: str
    low: float
    high: float
    description: str = ""


@dataclass(frozen=True)
class CellRef:
    """One grid cell as a kernel sees it.

    ``site_index`` and ``grid_flat`` (C-order index over the grid axes) define the cell's random key,
    see :func:`riskengine.study.plan.cell_key`. ``assignments`` maps axis name -> value for this cell.
    """

    index: int
    site: str
    site_index: int
    grid_flat: int
    assignments: tuple[tuple[str, float], ...]

    def assignment_dict(self) -> dict[str, float]:
        return dict(self.assignments)


@dataclass(frozen=True)
class SampleBatch:
    """Per-trajectory results of one batch: ``outcome`` int32[B] (index into the kernel's outcomes),
    each of :data:`METRICS` as float[B], and the ground-contact points (``None``: the kernel has none)."""

    outcome: np.ndarray
    metrics: dict[str, np.ndarray]
    touchdown: Touchdown | None = None

    def __len__(self) -> int:
        return int(self.outcome.shape[0])

    def take(self, stop: int) -> SampleBatch:
        td = self.touchdown.take(stop) if self.touchdown is not None else None
        return SampleBatch(self.outcome[:stop], {k: v[:stop] for k, v in self.metrics.items()}, td)


class Kernel(Protocol):
    """A model the study engine can fan out."""

    @property
    def name(self) -> str: ...
    @property
    def outcomes(self) -> tuple[str, ...]: ...
    @property
    def success_outcome(self) -> str: ...

    def site_names(self) -> Sequence[str]:
        """Sites a study may name."""
        ...

    def parameters(self) -> Mapping[str, ParameterInfo]:
        """Every name a grid axis or dispersion may use, including the standard axes."""
        ...

    def canonical_name(self, name: str) -> str:
        """The parameter an (alias) name refers to; two names with the same canonical name conflict."""
        ...

    def check_dispersions(self, spec: StudySpec) -> None:
        """Raise ``ConfigError`` (field, value, allowed) if a dispersion is impossible."""
        ...

    def nominal_propellant_need_kg(self, spec: StudySpec, cell: CellRef) -> float:
        """Propellant the nominal descent needs at the cell's site with its other assignments (kg):
        the base of ``fuel_margin_pct``. Called on workers; should be cached per process."""
        ...

    def terrain_hazard(self, spec: StudySpec, cell: CellRef) -> np.ndarray | None:
        """float64 (nx, ny) on the spec's landing map (:func:`riskengine.study.landing.map_edges`): the
        probability that a touchdown at a uniform point of each bin exceeds the slope/rock limits, from the
        model's terrain alone (the cube's ``hazard_terrain``); ``None`` where the kernel has no terrain.
        Called by the driver when it writes the cell; deterministic, and should be cached per process."""
        ...

    def simulate(
        self, spec: StudySpec, cell: CellRef, cell_key: Any, sample_index: np.ndarray
    ) -> SampleBatch:
        """Run samples ``sample_index`` (int32[B]) of ``cell``; sample i depends only on
        ``fold_in(cell_key, sample_index[i])`` so any batching gives the same per-sample results."""
        ...
