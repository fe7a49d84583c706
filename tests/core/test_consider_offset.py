"""The altimeter's terrain offset as a Schmidt consider parameter (navigation.range_update), against the
scalar recursion it reduces to: one vertical beam over level ground sees ``y = dz + c + v``."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from riskengine.config import ScenarioSpec, build_params
from riskengine.core import navigation

R_M = 2.0  # reading sigma
C_SIGMA_M = 4.0  # offset sigma
L_M = 100.0  # its decorrelation distance
P0_M = 50.0  # prior vertical sigma


def _filter_and_nav(scale: float = 1.0):
    nav = build_params(ScenarioSpec(), "mare_frigoris").navigation.replace(
        assumed_map_sigma_m=jnp.float32(0.0),
        offset_sigma_m=jnp.float32(C_SIGMA_M),
        offset_correlation_m=jnp.float32(L_M),
        terrain_offset_scale=jnp.float32(scale),
        gate_sigma=jnp.float32(1e3),
        max_consecutive_rejections=jnp.float32(0.0),
    )
    f = navigation.initial_filter(nav, jnp.eye(3, dtype=jnp.float32), 1)
    cov = jnp.zeros_like(f.cov).at[2, 2].set(P0_M**2)  # only the vertical position is uncertain
    return f.replace(cov=cov), nav


_update = jax.jit(navigation.range_update, static_argnums=(9,))


def _read(f, nav, spot_x_m: float, valid: bool = True):
    up = jnp.array([0.0, 0.0, 1.0], jnp.float32)
    spot = jnp.array([spot_x_m, 0.0, 0.0], jnp.float32)
    f, _ = _update(
        f, nav, -up, up, jnp.float32(0.0), jnp.float32(100.0), jnp.float32(100.0), jnp.float32(R_M),
        jnp.bool_(valid), 0, spot,
    )  # fmt: skip
    return f


def _recursion(spots_m: list[float], scale: float = 1.0) -> list[tuple[float, float]]:
    """Schmidt's scalar consider filter (Tapley, Schutz and Born 2004, sec. 6.3) in float64: P the state's
    variance, X its covariance with the offset, C the offset's variance (never updated), h = h_c = 1; the
    offset decays by exp(-moved / L) between readings (first-order Gauss-Markov in distance)."""
    p, x, c, r = P0_M**2, 0.0, (scale * C_SIGMA_M) ** 2, R_M**2
    out, last = [], math.inf
    for s in spots_m:
        x *= 0.0 if math.isinf(last) else math.exp(-abs(s - last) / L_M)
        last = s
        big_s = p + 2.0 * x + c + r
        k = (p + x) / big_s
        p, x = p - k * k * big_s, x - k * (x + c)
        out.append((p, x))
    return out


@pytest.mark.parametrize(
    ("spots", "scale"),
    [([0.0] * 6, 1.0), ([0.0, 30.0, 80.0, 80.0, 500.0, 510.0], 1.0), ([0.0] * 4, 0.0)],
)
def test_range_update_is_schmidts_consider_update(spots, scale):
    f, nav = _filter_and_nav(scale)
    for s, (p, x) in zip(spots, _recursion(spots, scale), strict=True):
        f = _read(f, nav, s)
        assert float(f.cov[2, 2]) == pytest.approx(p, rel=1e-4, abs=1e-4)
        assert float(f.cross_cov[2, 0]) == pytest.approx(x, rel=1e-4, abs=1e-4)


def test_one_persistent_offset_is_not_averaged_away():
    # Readings at one spot: the estimate's error tends to -c, so its variance to C, however many readings;
    # white-noise averaging (no consider) would take it to R / n. Spots moving far apart between readings
    # make the offsets independent, and averaging works again.
    f, nav = _filter_and_nav()
    for _ in range(400):
        f = _read(f, nav, 0.0)
    assert float(f.cov[2, 2]) == pytest.approx(C_SIGMA_M**2, rel=0.02)
    assert float(f.cross_cov[2, 0]) == pytest.approx(-(C_SIGMA_M**2), rel=0.02)
    g, nav = _filter_and_nav()
    for i in range(400):
        g = _read(g, nav, 10.0 * L_M * i)
    assert float(g.cov[2, 2]) < 0.05 * C_SIGMA_M**2
    assert float(np.sqrt(g.cov[2, 2])) == pytest.approx(math.sqrt((C_SIGMA_M**2 + R_M**2) / 400), rel=0.05)


def test_an_invalid_reading_changes_nothing():
    f, nav = _filter_and_nav()
    f = _read(f, nav, 0.0)
    g = _read(f, nav, 1e4, valid=False)
    for a, b in zip(jax.tree_util.tree_leaves(f), jax.tree_util.tree_leaves(g), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
