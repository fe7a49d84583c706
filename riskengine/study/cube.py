"""The cube's schema: the full-shape template, and the values of one finished cell.

Dimensions: ``site``, the grid axes (``sensor_latency_s``, ``fuel_margin_pct``, extras), ``outcome``,
``quantile`` (and ``sample`` if the spec retains samples). See :func:`build_template` for variables.

Variables: ``p_success``, ``p_success_lo``/``p_success_hi`` (95 % Wilson interval, named in attributes),
``n`` (samples used), ``stopped_early``, ``count`` (per outcome; read it as ``ds["count"]``, since
``ds.count`` is xarray's method), ``<metric>_quantile`` for touchdown vertical and horizontal speed,
propellant remaining and miss distance, ``nominal_propellant_need_kg`` and ``propellant_loaded_kg`` per
cell, and ``sample_*`` when samples are retained. A cell not yet run has ``n == 0`` and NaN values.

Landing maps (dims ``touchdown_x_m``, ``touchdown_y_m``, bin centres of :func:`riskengine.study.landing.map_edges`;
``ellipse_level``): ``landing_count`` per outcome and bin, ``landing_outside_count`` and
``landing_no_contact_count`` per outcome, ``hazard_observed``, ``hazard_observed_count`` and ``hazard_terrain``
per bin, and the
dispersion ellipses ``landing_centre_*``, ``landing_cov_*``, ``landing_ellipse_*``. Schema: docs/cube.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from riskengine.study.aggregate import (
    HISTOGRAM_DESCRIPTION,
    INTERVAL_CONFIDENCE,
    INTERVAL_METHOD,
    CellTotals,
    quantiles_from_hist,
    wilson_interval,
)
from riskengine.study.kernel import METRIC_UNITS, METRICS, Kernel
from riskengine.study.landing_schema import landing_schema, landing_values
from riskengine.study.plan import StudyPlan

KEY_DERIVATION = (
    "cell_key = fold_in(fold_in(PRNGKey(seed), site_index), grid_flat_index); "
    "sample key = fold_in(cell_key, sample_index); grid_flat_index is the C-order index over the grid axes"
)


def quantile_var(metric: str) -> str:
    """Cube variable holding a metric's quantiles: ``touchdown_vertical_speed_mps`` ->
    ``touchdown_vertical_speed_quantile``."""
    base = metric.rsplit("_", 1)[0]
    return f"{base}_quantile"


def sample_var(metric: str) -> str:
    return f"sample_{metric.rsplit('_', 1)[0]}"


def _strings(values: Any) -> np.ndarray:
    # Object arrays are written as zarr v3 variable-length strings (fixed-width <U has no v3 spec).
    return np.array(list(values), dtype=object)


def build_template(
    plan: StudyPlan,
    kernel: Kernel,
    attrs: Mapping[str, Any],
) -> tuple[xr.Dataset, dict[str, tuple[int, ...]]]:
    """The empty cube (NaN / 0 / False everywhere a cell goes) and each variable's zarr chunk shape."""
    spec = plan.spec
    params = kernel.parameters()
    grid_dims = ("site", *spec.grid)
    shape = plan.shape
    one_cell = (1,) * len(grid_dims)
    coords: dict[str, Any] = {
        "site": ("site", _strings(spec.sites), {"long_name": "landing site"}),
        "outcome": (
            "outcome",
            _strings(kernel.outcomes),
            {"long_name": "trajectory outcome", "success_outcome": kernel.success_outcome},
        ),
        "quantile": ("quantile", np.array(spec.quantiles), {"long_name": "quantile level", "units": "1"}),
    }
    for axis, values in spec.grid.items():
        info = params[axis]
        coords[axis] = (
            axis,
            np.array(values, dtype=np.float64),
            {
                "units": info.unit,
                "long_name": info.description or axis,
                "valid_min": info.low,
                "valid_max": info.high,
            },
        )

    def full(extra: tuple[int, ...], fill: Any, dtype: Any) -> np.ndarray:
        return np.full(shape + extra, fill, dtype=dtype)

    interval_attrs = {
        "units": "1",
        "interval_method": INTERVAL_METHOD,
        "confidence_level": INTERVAL_CONFIDENCE,
    }
    data: dict[str, Any] = {
        "p_success": (
            grid_dims,
            full((), np.nan, np.float64),
            {
                "long_name": f"probability of outcome '{kernel.success_outcome}'",
                "units": "1",
                "ancillary_variables": "p_success_lo p_success_hi n",
            },
        ),
        "p_success_lo": (
            grid_dims,
            full((), np.nan, np.float64),
            {"long_name": "lower end of the 95 % interval", **interval_attrs},
        ),
        "p_success_hi": (
            grid_dims,
            full((), np.nan, np.float64),
            {"long_name": "upper end of the 95 % interval", **interval_attrs},
        ),
        "n": (grid_dims, full((), 0, np.int64), {"long_name": "samples used", "units": "1"}),
        "stopped_early": (
            grid_dims,
            full((), False, bool),
            {"long_name": "cell stopped early (interval narrow enough)"},
        ),
        "count": (
            (*grid_dims, "outcome"),
            full((len(kernel.outcomes),), 0, np.int64),
            {"long_name": "trajectories per outcome", "units": "1"},
        ),
    }
    for metric in METRICS:
        data[quantile_var(metric)] = (
            (*grid_dims, "quantile"),
            full((len(spec.quantiles),), np.nan, np.float64),
            {
                "long_name": f"quantiles of {metric.rsplit('_', 1)[0].replace('_', ' ')} over trajectories where defined",
                "units": METRIC_UNITS[metric],
                "estimator": HISTOGRAM_DESCRIPTION,
            },
        )
    if spec.retain_samples:
        coords["sample"] = (
            "sample",
            np.arange(spec.retain_samples),
            {"long_name": "sample index within the cell"},
        )
        data["sample_outcome"] = (
            (*grid_dims, "sample"),
            full((spec.retain_samples,), -1, np.int32),
            {
                "long_name": "outcome index of retained samples (-1: not run)",
                "flag_meanings": " ".join(kernel.outcomes),
            },
        )
        for metric in METRICS:
            data[sample_var(metric)] = (
                (*grid_dims, "sample"),
                full((spec.retain_samples,), np.nan, np.float64),
                {"long_name": f"{metric} of retained samples", "units": METRIC_UNITS[metric]},
            )
    landing_schema(spec, kernel, grid_dims, coords, data, full)
    data["nominal_propellant_need_kg"] = (
        grid_dims,
        full((), np.nan, np.float64),
        {
            "long_name": "propellant the nominal descent (perfect knowledge, no dispersion) needs at the site "
            "with the cell's other parameters, computed by the engine; the base of fuel_margin_pct",
            "units": "kg",
        },
    )
    data["propellant_loaded_kg"] = (
        grid_dims,
        full((), np.nan, np.float64),
        {"long_name": "propellant loaded: nominal need x (1 + fuel_margin_pct / 100)", "units": "kg"},
    )
    ds = xr.Dataset(data, coords=coords, attrs=dict(attrs))
    chunks: dict[str, tuple[int, ...]] = {}
    for name, var in ds.data_vars.items():
        if var.dims[: len(grid_dims)] == grid_dims:
            chunks[str(name)] = one_cell + tuple(var.shape[len(grid_dims) :])
    return ds, chunks


