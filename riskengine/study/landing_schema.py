"""The landing maps' part of the cube schema (see docs/cube.md): coordinates, variables, cell values."""

from __future__ import annotations

from typing import Any

import numpy as np

from riskengine.study import landing
from riskengine.study.kernel import Kernel

FRAME = (
    "site track frame: x downrange along the approach ground track, y crossrange to the left, "
    "target at (0, 0); m"
)


#: How each kernel's ``hazard_terrain`` is made (the variable's ``comment``).
HAZARD_TERRAIN_METHOD = {
    "descent": "the engine's touchdown-tilt model (grid gradient + sub-grid roughness + rock under one pad; "
    "hazardous beyond max_slope_deg or the static tip angle) integrated over each bin: "
    "riskengine.terrain.hazard; the cell's values, per-sample dispersions of them not integrated; speeds "
    "(dynamic tip-over) not included",
    "bernoulli": "synthetic stand-in 1 - exp(-r^2 / (2 (400 m)^2)), r the bin centre's distance from the target",
}


def landing_schema(
    spec: Any,
    kernel: Kernel,
    grid_dims: tuple[str, ...],
    coords: dict[str, Any],
    data: dict[str, Any],
    full: Any,
) -> None:
    """Coordinates and variables of the landing maps and dispersion ellipses (docs/cube.md)."""
    lm = spec.landing_map
    xc, yc = landing.map_centres(lm)
    n_out = len(kernel.outcomes)
    xy = ("touchdown_x_m", "touchdown_y_m")
    for name, centres, half, what in (
        ("touchdown_x_m", xc, lm.half_length_m, "downrange"),
        ("touchdown_y_m", yc, lm.half_width_m, "crossrange (positive left)"),
    ):
        coords[name] = (
            name,
            centres,
            {
                "units": "m",
                "long_name": f"touchdown {what} position, landing-map bin centre",
                "comment": f"{FRAME}; bins [centre - bin_width_m / 2, centre + bin_width_m / 2)",
                "bin_width_m": lm.bin_m,
                "valid_min": -half,
                "valid_max": half,
            },
        )
    coords["ellipse_level"] = (
        "ellipse_level",
        np.array(landing.ELLIPSE_LEVELS),
        {
            "units": "1",
            "long_name": "probability content of the dispersion ellipse",
            "comment": "Mahalanobis radius sqrt(chi2_2.ppf(level)) = sqrt(-2 ln(1 - level))",
        },
    )
    levels = (len(landing.ELLIPSE_LEVELS),)
    population = (
        "all ground contacts (every outcome with a touchdown point)"
        if lm.ellipse_population == "contact"
        else f"ground contacts with outcome '{kernel.success_outcome}'"
    )
    ell = {"population": population, "estimator": "exact integer moments (positions in mm); n - 1 covariance"}

    def var(dims: tuple[str, ...], extra: tuple[int, ...], fill: Any, dtype: Any, **attrs: Any) -> Any:
        return ((*grid_dims, *dims), full(extra, fill, dtype), attrs)

    data["landing_count"] = var(
        ("outcome", *xy), (n_out, *lm.shape), 0, np.int64, units="1",
        long_name="ground contacts per outcome and landing-map bin",
        comment="landing_count.sum((touchdown_x_m, touchdown_y_m)) + landing_outside_count + "
        "landing_no_contact_count == count, per outcome",
    )  # fmt: skip
    data["landing_outside_count"] = var(
        ("outcome",), (n_out,), 0, np.int64, units="1", long_name="ground contacts outside the landing map"
    )
    data["landing_no_contact_count"] = var(
        ("outcome",), (n_out,), 0, np.int64, units="1",
        long_name="samples without a ground-contact point (no contact within the simulated time)",
    )  # fmt: skip
    data["hazard_observed_count"] = var(
        xy, lm.shape, 0, np.int64, units="1",
        long_name="ground contacts in the bin whose touchdown exceeded the vehicle's slope/rock limits",
        comment="touchdown modes tipped_static, tipped_dynamic, at_rest_beyond_operational_tilt",
    )  # fmt: skip
    data["hazard_observed"] = var(
        xy, lm.shape, np.nan, np.float64, units="1",
        long_name="observed probability that a touchdown in the bin exceeded the slope/rock limits",
        comment="hazard_observed_count / landing_count.sum(outcome); NaN where nothing touched down. "
        "Modes of higher classification priority (crushed, dry before contact, over a speed limit) hide a "
        "slope beneath them",
        ancillary_variables="hazard_observed_count landing_count",
    )  # fmt: skip
    data["hazard_terrain"] = var(
        xy, lm.shape, np.nan, np.float64, units="1",
        long_name="probability that a touchdown at a uniform point of the bin exceeds the slope/rock limits, "
        "from the terrain model",
        comment=f"{kernel.name} kernel; " + HAZARD_TERRAIN_METHOD.get(kernel.name, "the kernel's terrain model"),
    )  # fmt: skip
    data["landing_ellipse_n"] = var(
        (), (), 0, np.int64, units="1", long_name="touchdown points behind the dispersion ellipses", **ell
    )
    for axis in ("x", "y"):
        data[f"landing_centre_{axis}_m"] = var(
            (), (), np.nan, np.float64, units="m", long_name=f"mean touchdown {axis} (ellipse centre)",
            comment=FRAME, **ell,
        )  # fmt: skip
    for comp in ("xx", "xy", "yy"):
        data[f"landing_cov_{comp}_m2"] = var(
            (), (), np.nan, np.float64, units="m2", long_name=f"touchdown position covariance, {comp}", **ell
        )
    for axis in ("major", "minor"):
        data[f"landing_ellipse_semi_{axis}_m"] = var(
            ("ellipse_level",), levels, np.nan, np.float64, units="m",
            long_name=f"semi-{axis} axis of the dispersion ellipse", **ell,
        )  # fmt: skip
    data["landing_ellipse_orientation_deg"] = var(
        (), (), np.nan, np.float64, units="degree",
        long_name="direction of the major axis from +x (downrange) towards +y (left), in (-90, 90]", **ell,
    )  # fmt: skip
    data["landing_ellipse_fraction_inside"] = var(
        ("ellipse_level",), levels, np.nan, np.float64, units="1",
        long_name="share of the ellipse's touchdown points inside it (check of the Gaussian assumption)",
        comment="measured on the landing map, points uniform within a bin (resolution one bin); NaN where "
        "the ellipse reaches beyond the map",
        **ell,
    )  # fmt: skip


