"""Section 3: paired monotonicity. P(success) must not rise with sensor latency nor fall with fuel margin.

Adjacent cells of an axis are flown on the same samples (common random numbers), so each pair is compared
with McNemar's test on the discordant samples: a wrong-direction difference with |z| > 3 fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from riskengine.validation import cells
from riskengine.validation.section import Check, Figure, SectionResult, Table, new_figure, to_png
from riskengine.validation.sizing import MONOTONIC_LATENCY_S, MONOTONIC_MARGIN_PCT, Sizes
from riskengine.validation.stats import mcnemar, wilson_interval

KEY, TITLE = "monotonicity", "Paired monotonicity over latency and fuel margin"

Z_LIMIT = 3.0
NON_INCREASING, NON_DECREASING = -1, +1


@dataclass(frozen=True)
class PairRow:
    """Adjacent cells A -> B of one axis. ``b``: A landed, B did not; ``c``: B landed, A did not."""

    a_value: float
    b_value: float
    p_a: float
    p_b: float
    b: int
    c: int
    z: float
    p_exact: float
    wrong_direction: bool
    violation: bool


def paired_monotonicity(
    values: Sequence[float], success: np.ndarray, direction: int, z_limit: float = Z_LIMIT
) -> list[PairRow]:
    """McNemar's test on each adjacent pair of ``success`` (cells, N) bool, cells ordered as ``values``.

    ``direction``: NON_DECREASING (+1) or NON_INCREASING (-1), the expected sign of P(B) - P(A).
    """
    s = np.asarray(success, dtype=bool)
    if s.ndim != 2 or s.shape[0] != len(values):
        raise ValueError(f"success must be (cells={len(values)}, samples), got {s.shape}")
    if direction not in (NON_INCREASING, NON_DECREASING):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    rows = []
    for i in range(len(values) - 1):
        m = mcnemar(s[i], s[i + 1])
        wrong = direction * (m.c - m.b) < 0
        rows.append(
            PairRow(
                a_value=float(values[i]),
                b_value=float(values[i + 1]),
                p_a=float(s[i].mean()),
                p_b=float(s[i + 1].mean()),
                b=m.b,
                c=m.c,
                z=m.z,
                p_exact=m.p_exact,
                wrong_direction=bool(wrong),
                violation=bool(wrong and abs(m.z) > z_limit),
            )
        )
    return rows


def worst_wrong_z(rows: Sequence[PairRow]) -> float:
    """Largest |z| among wrong-direction pairs (0 when every pair goes the expected way)."""
    return max((abs(r.z) for r in rows if r.wrong_direction), default=0.0)


# (axis name, unit, expected direction)
AXES = (("sensor_latency_s", "s", NON_INCREASING), ("fuel_margin_pct", "%", NON_DECREASING))


def _axis_cells(sizes: Sizes, axis: str) -> list[tuple[float, float]]:
    """(latency s, margin %) of each cell along ``axis``."""
    if axis == "sensor_latency_s":
        return [(v, MONOTONIC_MARGIN_PCT) for v in sizes.latency_axis_s]
    return [(MONOTONIC_LATENCY_S, v) for v in sizes.margin_axis_pct]


def _plot(curves: dict[tuple[str, str], tuple[list[float], np.ndarray]], sites: Sequence[str]) -> Figure:
    fig = new_figure(10.0, 4.0)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (axis, unit, direction) in zip(axes, AXES, strict=True):
        for j, site in enumerate(sites):
            values, success = curves[(site, axis)]
            k, n = success.sum(axis=1), success.shape[1]
            p = k / n
            lo, hi = np.array([wilson_interval(int(x), n) for x in k]).T
            offset = (j - 0.5 * (len(sites) - 1)) * 0.006 * (max(values) - min(values) or 1.0)
            ax.errorbar(
                np.asarray(values) + offset, p, yerr=[p - lo, hi - p], fmt="o-", capsize=3, label=site
            )
        fixed = (
            f"margin {MONOTONIC_MARGIN_PCT:g} %"
            if axis == "sensor_latency_s"
            else f"latency {MONOTONIC_LATENCY_S:g} s"
        )
        ax.set_xlabel(f"{axis} ({unit}), {fixed}")
        ax.set_title(f"expected {'non-increasing' if direction < 0 else 'non-decreasing'}", fontsize=9)
    axes[0].set_ylabel("P(landed), 95 % Wilson interval")
    axes[0].legend(fontsize=8)
    return to_png(fig, "P(landed) along each axis (paired samples; intervals are per cell)")


def run(sizes: Sizes) -> SectionResult:
    n, seed = sizes.monotonic_samples, sizes.seed
    checks, pair_rows, cell_rows, data = [], [], [], []
    curves: dict[tuple[str, str], tuple[list[float], np.ndarray]] = {}
    for site in sizes.sites:
        for axis, unit, direction in AXES:
            cell_list = _axis_cells(sizes, axis)
            success = np.stack(
                [cells.success(cells.run_cell(site, lat, mar, n, seed)) for lat, mar in cell_list]
            )
            values = [lat if axis == "sensor_latency_s" else mar for lat, mar in cell_list]
            curves[(site, axis)] = (values, success)
            rows = paired_monotonicity(values, success, direction)
            worst = worst_wrong_z(rows)
            checks.append(
                Check(
                    f"{site}: worst wrong-direction |z| along {axis}",
                    worst,
                    f"<= {Z_LIMIT:g}",
                    worst <= Z_LIMIT,
                )
            )
            for (lat, mar), s in zip(cell_list, success, strict=True):
                lo, hi = wilson_interval(int(s.sum()), n)
                cell_rows.append((site, axis, lat, mar, n, int(s.sum()), s.mean(), lo, hi))
            for r in rows:
                verdict = "FAIL" if r.violation else ("wrong way, |z| <= 3" if r.wrong_direction else "ok")
                pair_rows.append(
                    (
                        site,
                        axis,
                        f"{r.a_value:g} -> {r.b_value:g} {unit}",
                        r.p_a,
                        r.p_b,
                        r.p_b - r.p_a,
                        r.b,
                        r.c,
                        r.z,
                        r.p_exact,
                        verdict,
                    )
                )
                data.append({"site": site, "axis": axis, **asdict(r)})
    return SectionResult(
        KEY,
        TITLE,
        checks=tuple(checks),
        tables=(
            Table.of(
                "Adjacent pairs: McNemar on paired samples",
                (
                    "site",
                    "axis",
                    "A -> B",
                    "P(A)",
                    "P(B)",
                    "P(B)-P(A)",
                    "b (A only)",
                    "c (B only)",
                    "z",
                    "exact p",
                    "verdict",
                ),
                pair_rows,
            ),
            Table.of(
                "Cells",
                (
                    "site",
                    "axis",
                    "latency (s)",
                    "margin (%)",
                    "n",
                    "landed",
                    "P(landed)",
                    "95 % lo",
                    "95 % hi",
                ),
                cell_rows,
            ),
        ),
        figures=(_plot(curves, sizes.sites),),
        notes=(
            f"Scenario and dispersions of the '{cells.STUDY_PRESET}' study preset; {n} samples per cell, sample "
            f"indices 0..{n - 1} under seed {seed} in every cell (paired).",
            "z = (c - b) / sqrt(b + c) (0 when b + c = 0); exact p: two-sided binomial test of b against Bin(b + c, 1/2).",
            f"A pair fails when P(B) - P(A) has the wrong sign and |z| > {Z_LIMIT:g}.",
        ),
        data={"samples_per_cell": n, "pairs": data},
    )
