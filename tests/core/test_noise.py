"""The per-step noise stream: right moments, uniform, uncorrelated across steps, streams and samples."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from riskengine.core import noise

N_SEEDS, N_STEPS = 256, 200


def _uniforms() -> np.ndarray:
    seeds = jax.vmap(noise.lane_seed)(jax.random.split(jax.random.key(5), N_SEEDS))
    steps = jnp.arange(N_STEPS, dtype=jnp.int32)
    u = jax.vmap(lambda s: jax.vmap(lambda k: noise.uniforms(s, k, 8))(steps))(seeds)
    return np.asarray(u)  # (seed, step, stream)


def test_uniforms_are_uniform_on_open_interval():
    u = _uniforms().ravel()
    assert u.min() > 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002


def test_no_correlation_between_steps_streams_or_samples():
    u = _uniforms() - 0.5
    n = u[:, 1:, :].size
    limit = 5.0 / np.sqrt(n)  # 5 sigma of a sample correlation of independent variables
    lag1 = np.mean(u[:, 1:, :] * u[:, :-1, :]) * 12
    cross_stream = np.mean(u[:, :, 0] * u[:, :, 1]) * 12
    cross_sample = np.mean(u[1:, :, :] * u[:-1, :, :]) * 12
    assert abs(lag1) < limit and abs(cross_stream) < limit and abs(cross_sample) < limit


def test_gaussian_and_centred_have_the_right_moments_and_tails():
    u = _uniforms().ravel()
    z = np.asarray(noise.gaussian(jnp.asarray(u)))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    assert stats.kstest(z, "norm").pvalue > 1e-3
    tail = np.mean(np.abs(z) > 3.0)  # 0.27 % for a normal: the innovation gate lives here
    assert 0.0015 < tail < 0.0040
    c = np.asarray(noise.centred(jnp.asarray(u)))
    assert abs(c.mean()) < 0.01 and abs(c.std() - 1.0) < 0.01
