"""A closed-form kernel with known success probability: for tests, benchmarks of the machinery, demos.

Per sample ``i`` of a cell with key ``k``: ``u = uniform(fold_in(k, i))``; success iff ``u < p`` with::

    p = sigmoid(site_logit[site] + 0.12 * fuel_margin_pct - 0.06 * sensor_latency_s + logit_shift)

Failures are split over the failure outcomes in fixed proportions. Metrics: vertical speed
``speed_scale * U(0, 2)`` (so Uniform(0, 3) m/s at the default scale), horizontal speed Exponential
(mean 0.5 m/s), propellant ``need * margin / 100 + U(0, 5)`` kg, miss distance Rayleigh(50 m); all NaN
on ``timeout``. Touchdown point (m, site track frame): ``x = 50 + 300 z0``, ``y = 75 z0 + 80 z1`` (standard
normal ``z`` from ``fold_in(fold_in(k, i), 0x7D)``, apart from the other draws), NaN on ``timeout``; a
``tip_over`` counts as the slope/rock hazard. Terrain hazard map (``hazard_terrain``), a stand-in with no
terrain behind it: ``1 - exp(-r^2 / (2 (400 m)^2))`` at each bin centre, ``r`` its distance from the target. Fault injection for tests: ``crash_cells`` kill their worker process (``os._exit``) on the
first attempt, marked by a file in ``crash_marker_dir``; ``fail_cells`` raise an exception every time;
``delay_s`` sleeps per batch.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from riskengine.errors import ConfigError
from riskengine.study.kernel import METRICS, CellRef, ParamInfo, SampleBatch
from riskengine.study.landing import Touchdown, map_centres
from riskengine.study.spec import StudySpec

OUTCOMES = ("landed", "hard_landing", "tip_over", "propellant_exhausted", "crashed", "timeout")
_FAILURE_SPLIT = (0.4, 0.2, 0.2, 0.15, 0.05)  # hard_landing .. timeout
_SITE_LOGIT = {"atlas_crater": 1.0, "mare_frigoris": 2.5, "tranquility_base": 3.0}
_SITE_NEED_KG = {"atlas_crater": 320.0, "mare_frigoris": 290.0, "tranquility_base": 280.0}
_PARAMETERS: dict[str, ParamInfo] = {
    "sensor_latency_s": ParamInfo("s", 0.0, 600.0, "delay before the first valid altimeter reading"),
    "fuel_margin_pct": ParamInfo("percent", -100.0, 1000.0, "propellant above the nominal need"),
    "synthetic.logit_shift": ParamInfo("1", -20.0, 20.0, "added to the success log-odds"),
    "synthetic.speed_scale": ParamInfo("m s-1", 0.0, 10.0, "scale of the touchdown vertical speed"),
}
_DEFAULTS = {"synthetic.logit_shift": 0.0, "synthetic.speed_scale": 1.5}
_KIND = {"fixed": 0, "normal": 1, "truncnormal": 2, "uniform": 3}
_LANES = 64
HAZARD_SCALE_M = 400.0


@dataclass(frozen=True)
class BernoulliKernel:
    """Closed-form stand-in for the descent engine (see the module docstring)."""

    delay_s: float = 0.0
    crash_cells: tuple[int, ...] = ()
    crash_marker_dir: str | None = None
    fail_cells: tuple[int, ...] = ()

    name: str = "bernoulli"
    outcomes: tuple[str, ...] = OUTCOMES
    success_outcome: str = "landed"

    def site_names(self) -> Sequence[str]:
        return list(_SITE_LOGIT)

    def parameters(self) -> Mapping[str, ParamInfo]:
        return _PARAMETERS

    def canonical_name(self, name: str) -> str:
        return name

    def check_dispersions(self, spec: StudySpec) -> None:
        for name, dist in spec.dispersions.items():
            info = _PARAMETERS.get(name)
            if info is None:
                raise ConfigError(
                    f"unknown parameter {name!r}; dispersable: {sorted(_PARAMETERS)}",
                    field=f"dispersions.{name}",
                )
            d = dist.model_dump()
            if d["kind"] == "fixed":
                lo = hi = d["value"]
            elif d["kind"] == "normal":
                lo, hi = d["mean"] - 5 * d["std"], d["mean"] + 5 * d["std"]
            else:
                lo, hi = d["low"], d["high"]
            if lo < info.low or hi > info.high:
                raise ConfigError(
                    f"dispersions.{name}: support [{lo}, {hi}] leaves the physical range "
                    f"[{info.low}, {info.high}] {info.unit}",
                    field=f"dispersions.{name}",
                    value=d,
                )

    def nominal_propellant_need_kg(self, spec: StudySpec, cell: CellRef) -> float:
        return _SITE_NEED_KG[cell.site]

    def terrain_hazard(self, spec: StudySpec, cell: CellRef) -> np.ndarray:
        x, y = map_centres(spec)
        return 1.0 - np.exp(-(x[:, None] ** 2 + y[None, :] ** 2) / (2.0 * HAZARD_SCALE_M**2))

    def true_p(self, site: str, assignments: Mapping[str, float]) -> float:
        """Exact success probability of a cell when ``logit_shift`` is not dispersed."""
        a = {**_DEFAULTS, **assignments}
        z = (
            _SITE_LOGIT[site]
            + 0.12 * a["fuel_margin_pct"]
            - 0.06 * a["sensor_latency_s"]
            + a["synthetic.logit_shift"]
        )
        return 1.0 / (1.0 + math.exp(-z))

    def simulate(
        self, spec: StudySpec, cell: CellRef, cell_key: Any, sample_index: np.ndarray
    ) -> SampleBatch:
        if cell.index in self.fail_cells:
            raise FloatingPointError(f"injected failure in cell {cell.index}")
        self._maybe_crash(cell)
        if self.delay_s:
            time.sleep(self.delay_s)
        a = {**_DEFAULTS, **cell.assignment_dict()}
        base = _SITE_LOGIT[cell.site] + 0.12 * a["fuel_margin_pct"] - 0.06 * a["sensor_latency_s"]
        draws = np.array(
            [self._dist_row(spec, n, a) for n in ("synthetic.logit_shift", "synthetic.speed_scale")]
        )
        # Like the core: pad to whole blocks of _LANES so a sample's bits never depend on the batch size.
        n = len(sample_index)
        padded = np.resize(np.asarray(sample_index, dtype=np.int32), -(-n // _LANES) * _LANES)
        outcome, metrics, xy = _batch()(
            cell_key, padded, base, _SITE_NEED_KG[cell.site] * a["fuel_margin_pct"] / 100.0, draws
        )
        outcome = np.asarray(outcome)[:n]
        xy = np.asarray(xy, dtype=np.float64)[:, :n]
        touchdown = Touchdown(xy[0], xy[1], outcome == OUTCOMES.index("tip_over"))
        return SampleBatch(outcome, {m: np.asarray(metrics[i])[:n] for i, m in enumerate(METRICS)}, touchdown)

    def _dist_row(self, spec: StudySpec, name: str, a: Mapping[str, float]) -> list[float]:
        dist = spec.dispersions.get(name)
        if dist is None:
            return [0.0, a[name], 0.0, 0.0, 0.0]
        d = dist.model_dump()
        return [
            float(_KIND[d["kind"]]),
            d.get("value", d.get("mean", 0.0)),
            d.get("std", 0.0),
            d.get("low", 0.0),
            d.get("high", 0.0),
        ]

    def _maybe_crash(self, cell: CellRef) -> None:
        if cell.index not in self.crash_cells or self.crash_marker_dir is None:
            return
        marker = Path(self.crash_marker_dir) / f"crashed-cell-{cell.index}"
        if not marker.exists():
            marker.touch()
            os._exit(17)  # simulate a worker dying mid-task (OOM kill, segfault)


@functools.cache
def _batch() -> Any:
    """The jitted batch function, built once per process."""
    import jax
    import jax.numpy as jnp

    def draw(key: Any, row: Any) -> Any:
        kind, a, b, lo, hi = row[0].astype(jnp.int32), row[1], row[2], row[3], row[4]
        return jax.lax.switch(
            kind,
            [
                lambda k: a,
                lambda k: a + b * jax.random.normal(k),
                lambda k: a + b * jax.random.truncated_normal(k, (lo - a) / b, (hi - a) / b),
                lambda k: jax.random.uniform(k, minval=lo, maxval=hi),
            ],
            key,
        )

    def one(key: Any, i: Any, base: Any, margin_kg: Any, draws: Any) -> Any:
        k = jax.random.fold_in(key, i)
        k_u, k_mode, k_shift, k_scale, k_m = jax.random.split(k, 5)
        p = jax.nn.sigmoid(base + draw(k_shift, draws[0]))
        success = jax.random.uniform(k_u) < p
        cum = jnp.cumsum(jnp.asarray(_FAILURE_SPLIT))
        mode = 1 + jnp.sum(jax.random.uniform(k_mode) >= cum[:-1])
        outcome = jnp.where(success, 0, mode).astype(jnp.int32)
        u = jax.random.uniform(k_m, (4,), minval=1e-12)
        metrics = jnp.stack(
            [
                draw(k_scale, draws[1]) * 2.0 * u[0],
                -0.5 * jnp.log(u[1]),
                margin_kg + 5.0 * u[2],
                50.0 * jnp.sqrt(-2.0 * jnp.log(u[3])),
            ]
        )
        z = jax.random.normal(jax.random.fold_in(k, 0x7D), (2,))
        xy = jnp.stack([50.0 + 300.0 * z[0], 75.0 * z[0] + 80.0 * z[1]])
        timeout = outcome == len(OUTCOMES) - 1
        return outcome, jnp.where(timeout, jnp.nan, metrics), jnp.where(timeout, jnp.nan, xy)

    @jax.jit
    def batch(key: Any, index: Any, base: Any, margin_kg: Any, draws: Any) -> Any:
        outcome, metrics, xy = jax.vmap(one, in_axes=(None, 0, None, None, None))(
            key, index, base, margin_kg, draws
        )
        return outcome, metrics.T, xy.T

    return batch
