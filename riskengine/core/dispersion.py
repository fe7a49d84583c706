"""Per-sample parameter dispersion, applied inside the batch from the sample's own key.

A :class:`Dispersion` names scalar parameters by dotted path (``"altimeter.acquisition_delay_s"``) and
gives each a distribution. Sampling happens inside the jitted batch from ``fold_in(key, parameter index)``
of the sample's key, so a sample's parameters depend only on (seed, sample index), never on the batch.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from riskengine.core._pytree import PyTree, pytree_dataclass, static_field
from riskengine.core.params import Array, Params

FIXED, NORMAL, TRUNCNORMAL, UNIFORM = 0, 1, 2, 3
KINDS: dict[str, int] = {"fixed": FIXED, "normal": NORMAL, "truncnormal": TRUNCNORMAL, "uniform": UNIFORM}


@pytree_dataclass
class Dispersion(PyTree):
    """Distributions for scalar parameters. Row ``i`` describes ``paths[i]``.

    fixed: ``a``; normal: mean ``a``, std ``b``; truncnormal: mean ``a``, std ``b`` within [low, high];
    uniform: [low, high].
    """

    kind: Array  # (D,) int32
    a: Array  # (D,) float32
    b: Array
    low: Array
    high: Array
    paths: tuple[str, ...] = static_field(default=())

    @staticmethod
    def empty() -> Dispersion:
        z = jnp.zeros((0,), jnp.float32)
        return Dispersion(kind=jnp.zeros((0,), jnp.int32), a=z, b=z, low=z, high=z, paths=())

    @staticmethod
    def from_rows(rows: dict[str, tuple[int, float, float, float, float]]) -> Dispersion:
        """Build from ``{path: (kind, a, b, low, high)}``; paths are sorted so order never matters."""
        paths = tuple(sorted(rows))
        table = np.array([rows[p][1:] for p in paths], dtype=np.float32).reshape(len(paths), 4)
        return Dispersion(
            kind=jnp.asarray([rows[p][0] for p in paths], dtype=jnp.int32),
            a=jnp.asarray(table[:, 0]),
            b=jnp.asarray(table[:, 1]),
            low=jnp.asarray(table[:, 2]),
            high=jnp.asarray(table[:, 3]),
            paths=paths,
        )


def get_path(params: Params, path: str) -> Any:
    obj: Any = params
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def set_path(params: Any, path: str, value: Array) -> Any:
    head, _, rest = path.partition(".")
    child = getattr(params, head)
    return params.replace(**{head: set_path(child, rest, value) if rest else value})


def _draw(kind: Array, a: Array, b: Array, low: Array, high: Array, key: Array) -> Array:
    k_norm, k_trunc, k_unif = jax.random.split(key, 3)
    safe_b = jnp.maximum(b, 1e-30)
    normal = a + b * jax.random.normal(k_norm, dtype=jnp.float32)
    trunc = a + b * jax.random.truncated_normal(
        k_trunc, (low - a) / safe_b, (high - a) / safe_b, dtype=jnp.float32
    )
    uniform = jax.random.uniform(k_unif, dtype=jnp.float32, minval=low, maxval=high)
    out = jnp.where(kind == NORMAL, normal, a)
    out = jnp.where(kind == TRUNCNORMAL, trunc, out)
    return jnp.where(kind == UNIFORM, uniform, out)


def apply_dispersion(
    params: Params, dispersion: Dispersion, key: Array, drawn: Array | None = None
) -> Params:
    """Parameters of one sample: each dispersed path drawn from ``fold_in(key, i)``.

    ``drawn`` (D,) bool, optional: where False, path ``i`` keeps its undispersed value in ``params`` (a
    counterfactual: the same sample with some of its dispersions removed, every other draw unchanged).
    """
    for i, path in enumerate(dispersion.paths):
        value = _draw(
            dispersion.kind[i],
            dispersion.a[i],
            dispersion.b[i],
            dispersion.low[i],
            dispersion.high[i],
            jax.random.fold_in(key, i),
        )
        base = get_path(params, path)
        value = value.astype(base.dtype)
        params = set_path(params, path, value if drawn is None else jnp.where(drawn[i], value, base))
    return params