def landing_values(
    agg: landing.LandingAggregate | None,
    spec: Any,
    success_index: int,
    terrain_hazard: np.ndarray | None = None,
) -> dict[str, Any]:
    """Cube values of a cell's landing aggregate (nothing if there is none) and its terrain hazard map."""
    out: dict[str, Any] = {} if terrain_hazard is None else {"hazard_terrain": terrain_hazard}
    if agg is None:
        return out
    lm = spec.landing_map
    n_out = agg.counts.shape[0]
    sel = range(n_out) if lm.ellipse_population == "contact" else [success_index]
    e = landing.ellipse(agg, sel, lm)
    return out | {
        "landing_count": agg.counts,
        "landing_outside_count": agg.outside,
        "landing_no_contact_count": agg.no_contact,
        "hazard_observed_count": agg.hazard,
        "hazard_observed": landing.hazard_fraction(agg),
        "landing_ellipse_n": e.n,
        "landing_centre_x_m": e.centre_m[0],
        "landing_centre_y_m": e.centre_m[1],
        "landing_cov_xx_m2": e.cov_m2[0],
        "landing_cov_xy_m2": e.cov_m2[1],
        "landing_cov_yy_m2": e.cov_m2[2],
        "landing_ellipse_semi_major_m": e.semi_major_m,
        "landing_ellipse_semi_minor_m": e.semi_minor_m,
        "landing_ellipse_orientation_deg": e.orientation_deg,
        "landing_ellipse_fraction_inside": e.fraction_inside,
    }
