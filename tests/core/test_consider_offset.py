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
    offset decays by exp(-moved / L) between readings (first-order Gauss-Markov in distance), its white
    nugget N apart (``navigation.NUGGET``: C (1 + N), decay over 1 + N)."""
    nugget = navigation.NUGGET
    p, x, c, r = P0_M**2, 0.0, (scale * C_SIGMA_M) ** 2 * (1.0 + nugget), R_M**2
    out, last = [], math.inf
    for s in spots_m:
        x *= 0.0 if math.isinf(last) else math.exp(-abs(s - last) / L_M) / (1.0 + nugget)
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


def _kriging_recursion(reads: list[tuple[int, float]], beams: int = 2) -> list[tuple[float, list[float]]]:
    """The recursion with several beams (consider vector c): the offsets are one field with correlation
    ``exp(-d / L)`` (plus the nugget) between the beams' spots; a beam moving to a new spot carries its
    cross-covariance over as ``X a``, ``a`` the simple-kriging weights of the new spot on the current
    ones, and each update carries its beam's whole ``P_cc`` row. float64, NumPy's solver."""
    p, c, r = P0_M**2, C_SIGMA_M**2, R_M**2
    x = np.zeros(beams)
    spots = np.full(beams, np.nan)

    def corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(a) | np.isnan(b), 0.0, np.exp(-np.abs(np.nan_to_num(a - b)) / L_M))

    out = []
    for beam, s in reads:
        big_k = corr(spots[:, None], spots[None, :]) + navigation.NUGGET * np.eye(beams)
        np.fill_diagonal(big_k, 1.0 + navigation.NUGGET)
        x[beam] = x @ np.linalg.solve(big_k, corr(np.float64(s), spots))
        spots[beam] = s
        row = c * corr(np.float64(s), spots)
        row[beam] = c * (1.0 + navigation.NUGGET)
        big_s = p + 2.0 * x[beam] + row[beam] + r
        k = (p + x[beam]) / big_s
        x = x - k * (x + row)
        p = p - k * k * big_s
        out.append((p, list(x)))
    return out


def _read_beam(f, nav, beam: int, spot_x_m: float):
    up = jnp.array([0.0, 0.0, 1.0], jnp.float32)
    spot = jnp.array([spot_x_m, 0.0, 0.0], jnp.float32)
    f, _ = _update(
        f, nav, -up, up, jnp.float32(0.0), jnp.float32(100.0), jnp.float32(100.0), jnp.float32(R_M),
        jnp.bool_(True), beam, spot,
    )  # fmt: skip
    return f


@pytest.mark.parametrize("apart_m", [0.0, 40.0, 1e4])
def test_beams_offsets_are_one_field_sampled_at_their_spots(apart_m):
    f, nav = _filter_and_nav()
    f = navigation.initial_filter(nav, jnp.eye(3, dtype=jnp.float32), 2).replace(cov=f.cov)
    # Both beams creep along the ground, ``apart_m`` apart.
    reads = [(i % 2, 0.5 * i + (i % 2) * apart_m) for i in range(60)]
    for (beam, s), (p, x) in zip(reads, _kriging_recursion(reads), strict=True):
        f = _read_beam(f, nav, beam, s)
        assert float(f.cov[2, 2]) == pytest.approx(p, rel=2e-3, abs=1e-3)
        np.testing.assert_allclose(np.asarray(f.cross_cov[2]), x, rtol=2e-3, atol=1e-3)
    if apart_m == 0.0:  # one spot, one offset: two beams are no better than one
        one, _ = _filter_and_nav()
        for _beam, s in reads:
            one = _read(one, nav, s)
        assert float(f.cov[2, 2]) == pytest.approx(float(one.cov[2, 2]), rel=0.02)
    if apart_m > 10 * L_M:  # two independent offsets: their mean, C / 2 as the spots barely move
        assert float(f.cov[2, 2]) < 0.6 * C_SIGMA_M**2
        assert float(f.cov[2, 2]) > 0.4 * C_SIGMA_M**2
