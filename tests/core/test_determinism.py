"""Counter-based randomness: a sample depends on (key, index) only."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.core import Params, simulate_batch
from tests.core.test_invariants import DISPERSED


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_same_key_gives_bit_identical_results(frigoris_params: Params):
    idx = jnp.arange(8, dtype=jnp.int32)
    a = simulate_batch(frigoris_params, DISPERSED, jax.random.key(42), idx)
    b = simulate_batch(frigoris_params, DISPERSED, jax.random.key(42), idx)
    for x, y in zip(_leaves(a), _leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_sample_alone_equals_sample_in_batch(frigoris_params: Params):
    key = jax.random.key(7)
    batch = simulate_batch(frigoris_params, DISPERSED, key, jnp.arange(10, 18, dtype=jnp.int32))
    alone = simulate_batch(frigoris_params, DISPERSED, key, jnp.array([13], dtype=jnp.int32))
    shuffled = simulate_batch(frigoris_params, DISPERSED, key, jnp.array([17, 13, 11], dtype=jnp.int32))
    for whole, one, mixed in zip(_leaves(batch), _leaves(alone), _leaves(shuffled), strict=True):
        np.testing.assert_array_equal(whole[3], one[0])
        np.testing.assert_array_equal(whole[3], mixed[1])
        np.testing.assert_array_equal(whole[7], mixed[0])


def test_sample_identical_across_block_boundaries(frigoris_params: Params):
    # 1100 samples run as two 1024-lane blocks; sample 1050 sits in the second block there and alone here.
    from riskengine.core.engine import BLOCK_LANES

    key = jax.random.key(9)
    big = simulate_batch(frigoris_params, DISPERSED, key, jnp.arange(BLOCK_LANES + 76, dtype=jnp.int32))
    alone = simulate_batch(frigoris_params, DISPERSED, key, jnp.array([BLOCK_LANES + 26, 5], dtype=jnp.int32))
    for whole, one in zip(_leaves(big), _leaves(alone), strict=True):
        np.testing.assert_array_equal(whole[BLOCK_LANES + 26], one[0])
        np.testing.assert_array_equal(whole[5], one[1])


def test_different_keys_differ(frigoris_params: Params):
    idx = jnp.arange(4, dtype=jnp.int32)
    a = simulate_batch(frigoris_params, DISPERSED, jax.random.key(1), idx)
    b = simulate_batch(frigoris_params, DISPERSED, jax.random.key(2), idx)
    assert not np.array_equal(np.asarray(a.duration_s), np.asarray(b.duration_s))


def test_counterfactual_masks_remove_exactly_the_masked_dispersions(frigoris_params: Params):
    # ``drawn``: all True is the sample itself, bit for bit; all False is the undispersed scenario flown
    # with the sample's own initial draws and noise (the same result as a dispersion of the same paths
    # whose every draw is the undispersed value: same paths, so the same compiled program); a sample with
    # one path removed differs from both.
    from riskengine.core import Dispersion, get_path
    from riskengine.core.dispersion import FIXED

    key = jax.random.key(11)
    idx = jnp.array([3, 4], dtype=jnp.int32)
    d = len(DISPERSED.paths)
    own = simulate_batch(frigoris_params, DISPERSED, key, idx)
    drawn = simulate_batch(frigoris_params, DISPERSED, key, idx, np.ones((2, d), bool))
    for x, y in zip(_leaves(own), _leaves(drawn), strict=True):
        np.testing.assert_array_equal(x, y)
    none = simulate_batch(frigoris_params, DISPERSED, key, idx, np.zeros((2, d), bool))
    pinned = Dispersion.from_rows(
        {p: (FIXED, float(get_path(frigoris_params, p)), 0.0, 0.0, 0.0) for p in DISPERSED.paths}
    )
    assert pinned.paths == DISPERSED.paths
    undispersed = simulate_batch(frigoris_params, pinned, key, idx)
    for x, y in zip(_leaves(none), _leaves(undispersed), strict=True):
        np.testing.assert_array_equal(x, y)
    one_removed = np.ones((2, d), bool)
    one_removed[:, 0] = False
    partial = simulate_batch(frigoris_params, DISPERSED, key, idx, one_removed)
    for other in (own, none):
        assert not np.array_equal(np.asarray(partial.duration_s), np.asarray(other.duration_s))
