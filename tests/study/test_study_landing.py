"""Landing maps, observed hazard maps and dispersion ellipses: exact counts, exact merging, the plots."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from study_helpers import make_spec

from riskengine.cli import main
from riskengine.cli.plot import parse_cell
from riskengine.errors import ConfigError
from riskengine.plots import plot_landing_map
from riskengine.study import InProcessExecutor, StudySpec, open_cube, run_study
from riskengine.study.cube import select_cell
from riskengine.study.landing import (
    ELLIPSE_LEVELS,
    LandingAggregate,
    LandingMapSpec,
    Touchdown,
    aggregate,
    ellipse,
    hazard_fraction,
    map_centres,
    map_edges,
)
from riskengine.study.synthetic import HAZARD_SCALE_M, BernoulliKernel

SpecFactory = Callable[..., StudySpec]
N_OUT = 6
LANDING_VARS = (
    "landing_count", "landing_outside_count", "landing_no_contact_count", "hazard_observed",
    "hazard_observed_count", "hazard_terrain", "landing_ellipse_n", "landing_centre_x_m", "landing_centre_y_m",
    "landing_cov_xx_m2", "landing_cov_xy_m2", "landing_cov_yy_m2", "landing_ellipse_semi_major_m",
    "landing_ellipse_semi_minor_m", "landing_ellipse_orientation_deg", "landing_ellipse_fraction_inside",
)  # fmt: skip
# The synthetic kernel's touchdown point: x = 50 + 300 z0, y = 75 z0 + 80 z1.
SMALL_MAP = {"half_length_m": 600.0, "half_width_m": 300.0, "bin_m": 50.0}  # many points fall outside


def run(spec: StudySpec, out: Any, **kw: Any) -> Any:
    return run_study(spec, out, kernel=BernoulliKernel(), executor=InProcessExecutor(), **kw)


@pytest.fixture(scope="module")
def cube(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("landing") / "cube.zarr"
    run(make_spec(landing_map=SMALL_MAP), out)
    return out


# ---------------------------------------------------------------------- the grid
def test_grid_edges_and_centres_are_one_definition() -> None:
    lm = LandingMapSpec(half_length_m=1000, half_width_m=250, bin_m=50)
    ex, ey = map_edges(lm)
    assert lm.shape == (40, 10) and ex.shape == (41,) and ey.shape == (11,)
    assert ex[0] == -1000 and ex[-1] == 1000 and ey[0] == -250 and ey[-1] == 250
    np.testing.assert_allclose(np.diff(ex), 50.0)
    xc, yc = map_centres(make_spec(landing_map={"half_length_m": 1000, "half_width_m": 250, "bin_m": 50}))
    np.testing.assert_allclose(xc, ex[:-1] + 25.0)
    np.testing.assert_allclose(yc, ey[:-1] + 25.0)


# ---------------------------------------------------------------------- counts and hazard
def test_hand_made_batch_counts_hazard_and_counters() -> None:
    lm = LandingMapSpec(half_length_m=100, half_width_m=100, bin_m=100)  # 2 x 2 bins
    nan = math.nan
    x = np.array([-50.0, -40.0, -60.0, 50.0, 100.0, -100.0, 500.0, nan, 10.0])
    y = np.array([-50.0, -40.0, -60.0, 50.0, 0.0, 99.9, 0.0, nan, nan])
    hz = np.array([True, False, True, False, False, False, True, False, False])
    outcome = np.array([0, 2, 2, 0, 0, 1, 4, 5, 5])
    agg = aggregate(outcome, Touchdown(x, y, hz), N_OUT, lm)
    assert agg.counts[:, 0, 0].tolist() == [1, 0, 2, 0, 0, 0]
    assert agg.counts[:, 1, 1].tolist() == [1, 0, 0, 0, 0, 0]
    assert agg.counts[:, 0, 1].tolist() == [0, 1, 0, 0, 0, 0]  # x = -100 (lower edge) is inside
    assert agg.counts[:, 1, 0].sum() == 0
    # x = 100 lies on the far edge (bins are [lo, hi)): outside, as is x = 500.
    assert agg.outside.tolist() == [1, 0, 0, 0, 1, 0]
    assert agg.no_contact.tolist() == [0, 0, 0, 0, 0, 2]  # a NaN in either coordinate
    assert agg.hazard.tolist() == [[2, 0], [0, 0]]  # the hazard outside the map is not on the map
    h = hazard_fraction(agg)
    assert h[0, 0] == pytest.approx(2 / 3) and h[1, 1] == 0.0 and h[0, 1] == 0.0 and np.isnan(h[1, 0])
    assert agg.counts.sum() + agg.outside.sum() + agg.no_contact.sum() == len(outcome)


def test_a_kernel_without_touchdown_points_counts_no_contact() -> None:
    agg = aggregate(np.array([0, 1, 1]), None, N_OUT, LandingMapSpec())
    assert agg.no_contact.tolist() == [1, 2, 0, 0, 0, 0] and agg.counts.sum() == 0
    assert np.isnan(hazard_fraction(agg)).all()


def test_maps_and_counters_sum_exactly_to_n(cube: Path) -> None:
    ds = open_cube(cube)
    in_map = ds["landing_count"].sum(("touchdown_x_m", "touchdown_y_m"))
    per_outcome = in_map + ds["landing_outside_count"] + ds["landing_no_contact_count"]
    np.testing.assert_array_equal(per_outcome.values, ds["count"].values)
    np.testing.assert_array_equal(per_outcome.sum("outcome").values, ds["n"].values)
    assert (ds["n"] == 120).all()
    # The small map leaves points outside; only timeouts lack a contact point.
    assert (ds["landing_outside_count"].sum("outcome") > 0).all()
    np.testing.assert_array_equal(
        ds["landing_no_contact_count"].sum("outcome").values, ds["count"].sel(outcome="timeout").values
    )
    # Observed hazard: the synthetic kernel's hazard is its tip-over outcome.
    contacts = ds["landing_count"].sum("outcome")
    tip = ds["landing_count"].sel(outcome="tip_over")
    np.testing.assert_array_equal(ds["hazard_observed_count"].values, tip.values)
    h = ds["hazard_observed"].values
    assert np.array_equal(np.isnan(h), (contacts == 0).values)
    np.testing.assert_allclose(h[contacts.values > 0], (tip / contacts).values[contacts.values > 0])
    assert int(ds["landing_ellipse_n"].sum()) == int((ds["n"] - ds["count"].sel(outcome="timeout")).sum())


# ---------------------------------------------------------------------- terrain hazard
def test_terrain_hazard_is_the_kernels_map_in_every_cell(cube: Path) -> None:
    ds = open_cube(cube)
    h = ds["hazard_terrain"]
    assert h.dims == ("site", "sensor_latency_s", "fuel_margin_pct", "touchdown_x_m", "touchdown_y_m")
    x, y = ds["touchdown_x_m"].values, ds["touchdown_y_m"].values
    want = 1.0 - np.exp(-(x[:, None] ** 2 + y[None, :] ** 2) / (2 * HAZARD_SCALE_M**2))
    np.testing.assert_array_equal(h.values, np.broadcast_to(want, h.shape))
    assert h.attrs["units"] == "1" and "bernoulli" in h.attrs["comment"]


def test_descent_kernel_terrain_hazard_uses_the_cells_values_and_is_shared() -> None:
    # No flight: the kernel's map is riskengine.terrain.hazard on the cell's resolved terrain and vehicle.
    from riskengine.config.models import SiteSpec, VehicleSpec
    from riskengine.config.presets import load_preset
    from riskengine.study.descent import DescentKernel
    from riskengine.study.kernel import CellRef
    from riskengine.terrain.hazard import Lander, site_hazard_map

    lm = {"half_length_m": 400.0, "half_width_m": 200.0, "bin_m": 50.0}
    spec = make_spec(sites=["mare_frigoris"], dispersions={}, landing_map=lm)
    k = DescentKernel()

    def cell(**a: float) -> CellRef:
        return CellRef(
            0, "mare_frigoris", 0, 0, tuple({"sensor_latency_s": 0.0, "fuel_margin_pct": 0.0, **a}.items())
        )

    base = k.terrain_hazard(spec, cell())
    veh = load_preset("vehicles", spec.scenario.vehicle, VehicleSpec)
    terrain = load_preset("sites", "mare_frigoris", SiteSpec).terrain
    lander = Lander(veh.footprint_radius_m, veh.cg_height_m, veh.max_slope_deg)
    ex, ey = map_edges(spec)
    np.testing.assert_array_equal(base, site_hazard_map(terrain, lander, veh.footpad_diameter_m, ex, ey))
    assert base.shape == (16, 8) and 0.0 < base.mean() < 1.0
    # Latency, margin and onboard-map errors do not change the terrain: one map, computed once.
    assert k.terrain_hazard(spec, cell(sensor_latency_s=40.0, fuel_margin_pct=10.0)) is base
    assert k.terrain_hazard(spec, cell(**{"terrain.map_offset_m": 30.0})) is base
    # The vehicle's limit and the roughness on an axis do.
    laxer = k.terrain_hazard(spec, cell(**{"vehicle.max_slope_deg": 20.0}))
    rougher = k.terrain_hazard(spec, cell(**{"terrain.roughness_rms_slope_deg": 8.0}))
    assert np.all(laxer <= base) and laxer.mean() < base.mean()
    assert rougher.mean() > base.mean()


# ---------------------------------------------------------------------- ellipses
def _gaussian(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cov = np.array([[400.0**2, 0.6 * 400 * 150], [0.6 * 400 * 150, 150.0**2]])
    pts = rng.multivariate_normal([120.0, -40.0], cov, size=n)
    return pts[:, 0], pts[:, 1], cov


def test_ellipse_of_a_gaussian_recovers_its_covariance_and_content() -> None:
    x, y, _ = _gaussian(40_000)
    lm = LandingMapSpec(half_length_m=4000, half_width_m=2000, bin_m=20)
    agg = aggregate(np.zeros(len(x), int), Touchdown(x, y, np.zeros(len(x), bool)), N_OUT, lm)
    e = ellipse(agg, range(N_OUT), lm)
    assert e.n == len(x)
    # Exact moments of the positions rounded to 1 mm: the sample statistics of the rounded points to
    # float64 rounding, and of the points themselves to the rounding's effect (~1e-7 relative here).
    q = np.cov(np.rint(x * 1000) / 1000, np.rint(y * 1000) / 1000)
    np.testing.assert_allclose(e.cov_m2, [q[0, 0], q[0, 1], q[1, 1]], rtol=1e-12)
    np.testing.assert_allclose(e.centre_m, [x.mean(), y.mean()], atol=1e-5)
    c = np.cov(x, y)
    np.testing.assert_allclose(e.cov_m2, [c[0, 0], c[0, 1], c[1, 1]], rtol=3e-7)
    vals, vecs = np.linalg.eigh(c)
    k = np.sqrt(stats.chi2.ppf(ELLIPSE_LEVELS, 2))
    np.testing.assert_allclose(e.semi_major_m, k * np.sqrt(vals[1]), rtol=3e-7)
    np.testing.assert_allclose(e.semi_minor_m, k * np.sqrt(vals[0]), rtol=3e-7)
    want = math.degrees(math.atan2(vecs[1, 1], vecs[0, 1]))
    want = (want + 90.0) % 180.0 - 90.0
    assert e.orientation_deg == pytest.approx(want, abs=1e-4)
    # The Gaussian fills its ellipses as the chi-square(2) scaling says (binomial sd <= 0.0025 here).
    np.testing.assert_allclose(e.fraction_inside, ELLIPSE_LEVELS, atol=0.01)


def test_fraction_inside_is_nan_when_the_ellipse_leaves_the_map_and_ellipse_needs_three_points() -> None:
    x, y, _ = _gaussian(5000)
    lm = LandingMapSpec(half_length_m=800, half_width_m=800, bin_m=20)  # 99 % reaches x ~ 1350
    agg = aggregate(np.zeros(len(x), int), Touchdown(x, y, np.zeros(len(x), bool)), N_OUT, lm)
    e = ellipse(agg, [0], lm)
    assert np.isfinite(e.fraction_inside[0]) and np.isnan(e.fraction_inside[2])
    few = aggregate(np.zeros(2, int), Touchdown(x[:2], y[:2], np.zeros(2, bool)), N_OUT, lm)
    e2 = ellipse(few, [0], lm)
    assert e2.n == 2 and np.isnan(e2.semi_major_m).all() and math.isnan(e2.centre_m[0])


def test_pieces_merge_bit_identically_in_any_order() -> None:
    # Far from the origin, float sums of x^2 would round differently for each split and order.
    x, y, _ = _gaussian(3000)
    x, y = x + 123_456.789, y - 98_765.4321
    lm = LandingMapSpec()
    out = np.arange(len(x)) % 3
    td = Touchdown(x, y, np.zeros(len(x), bool))
    whole = aggregate(out, td, N_OUT, lm)
    rng = np.random.default_rng(0)
    for cuts in ([1000, 2000], sorted(rng.choice(np.arange(1, 3000), 17, replace=False))):
        parts = [
            aggregate(out[a:b], Touchdown(x[a:b], y[a:b], td.hazard[a:b]), N_OUT, lm)
            for a, b in zip([0, *cuts], [*cuts, len(x)], strict=True)
        ]
        rng.shuffle(parts)
        merged = parts[0]
        for p in parts[1:]:
            merged = merged + p
        for f in ("counts", "outside", "no_contact", "hazard", "moments"):
            np.testing.assert_array_equal(getattr(merged, f), getattr(whole, f), err_msg=f)
        a, b = ellipse(merged, range(N_OUT), lm), ellipse(whole, range(N_OUT), lm)
        assert a.centre_m == b.centre_m and a.cov_m2 == b.cov_m2 and a.orientation_deg == b.orientation_deg
        assert np.array_equal(a.semi_major_m, b.semi_major_m)
    roundtrip = LandingAggregate.from_arrays(whole.arrays())
    np.testing.assert_array_equal(roundtrip.moments, whole.moments)


def test_landing_variables_are_bit_identical_across_chunkings(tmp_path: Path) -> None:
    spec = make_spec(sites=["atlas_crater"], landing_map=SMALL_MAP)
    cubes = {
        size: open_cube(run(spec, tmp_path / f"c{size}.zarr", chunk_size=size).location)
        for size in (1000, 50, 7)
    }
    ref = cubes[1000]
    for size in (50, 7):
        for name in LANDING_VARS:
            np.testing.assert_array_equal(
                ref[name].values, cubes[size][name].values, err_msg=f"{name} @ {size}"
            )
    assert np.isfinite(ref["landing_ellipse_semi_major_m"]).all()


def test_success_population_ellipse(tmp_path: Path) -> None:
    spec = make_spec(sites=["atlas_crater"], landing_map={**SMALL_MAP, "ellipse_population": "success"})
    ds = open_cube(run(spec, tmp_path / "s.zarr").location)
    np.testing.assert_array_equal(ds["landing_ellipse_n"].values, ds["count"].sel(outcome="landed").values)
    assert "landed" in ds["landing_ellipse_n"].attrs["population"]


# ---------------------------------------------------------------------- schema and spec
def test_schema_units_and_plain_xarray(cube: Path) -> None:
    ds = xr.open_zarr(cube)
    assert ds["landing_count"].dims[-3:] == ("outcome", "touchdown_x_m", "touchdown_y_m")
    assert (
        ds.sizes["touchdown_x_m"] == 24 and ds.sizes["touchdown_y_m"] == 12 and ds.sizes["ellipse_level"] == 3
    )
    assert ds["touchdown_x_m"].attrs["units"] == "m" and ds["touchdown_x_m"].attrs["bin_width_m"] == 50.0
    suffix_units = {"_m": "m", "_m2": "m2", "_deg": "degree"}
    for name in LANDING_VARS:
        unit = ds[name].attrs["units"]
        want = next((u for s, u in suffix_units.items() if name.endswith(s)), "1")
        assert unit == want, name
        assert ds[name].attrs["long_name"]
    assert ds["landing_count"].dtype == np.int64 and ds["hazard_observed"].dtype == np.float64


@pytest.mark.parametrize(
    ("landing_map", "field", "needle"),
    [
        ({"bin_m": 0.5}, "landing_map.bin_m", "greater than or equal to 1"),
        ({"bin_m": 30}, "landing_map.half_length_m", "whole number of bins"),
        ({"half_width_m": 50_000}, "landing_map.half_width_m", "at most 400 per axis"),
        ({"half_length_m": -5}, "landing_map.half_length_m", "greater than 0"),
        ({"ellipse_population": "landed_only"}, "landing_map.ellipse_population", "'contact' or 'success'"),
        ({"half_widht_m": 100}, "landing_map.half_widht_m", "Extra inputs"),
    ],
)
def test_bad_landing_maps_are_refused(landing_map: dict[str, Any], field: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as err:
        make_spec(landing_map=landing_map)
    assert err.value.field == field


def test_a_study_cannot_ask_for_huge_maps() -> None:
    grid = {"sensor_latency_s": [float(i) for i in range(50)], "fuel_margin_pct": [0.0, 5.0, 10.0]}
    with pytest.raises(ConfigError, match="exceeds the allowed") as err:
        make_spec(grid=grid, landing_map={"half_length_m": 20_000, "half_width_m": 20_000, "bin_m": 100})
    assert err.value.field == "landing_map"
    make_spec(grid=grid)  # the default grid is fine for 300 cells


# ---------------------------------------------------------------------- cell selection and plots
def test_select_cell_names_what_is_wrong(cube: Path) -> None:
    ds = open_cube(cube)
    c = select_cell(ds, {"site": "mare_frigoris", "sensor_latency_s": "20", "fuel_margin_pct": 10})
    assert c["landing_count"].dims == ("outcome", "touchdown_x_m", "touchdown_y_m")
    with pytest.raises(ConfigError, match="did you mean 'sensor_latency_s'"):
        select_cell(ds, {"site": "atlas_crater", "sensor_latency": 0})
    with pytest.raises(ConfigError, match=r"allowed: \['0', '20', '40'\]"):
        select_cell(ds, {"site": "atlas_crater", "sensor_latency_s": 5, "fuel_margin_pct": 0})
    with pytest.raises(ConfigError, match="give fuel_margin_pct=VALUE"):
        select_cell(ds, {"site": "atlas_crater", "sensor_latency_s": 0})
    assert parse_cell("site=a, x.y=1") == {"site": "a", "x.y": "1"}
    with pytest.raises(ConfigError, match="expected site=NAME"):
        parse_cell("site")


def test_plot_png_and_svg(cube: Path, tmp_path: Path) -> None:
    ds = open_cube(cube)
    cell = {"site": "atlas_crater", "sensor_latency_s": 0, "fuel_margin_pct": 10}
    plot_landing_map(ds, cell, tmp_path / "m.png")
    png = (tmp_path / "m.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    plot_landing_map(ds, cell, tmp_path / "m.svg")
    root = ET.parse(tmp_path / "m.svg").getroot()
    assert root.tag.endswith("svg")
    text = (tmp_path / "m.svg").read_text()
    assert "hazard map (observed)" in text and "hazard map (terrain model)" in text  # text as comments
    plot_landing_map(ds.drop_vars("hazard_terrain"), cell, tmp_path / "old.svg")  # a cube made before it
    assert "hazard map (terrain model)" not in (tmp_path / "old.svg").read_text()
    with pytest.raises(ConfigError, match="not supported"):
        plot_landing_map(ds, cell, tmp_path / "m.pdf")


def test_cli_plot_landing_map(cube: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.svg"
    cell = "site=mare_frigoris,sensor_latency_s=40,fuel_margin_pct=0"
    assert main(["plot", "landing-map", str(cube), "--cell", cell, "--out", str(out)]) == 0
    assert out.stat().st_size > 0 and ET.parse(out).getroot().tag.endswith("svg")
    assert main(["plot", "landing-map", str(cube), "--cell", "site=moon", "--out", str(out)]) == 2
    assert "allowed: ['atlas_crater', 'mare_frigoris']" in capsys.readouterr().err
