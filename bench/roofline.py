"""Roofline: the engine's floating-point work per trajectory-step (XLA's own count) against the CPU's
measured float32 peak.

``flops_per_lane_step`` comes from ``cost_analysis()`` of the compiled, vmapped step over a fixed-length
``lax.scan`` (no early exit), divided by steps and lanes; the peak is a large float32 matmul timed here.
``roofline_fraction = flops_per_lane_step * achieved trajectory-steps/s / peak``.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp

from bench.inputs import study_inputs
from riskengine.core import apply_dispersion, init, step
from riskengine.core.engine import _keys
from riskengine.core.noise import lane_seed


def _flops(compiled: Any) -> float:
    cost = compiled.cost_analysis()
    if isinstance(cost, list | tuple):  # older jax returned one dict per device
        cost = cost[0]
    return float(cost.get("flops", float("nan")))


def flops_per_lane_step(
    lanes: int = 1024, steps: int = 20, check_loop: bool = True
) -> dict[str, float | None]:
    """XLA's flop count for ``steps`` scanned steps of ``lanes`` descents, per lane-step.

    ``check_loop``: also compile a scan twice as long: XLA's cost analysis may count a loop body once
    rather than per trip, so the per-step figure is taken from whichever count grows with the length.
    """
    params, dispersion = study_inputs(spread_latency=True)

    def states(idx: jax.Array) -> tuple[Any, Any, jax.Array]:
        def one(i: jax.Array) -> tuple[Any, Any, jax.Array]:
            k = jax.random.fold_in(jax.random.key(0), i)
            k_disp, k_init, k_noise = _keys(k)
            p = apply_dispersion(params, dispersion, k_disp)
            return p, init(p, k_init), lane_seed(k_noise)

        return jax.vmap(one)(idx)

    p, s, seed = jax.jit(states)(jnp.arange(lanes, dtype=jnp.int32))

    def run(n: int) -> Any:
        def f(p: Any, s: Any, seed: jax.Array) -> Any:
            body = jax.vmap(step)
            return jax.lax.scan(lambda c, _: (body(p, c, seed), None), s, None, length=n)[0]

        return jax.jit(f).lower(p, s, seed).compile()

    if not check_loop:  # one step: the count is exact however XLA counts loops (one compile, not two)
        f = _flops(run(1))
        return {"flops_per_lane_step": f / lanes, "flops_scan_n": f, "flops_scan_2n": None,
                "lanes": lanes, "steps": 1}  # fmt: skip
    f1, f2 = _flops(run(steps)), _flops(run(2 * steps))
    per_trip = (f2 - f1) / (steps * lanes)  # grows with the length: counted per trip
    once = f1 / lanes  # the body counted once
    per_step = per_trip if per_trip > 0.5 * once / steps and per_trip > 0 else once
    return {"flops_per_lane_step": per_step, "flops_scan_n": f1, "flops_scan_2n": f2, "lanes": lanes,
            "steps": steps}  # fmt: skip


def peak_flops(n: int = 2048, repeats: int = 5) -> float:
    """Best float32 FLOP/s of an ``n x n`` matmul on this machine (all cores XLA uses)."""
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    mm = jax.jit(jnp.matmul)
    mm(a, b).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        mm(a, b).block_until_ready()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best
