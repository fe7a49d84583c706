"""Small matrix products written as elementwise multiplies and short sums.

Under ``vmap`` a ``jnp.matmul`` of (3, 3) or (12, 12) operands becomes a batched ``dot_general``, which
XLA's CPU backend may lower with a different summation order for different batch sizes (a 64-lane and
a 1024-lane block then round differently); a sample's bits would depend on the batch it ran in
(tests/core/test_determinism.py). Elementwise products reduced over a short axis keep one order.
"""

from __future__ import annotations

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
