"""The descent engine as a study kernel: the adapter between the study engine and core/config.

Per worker process, a cell's ``Params`` and the study's ``Dispersion`` are built once and cached; the
core's jitted ``simulate_batch`` is compiled once per batch shape (the plan keeps one shape per study).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskengine.study.kernel import METRICS, CellRef, ParameterInfo, SampleBatch
from riskengine.study.landing import Touchdown
from riskengine.study.spec import LATENCY_AXIS, StudySpec


@functools.cache
def _parameters() -> dict[str, ParameterInfo]:
    from riskengine.config import PARAMETERS, resolve_path

    out: dict[str, ParameterInfo] = dict(PARAMETERS)
    out[LATENCY_AXIS] = PARAMETERS[resolve_path(LATENCY_AXIS)]
    return out


@functools.lru_cache(maxsize=64)
def _dispersion(spec_json: str) -> Any:
    from riskengine.config import build_dispersion

    spec = StudySpec.model_validate_json(spec_json)
    return build_dispersion(spec.dispersions)


@functools.lru_cache(maxsize=1024)
def _params(spec_json: str, site: str, assignments: tuple[tuple[str, float], ...]) -> Any:
    from riskengine.config import build_params

    spec = StudySpec.model_validate_json(spec_json)
    return build_params(spec.scenario, site, dict(assignments))


@functools.lru_cache(maxsize=1024)
def _need(spec_json: str, site: str, assignments: tuple[tuple[str, float], ...]) -> float:
    from riskengine.config import nominal_propellant_need_kg

    spec = StudySpec.model_validate_json(spec_json)
    return float(nominal_propellant_need_kg(spec.scenario, site, dict(assignments)))


#: The resolved values the terrain hazard depends on besides the site's own (non-scalar) terrain: the
#: truth's and roughness's ``terrain.*`` fields (the ``terrain.map_*`` ones shape only the onboard map) and
#: the vehicle's touchdown geometry and limit. Cells that differ only in others (latency, fuel margin,
#: sensors, guidance) share one map.
_HAZARD_VEHICLE = ("footprint_radius_m", "cg_height_m", "max_slope_deg", "footpad_diameter_m")


def _hazard_key(values: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    keep = [k for k in values if k.startswith("terrain.") and not k.startswith("terrain.map_")]
    keep += [f"vehicle.{n}" for n in _HAZARD_VEHICLE]
    return tuple(sorted((k, float(values[k])) for k in keep))


@functools.lru_cache(maxsize=64)
def _terrain_hazard(site: str, key: tuple[tuple[str, float], ...], map_json: str) -> np.ndarray:
    from riskengine.config.scenario import terrain_spec
    from riskengine.study.landing import LandingMapSpec, map_edges
    from riskengine.terrain.hazard import Lander, site_hazard_map

    values = dict(key)
    lander = Lander(*(values[f"vehicle.{n}"] for n in _HAZARD_VEHICLE[:3]))
    ex, ey = map_edges(LandingMapSpec.model_validate_json(map_json))
    out = site_hazard_map(terrain_spec(values, site), lander, values["vehicle.footpad_diameter_m"], ex, ey)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class DescentKernel:
    """The lander descent engine (``riskengine.core.simulate_batch``)."""

    name: str = "descent"
    success_outcome: str = "landed"

    @property
    def outcomes(self) -> tuple[str, ...]:
        from riskengine.core import OUTCOMES

        return tuple(OUTCOMES)

    def site_names(self) -> Sequence[str]:
        from riskengine.config import site_names

        return site_names()

    def parameters(self) -> Mapping[str, ParameterInfo]:
        return _parameters()

    def canonical_name(self, name: str) -> str:
        from riskengine.config import resolve_path

        return resolve_path(name)

    def check_dispersions(self, spec: StudySpec) -> None:
        # The config layer's own checks, without building the core's arrays: the driver must not run JAX
        # before Ray starts its workers. (fuel_margin_pct, a required grid axis, is refused by the spec.)
        from riskengine.config import resolve_path
        from riskengine.config.distributions import check_distribution

        for name, dist in spec.dispersions.items():
            field = f"dispersions.{name}"
            check_distribution(resolve_path(name, field), dist, field)

    def nominal_propellant_need_kg(self, spec: StudySpec, cell: CellRef) -> float:
        return _need(spec.canonical_json(), cell.site, cell.assignments)

    def terrain_hazard(self, spec: StudySpec, cell: CellRef) -> np.ndarray:
        """The engine's touchdown-tilt model integrated over each bin (``riskengine.terrain.hazard``) with the
        cell's resolved terrain and vehicle values (NumPy: safe in the driver)."""
        from riskengine.config.scenario import resolved_values

        values = resolved_values(spec.scenario, cell.site, cell.assignment_dict())
        return _terrain_hazard(cell.site, _hazard_key(values), spec.landing_map.model_dump_json())

    def simulate(
        self, spec: StudySpec, cell: CellRef, cell_key: Any, sample_index: np.ndarray
    ) -> SampleBatch:
        import jax
        import jax.numpy as jnp

        from riskengine.core import simulate_batch

        spec_json = spec.canonical_json()
        params = _params(spec_json, cell.site, cell.assignments)
        result = simulate_batch(params, _dispersion(spec_json), cell_key, jnp.asarray(sample_index))
        result = jax.device_get(result)
        return SampleBatch(
            np.asarray(result.outcome, dtype=np.int32),
            {m: np.asarray(getattr(result, m), dtype=np.float64) for m in METRICS},
            Touchdown(
                np.asarray(result.touchdown_downrange_m, dtype=np.float64),
                np.asarray(result.touchdown_crossrange_m, dtype=np.float64),
                np.isin(np.asarray(result.touchdown_mode), _hazard_modes()),
            ),
        )


#: Touchdown modes that exceed the vehicle's slope/rock limits: the landing maps' ``hazard_observed``.
#: Modes of higher classification priority (crushed, dry, over a speed limit) hide a slope beneath them.
HAZARD_MODES: tuple[str, ...] = ("tipped_static", "tipped_dynamic", "at_rest_beyond_operational_tilt")


@functools.cache
def _hazard_modes() -> np.ndarray:
    from riskengine.core.outcomes import TOUCHDOWN_MODES

    return np.array([TOUCHDOWN_MODES.index(m) for m in HAZARD_MODES], dtype=np.int32)
