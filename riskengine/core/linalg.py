"""Small matrix products written as elementwise multiplies and short sums.

Under ``vmap`` a ``jnp.matmul`` of (3, 3) or (12, 12) operands becomes a batched ``dot_general``, which
XLA's CPU backend may lower with a different summation order for different batch sizes (a 64-lane and
a 1024-lane block then round differently); a sample's bits would depend on the batch it ran in
(tests/core/test_determinism.py). Elementwise products reduced over a short axis keep one order.
"""

from __future__ import annotations

import jax.numpy as jnp

from riskengine.core.params import Array


def matvec(m: Array, v: Array) -> Array:
    """``m @ v`` for ``m`` (n, k) and ``v`` (k,)."""
    return (m * v[None, :]).sum(axis=1)


def rmatvec(m: Array, v: Array) -> Array:
    """``m.T @ v`` for ``m`` (k, n) and ``v`` (k,)."""
    return (m * v[:, None]).sum(axis=0)


def matmul(a: Array, b: Array) -> Array:
    """``a @ b`` for ``a`` (n, k) and ``b`` (k, m)."""
    return (a[:, :, None] * b[None, :, :]).sum(axis=1)


def solve_spd(m: Array, v: Array) -> Array:
    """``m^-1 v`` for a small symmetric positive-definite ``m`` (n, n) and ``v`` (n,): Cholesky, unrolled
    over the static ``n`` (a handful of scalar operations for the altimeter's few beams)."""
    n = m.shape[0]
    low: list[list[Array]] = [[jnp.zeros((), m.dtype)] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = m[i, j] - sum((low[i][k] * low[j][k] for k in range(j)), jnp.zeros((), m.dtype))
            low[i][j] = jnp.sqrt(s) if i == j else s / low[j][j]
    y: list[Array] = []
    for i in range(n):
        y.append((v[i] - sum((low[i][k] * y[k] for k in range(i)), jnp.zeros((), m.dtype))) / low[i][i])
    x: list[Array] = [jnp.zeros((), m.dtype)] * n
    for i in reversed(range(n)):
        x[i] = (y[i] - sum((low[k][i] * x[k] for k in range(i + 1, n)), jnp.zeros((), m.dtype))) / low[i][i]
    return jnp.stack(x)