def global_attrs(plan: StudyPlan, provenance: Mapping[str, Any]) -> dict[str, Any]:
    spec = plan.spec
    return {
        "Conventions": "CF-1.10",
        "title": f"Landing-risk cube: {spec.name}",
        "summary": spec.description or "Monte Carlo landing success probability per site and grid cell",
        "source": f"riskengine {provenance.get('riskengine_version', '?')} Monte Carlo study",
        "interval_method": INTERVAL_METHOD,
        "interval_confidence": INTERVAL_CONFIDENCE,
        "samples_per_cell": spec.samples_per_cell,
        "early_stopping": spec.early_stopping.model_dump_json() if spec.early_stopping else "none",
        "key_derivation": KEY_DERIVATION,
        "piece_size": plan.piece_size,
        "batch_size": plan.batch_size,
        "histogram": HISTOGRAM_DESCRIPTION,
        "landing_map": spec.landing_map.model_dump_json(),
        **provenance,
    }


def cell_values(
    totals: CellTotals,
    plan: StudyPlan,
    success_index: int,
    margin_pct: float,
    retained: tuple[np.ndarray, np.ndarray] | None = None,
    terrain_hazard: np.ndarray | None = None,
) -> dict[str, Any]:
    """Values of one finished cell, keyed by cube variable (``terrain_hazard``: the kernel's map, if any)."""
    k = int(totals.counts[success_index])
    lo, hi = wilson_interval(k, totals.n)
    out: dict[str, Any] = {
        "p_success": k / totals.n if totals.n else np.nan,
        "p_success_lo": float(lo),
        "p_success_hi": float(hi),
        "n": totals.n,
        "stopped_early": totals.stopped,
        "count": totals.counts,
        "nominal_propellant_need_kg": totals.need_kg,
        "propellant_loaded_kg": totals.need_kg * (1.0 + margin_pct / 100.0),
    }
    for i, metric in enumerate(METRICS):
        out[quantile_var(metric)] = quantiles_from_hist(totals.hist[i], plan.spec.quantiles)
    out.update(landing_values(totals.landing, plan.spec, success_index, terrain_hazard))
    if retained is not None:
        outcome, metrics = retained
        out["sample_outcome"] = outcome
        for i, metric in enumerate(METRICS):
            out[sample_var(metric)] = metrics[:, i]
    return out


def select_cell(ds: xr.Dataset, cell: Mapping[str, Any]) -> xr.Dataset:
    """The cube at one cell: ``cell`` maps ``site`` to a site name and each grid axis to one of its values
    (numbers or numeric strings); an axis of length one may be left out. Raises ``ConfigError`` naming the
    field, the value and what the cube has."""
    import difflib

    from riskengine.errors import ConfigError

    grid_dims = [str(d) for d in ds["p_success"].dims]
    for name in cell:
        if name not in grid_dims:
            close = difflib.get_close_matches(name, grid_dims, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"cell: {name!r} is not an axis of this cube; its axes are {grid_dims}{hint}",
                field=f"cell.{name}",
                value=name,
            )
    index: dict[str, int] = {}
    for dim in grid_dims:
        coord = ds[dim].values
        have = [str(v) for v in coord] if dim == "site" else [f"{float(v):g}" for v in coord]
        if dim not in cell:
            if len(coord) == 1:
                index[dim] = 0
                continue
            raise ConfigError(
                f"cell: give {dim}=VALUE; the cube has {dim} in {have}", field=f"cell.{dim}", value=None
            )
        value = cell[dim]
        if dim == "site":
            hits = [i for i, v in enumerate(have) if v == str(value)]
        else:
            try:
                v = float(value)
            except (TypeError, ValueError):
                hits = []
            else:
                hits = list(np.flatnonzero(np.isclose(coord.astype(float), v, rtol=1e-9, atol=1e-12)))
        if not hits:
            raise ConfigError(
                f"cell: {dim}={value!r} is not in this cube; allowed: {have}",
                field=f"cell.{dim}",
                value=value,
            )
        index[dim] = int(hits[0])
    return ds.isel(index)
