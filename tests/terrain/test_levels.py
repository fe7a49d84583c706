"""Level layout: lattice-aligned nesting, shapes padded to 256-cell buckets, no step between levels,
memory and build-time budgets, and the errors for levels that cannot nest."""

from __future__ import annotations

import time

import numpy as np
import pytest
from terrain_helpers import SITES, SMALL_LEVELS, site_terrain, small_terrain

from riskengine.errors import ConfigError
from riskengine.terrain import ElevationModel, bilinear, site_elevation
from riskengine.terrain._levels import SHAPE_BUCKET


def _border_points(child, rng: np.random.Generator, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Random points on the outer border lines of the child (between nodes as well as on them)."""
    x0, x1, y0, y1 = (
        child.origin_downrange_m,
        child.end_downrange_m,
        child.origin_crossrange_m,
        child.end_crossrange_m,
    )
    t = rng.random(n)
    xs = np.concatenate([x0 + t * (x1 - x0), x0 + t * (x1 - x0), np.full(n, x0), np.full(n, x1)])
    ys = np.concatenate([np.full(n, y0), np.full(n, y1), y0 + t * (y1 - y0), y0 + t * (y1 - y0)])
    return xs, ys


def _max_border_jump(model: ElevationModel) -> float:
    rng = np.random.default_rng(0)
    worst = 0.0
    for parent, child in zip(model.levels[:-1], model.levels[1:], strict=True):
        xs, ys = _border_points(child, rng)
        worst = max(worst, float(np.abs(bilinear(child, xs, ys)[0] - bilinear(parent, xs, ys)[0]).max()))
    return worst


@pytest.mark.parametrize("name", SITES)
def test_site_levels_join_without_a_step_truth_and_map(name):
    terrain = site_terrain(name)
    for onboard in (False, True):
        model = site_elevation(terrain, onboard=onboard)
        assert _max_border_jump(model) < 1e-3, (name, onboard)
        for g in model.levels:
            assert g.shape[0] % SHAPE_BUCKET == 0 and g.shape[1] % SHAPE_BUCKET == 0
            assert g.heights_m.dtype == np.float32 and not g.heights_m.flags.writeable
            assert np.all(np.isfinite(g.heights_m))
        for parent, child in zip(model.levels[:-1], model.levels[1:], strict=True):
            assert (
                parent.origin_downrange_m < child.origin_downrange_m
                and child.end_downrange_m < parent.end_downrange_m
            )
            assert (
                parent.origin_crossrange_m < child.origin_crossrange_m
                and child.end_crossrange_m < parent.end_crossrange_m
            )


def test_fine_detail_is_present_inside_and_tapered_at_the_edge():
    # Without the taper the jump would be the fine detail itself (craters, roughness: metres).
    model = site_elevation(small_terrain(roughness_rms_slope_deg=5.0), onboard=False)
    coarse, fine = model.levels[1], model.levels[2]
    x, y = fine.nodes()
    inner = (np.abs(x) < 600.0)[:, None] & (np.abs(y) < 600.0)[None, :]
    diff = np.asarray(fine.heights_m, np.float64) - bilinear(coarse, x[:, None], y[None, :])[0]
    assert np.std(diff[inner]) > 0.5
    assert _max_border_jump(model) < 1e-3


@pytest.mark.parametrize("name", SITES)
def test_memory_per_site_within_budget(name):
    truth = site_elevation(site_terrain(name), onboard=False)
    onboard = site_elevation(site_terrain(name), onboard=True)
    assert truth.nbytes <= 12 * 2**20 and truth.nbytes + onboard.nbytes <= 25 * 2**20


def test_build_time_per_site_under_three_seconds():
    # A fresh seed defeats the cache: this is the cost a worker pays once per process.
    terrain = site_terrain("atlas_crater").model_copy(update={"seed": 987654})
    t0 = time.perf_counter()
    site_elevation(terrain, onboard=False)
    truth_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    site_elevation(terrain, onboard=True)
    map_s = time.perf_counter() - t0
    assert truth_s < 3.0 and map_s < 3.0, (truth_s, map_s)
    t0 = time.perf_counter()
    site_elevation(terrain, onboard=False)
    assert time.perf_counter() - t0 < 0.01  # cached


def test_level_outside_its_parent_names_field_value_and_allowed_range():
    levels = [dict(lv) for lv in SMALL_LEVELS]
    levels[2] = {"step_m": 5.0, "downrange_km": [-1.0, 1.0], "crossrange_km": [-1.0, 3.0]}
    with pytest.raises(ConfigError) as exc:
        site_elevation(small_terrain(levels=levels), onboard=False)
    msg = str(exc.value)
    assert (
        exc.value.field == "terrain.levels[2].crossrange_km"
        and "[-1.0, 3.0]" in msg
        and "strictly inside" in msg
    )


def test_step_must_divide_the_parent_step():
    levels = [dict(lv) for lv in SMALL_LEVELS]
    levels[1] = dict(levels[1], step_m=30.0)
    with pytest.raises(ConfigError, match=r"terrain.levels\[1\].step_m' = 30.*divide the parent's step 400"):
        site_elevation(small_terrain(levels=levels), onboard=False)


def test_too_much_memory_is_refused():
    levels = [{"step_m": 20.0, "downrange_km": [-100.0, 10.0], "crossrange_km": [-20.0, 20.0]}]
    with pytest.raises(ConfigError, match=r"terrain.levels.*MiB"):
        site_elevation(small_terrain(levels=levels), onboard=False)


def test_same_seed_same_bytes_other_seed_differs():
    a = site_elevation(small_terrain(seed=11), onboard=False)
    # A spec that only differs in per-sample map errors hits the same cache entry; rebuild from scratch.
    from riskengine.terrain import _build

    _build._truth.cache_clear()
    _build.content.cache_clear()
    b = site_elevation(small_terrain(seed=11), onboard=False)
    c = site_elevation(small_terrain(seed=12), onboard=False)
    assert a is not b
    for ga, gb, gc in zip(a.levels, b.levels, c.levels, strict=True):
        assert ga.heights_m.tobytes() == gb.heights_m.tobytes()
        assert ga.heights_m.tobytes() != gc.heights_m.tobytes()
    assert site_elevation(small_terrain(seed=11, map_offset_m=40.0), onboard=False) is site_elevation(
        small_terrain(seed=11), onboard=False
    )


def test_target_is_at_height_zero():
    for name in SITES:
        model = site_elevation(site_terrain(name), onboard=False)
        assert abs(float(model.height_m(0.0, 0.0))) < 1e-3
