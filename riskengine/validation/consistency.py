"""Section 6: navigation-filter consistency over a Monte Carlo set (NEES per trace record, NIS per measurement).

A consistent filter's normalised estimation error squared, e^T P^-1 e over its n-dimensional error state,
is chi-square(n); averaged over N independent samples, N * mean is chi-square(n N). The band for the
average is therefore [chi2.ppf(0.025, n N) / N, chi2.ppf(0.975, n N) / N]. The same holds for the
normalised innovation squared of scalar measurements (n = 1, N = their total count). Quantiles by
Wilson-Hilferty (``stats.chi2_ppf``); records are only judged where at least ``MIN_DEFINED`` samples and
half the set define the NEES (dof >= 10, where the approximation is within 1 %).

Engine fields used (added by the navigation rewrite): ``Trace.nees``, ``Result.nis_sum``,
``Result.nis_count`` and ``riskengine.core.NAV_STATE_DIM``. Records, innovations and samples are not
independent in time, so the record band is a yardstick, not an exact test: the study set's check asks that at
least ``MIN_INSIDE_FRACTION`` of the judged records lie inside it.

The matched-truth checks (the filter's implementation) judge a window's *time-averaged* mean NEES against the
band of one record. A sample's records are strongly correlated along its flight (dead reckoning carries the
initial draw forward), so the fraction of records inside the band is nearly one draw: with the truth drawn
from the filter's own covariance, the first record's mean NEES is exactly a chi-square mean, and where that
draw lands near an edge of its band the records that follow spill over together (measured, 64 samples at
seed 20230425: first record 19.3 against a band [16.6, 19.5], 554 of 648 dead-reckoning records inside, a
fraction that was 1.0 at seed 0 on the same filter). The time average of correlated chi-square means has a
variance between that of one record (records fully correlated) and the independent limit, so one record's
band is the conservative yardstick; a wrong propagation or a missing rotation puts the average far above it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from riskengine import core
from riskengine.config import build_dispersion
from riskengine.config.distributions import Normal
from riskengine.core import EVENTS, Dispersion, Params, Result, Trace, simulate_trace, trace_length
from riskengine.core.engine import LANES
from riskengine.validation import cells
from riskengine.validation.section import Check, Figure, SectionResult, Table, new_figure, to_png
from riskengine.validation.sizing import CONSISTENCY_SITE, Sizes
from riskengine.validation.stats import chi2_mean_band

KEY, TITLE = "consistency", "Navigation consistency (NEES / NIS)"

LATENCY_S, MARGIN_PCT = 0.0, 10.0
RECORD_EVERY_STEPS = 10
MIN_DEFINED = 10
MIN_INSIDE_FRACTION = 0.90
# The traces must be the batch's samples: the median flight-time difference of the same sample flown both
# ways. The two are different XLA programs, whose float rounding differs in the last bits; with the beams'
# slant-range limit read at 2 Hz, such a difference can move the first return (and everything after it)
# by one reading, 0.5 s. Measured 0.9 s (quick sizes, 2-D sites; 0.01-0.03 s with the old vertical
# altimeter); a wrong draw would move it by tens of seconds.
MAX_MEDIAN_DURATION_DIFF_S = 2.0
# Records with the filter's vertical sigma below this are "tracking" the altimeter (per_component).
TRACKING_SIGMA_M = 10.0


def fly_traces(site: str, n: int, seed: int) -> tuple[Result, Trace, float]:
    """Samples 0..n-1 of the cell, each flown with ``simulate_trace``; returns (results, traces, record period s)."""
    return _fly(cells.cell_params(site, LATENCY_S, MARGIN_PCT), cells.dispersion(), n, seed)


def matched_inputs(site: str) -> tuple[Params, Dispersion]:
    """The cell's scenario with the truth drawn from the filter's own assumptions: initial position,
    velocity and attitude errors, accelerometer biases, scale factor and misalignment and gyro biases
    dispersed with the filter's assumed sigmas (along the PDI directions the filter's initial covariance
    uses), nothing else dispersed, no unmodelled
    acceleration (its process-noise term off) and an exact onboard map (its map-error term off).

    NEES over this set tests the filter's implementation (propagation, updates, injection); over the
    study's dispersions it tests the tuning against a truth it does not assume as well."""
    params = cells.cell_params(site, LATENCY_S, MARGIN_PCT)
    nav = params.navigation
    h, vh = float(nav.assumed_horizontal_position_sigma_m), float(nav.assumed_horizontal_velocity_sigma_mps)
    att, bias = float(nav.assumed_attitude_sigma_deg), float(nav.assumed_accel_bias_sigma_mps2)
    sigmas = {
        "navigation.initial_downrange_error_m": h,
        "navigation.initial_crossrange_error_m": h,
        "navigation.initial_altitude_error_m": float(nav.assumed_altitude_sigma_m),
        "navigation.initial_horizontal_velocity_error_mps": vh,
        "navigation.initial_crossrange_velocity_error_mps": vh,
        "navigation.initial_vertical_velocity_error_mps": float(nav.assumed_vertical_velocity_sigma_mps),
        **{f"navigation.initial_attitude_error_{a}_deg": att for a in "xyz"},
        **{f"imu.bias_{a}_mps2": bias for a in "xyz"},
        "imu.accel_scale_factor_ppm": float(nav.assumed_accel_scale_factor_ppm),
        **{f"imu.accel_misalignment_{a}_deg": float(nav.assumed_accel_misalignment_deg) for a in "xy"},
        **{f"imu.gyro_bias_{a}_dph": float(nav.assumed_gyro_bias_dph) for a in "xyz"},
    }
    disp = build_dispersion({path: Normal(mean=0.0, std=sd) for path, sd in sigmas.items()})
    zero = jnp.float32(0.0)
    params = params.replace(
        navigation=nav.replace(process_accel_sigma_mps2=zero, assumed_map_sigma_m=zero),
        terrain=params.terrain.replace(onboard=params.terrain.truth),
    )
    return params, disp


def _fly(params: Params, disp: Dispersion, n: int, seed: int) -> tuple[Result, Trace, float]:
    n_records = trace_length(params, RECORD_EVERY_STEPS)

    def one(i: jax.Array) -> tuple[Result, Trace]:
        return simulate_trace(
            cells.sample_params(params, disp, seed, i),
            cells.sample_key(seed, i),
            RECORD_EVERY_STEPS,
            n_records,
            LANES,
        )

    result, trace = jax.jit(jax.vmap(one, axis_name=LANES))(jnp.arange(n, dtype=jnp.int32))
    return jax.device_get(result), jax.device_get(trace), RECORD_EVERY_STEPS * float(params.sim.dt_s)


def live_records(t_s: np.ndarray) -> np.ndarray:
    """(N, R) bool: records taken while flying, plus the one at contact (the trace pads with the final state)."""
    t = np.asarray(t_s)
    return np.concatenate([np.ones((t.shape[0], 1), bool), np.diff(t, axis=1) > 0], axis=1)


def nees_by_record(nees: np.ndarray, live: np.ndarray, dim: int, n_samples: int) -> dict[str, np.ndarray]:
    """Per record: samples defining the NEES, their mean, the 95 % band for that mean, and whether judged."""
    defined = live & np.isfinite(nees)
    count = defined.sum(axis=0)
    total = np.where(defined, nees, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    judged = count >= max(MIN_DEFINED, math.ceil(n_samples / 2))
    lo = np.full(count.shape, np.nan)
    hi = np.full(count.shape, np.nan)
    for k in np.flatnonzero(judged):
        lo[k], hi[k] = chi2_mean_band(dim, int(count[k]))
    inside = judged & (mean >= lo) & (mean <= hi)
    return {"count": count, "mean": mean, "lo": lo, "hi": hi, "judged": judged, "inside": inside}


@dataclass(frozen=True)
class NisSummary:
    """Average NIS per scalar measurement and its 95 % band; all None without a measurement."""

    count: int
    mean: float | None
    lo: float | None
    hi: float | None

    @property
    def inside(self) -> bool:
        return (
            self.mean is not None
            and self.lo is not None
            and self.hi is not None
            and self.lo <= self.mean <= self.hi
        )


def nis_summary(nis_sum: np.ndarray, nis_count: np.ndarray) -> NisSummary:
    """Average NIS per scalar measurement over the set, and its 95 % band (dimension 1, total count)."""
    total = int(np.sum(nis_count))
    if total == 0:
        return NisSummary(0, None, None, None)
    lo, hi = chi2_mean_band(1, total)
    return NisSummary(total, float(np.sum(nis_sum, dtype=np.float64) / total), lo, hi)


def _plot(t: np.ndarray, rec: dict[str, np.ndarray], dim: int) -> Figure:
    fig = new_figure(10.0, 5.0)
    ax, ax_n = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    judged = rec["judged"]
    ax.fill_between(
        t, rec["lo"], rec["hi"], where=judged, color="C2", alpha=0.3, label="95 % band for the mean"
    )
    ax.plot(t, rec["mean"], lw=1.0, label="mean NEES")
    ax.axhline(dim, color="0.5", ls="--", lw=0.8, label=f"n = {dim}")
    ax.set_yscale("log")
    ax.set_ylabel("NEES")
    ax.legend(fontsize=8)
    ax_n.plot(t, rec["count"], color="C1")
    ax_n.set_ylabel("samples")
    ax_n.set_xlabel("time since powered-descent initiation (s)")
    flying = np.flatnonzero(rec["count"] > 0)
    if flying.size:
        ax_n.set_xlim(0.0, 1.05 * t[flying[-1]])
    return to_png(fig, "Mean NEES per trace record against its chi-square band")


def _matched(site: str, n: int, seed: int, dim: int) -> dict[str, Any]:
    """NEES and NIS over the matched-truth set (``matched_inputs``), split at the first valid reading."""
    params, disp = matched_inputs(site)
    result, trace, period_s = _fly(params, disp, n, seed)
    nees = np.asarray(trace.nees, np.float64)
    rec = nees_by_record(nees, live_records(np.asarray(trace.t_s)), dim, n)
    t = period_s * np.arange(nees.shape[1])
    first = np.asarray(result.events)[:, EVENTS.index("altimeter_first_valid"), 0]
    lock_s = float(np.nanmin(first)) if np.isfinite(first).any() else float("inf")
    nis = nis_summary(np.asarray(result.nis_sum), np.asarray(result.nis_count))
    out: dict[str, Any] = {"first_valid_reading_s": lock_s, "nis": asdict(nis), "rows": []}
    for part, window in (("dead_reckoning", t < lock_s), ("aided", t >= lock_s)):
        judged = rec["judged"] & window
        k = int(judged.sum())
        inside = int((rec["inside"] & window).sum())
        above = int((judged & (rec["mean"] > rec["hi"])).sum())
        below = int((judged & (rec["mean"] < rec["lo"])).sum())
        out[f"{part}_inside_fraction"] = inside / k if k else float("nan")
        mean = float(np.mean(rec["mean"][judged])) if k else None
        out[f"{part}_mean_nees"] = mean
        out[f"{part}_band"] = _one_record_band(rec, judged)
        label = "dead reckoning" if part == "dead_reckoning" else "altimeter in use"
        out["rows"].append(
            (
                f"NEES, matched truth, {label}",
                dim,
                n,
                k,
                f"{inside} inside, {above} above, {below} below",
                mean,
            )
        )
    band = "no measurement" if nis.lo is None else f"band [{nis.lo:.4f}, {nis.hi:.4f}]"
    out["rows"].append(("NIS, matched truth", 1, nis.count, "", band, nis.mean))
    # Each sample from its own first valid reading (the rows above split the set at the earliest one).
    aided = live_records(np.asarray(trace.t_s)) & np.isfinite(nees) & (t[None, :] >= first[:, None])
    out["components"], out["terrain"] = per_component(trace, aided)
    return out


def _one_record_band(rec: dict[str, np.ndarray], judged: np.ndarray) -> tuple[float, float] | None:
    """The 95 % band of one judged record of the window (its median sample count), for the window's
    time-averaged mean NEES (module docstring); None for a window without a judged record."""
    if not judged.any():
        return None
    k = int(np.flatnonzero(judged)[np.argsort(rec["count"][judged])[judged.sum() // 2]])
    return float(rec["lo"][k]), float(rec["hi"][k])


def _time_averaged_check(label: str, mean: float | None, band: tuple[float, float] | None) -> Check:
    if mean is None or band is None:
        return Check(label, None, "a judged record", False)
    lo, hi = band
    return Check(label, mean, f"in [{lo:.2f}, {hi:.2f}] (one record's 95 % band)", lo <= mean <= hi)


def per_component(trace: Trace, mask: np.ndarray) -> tuple[list[tuple[Any, ...]], dict[str, float]]:
    """Which error-state components carry a NEES excess, over the (sample, record) pairs in ``mask``.

    Per component and sample: the mean of ``e_i^2 / P_ii`` over the sample's records (1 when
    consistent). The records of one sample are strongly correlated, the samples are independent, so the
    component's verdict comes from the spread across samples: the mean of the per-sample means with its
    95 % interval (normal, ``1.96 sd / sqrt(n)``); over-confident where the interval lies above 1.
    With it, the terrain offset under the lander (true ground under the truth less the map under the
    estimate, ``Trace.terrain_offset_m``): a range reading sees the vertical position error plus that
    offset, so an offset the filter does not model ends up in its vertical error."""
    err = np.asarray(trace.nav_error, np.float64)
    sig = np.asarray(trace.nav_sigma, np.float64)
    per_sample = mask.sum(axis=1)
    used = per_sample > 0
    n = int(used.sum())
    rows: list[tuple[Any, ...]] = []
    if n < 2:
        return rows, {}
    with np.errstate(divide="ignore", invalid="ignore"):
        z2 = np.where(mask[..., None] & (sig > 0), (err / sig) ** 2, 0.0)
    sample_mean = z2[used].sum(axis=1) / per_sample[used, None]  # (n, NAV_STATE_DIM)
    err_in, sig_in = err[mask], sig[mask]  # (pairs, NAV_STATE_DIM)
    for i, name in enumerate(core.NAV_STATE_NAMES):
        m = float(np.mean(sample_mean[:, i]))
        half = 1.96 * float(np.std(sample_mean[:, i], ddof=1)) / math.sqrt(n)
        verdict = "over-confident" if m - half > 1.0 else "conservative" if m + half < 1.0 else "consistent"
        rms_e = float(np.sqrt(np.mean(err_in[:, i] ** 2)))
        rms_s = float(np.sqrt(np.mean(sig_in[:, i] ** 2)))
        rows.append((name, m, f"[{m - half:.3f}, {m + half:.3f}]", verdict, rms_e, rms_s))
    # Tracking: the records whose vertical sigma is down to the altimeter's metres, past the first fix.
    tracking = mask & (sig[..., 2] < TRACKING_SIGMA_M)
    if not tracking.any():
        return rows, {}
    offset = np.asarray(trace.terrain_offset_m, np.float64)[tracking]
    terrain = {
        "tracking_sigma_m": TRACKING_SIGMA_M,
        "tracking_records": int(tracking.sum()),
        "terrain_offset_rms_m": float(np.sqrt(np.mean(offset**2))),
        "vertical_error_rms_m": float(np.sqrt(np.mean(err[tracking][:, 2] ** 2))),
        "vertical_sigma_rms_m": float(np.sqrt(np.mean(sig[tracking][:, 2] ** 2))),
        "samples": n,
    }
    return rows, terrain


def _terrain_note(terrain: dict[str, float]) -> str:
    if not terrain:
        return "Matched truth: no record with the altimeter in use."
    return (
        f"Matched truth, altimeter tracking ({terrain['samples']} samples, {terrain['tracking_records']} "
        f"records with the filter's vertical sigma below {terrain['tracking_sigma_m']:g} m): the terrain "
        f"offset under the lander (true ground under the truth less the exact map under the estimate, i.e. the "
        f"ground's height change across the horizontal position error) is {terrain['terrain_offset_rms_m']:.2f}"
        f" m rms; the vertical position error is {terrain['vertical_error_rms_m']:.2f} m rms against the "
        f"filter's {terrain['vertical_sigma_rms_m']:.2f} m. The offset is correlated along the flight (it is the same "
        "ground under a slowly changing error): each beam's offset is a consider parameter of the filter, with "
        "its sigma and decorrelation distance derived from the onboard map at the assumed horizontal sigma "
        "(riskengine.terrain.offsets), so readings of one persistent offset are not averaged away; taken as "
        "white noise (the map and slope terms of R alone) the vertical channel was over-confident, e^2/P 2.3-2.5 "
        "(docs/physics.md)."
    )


def run(sizes: Sizes) -> SectionResult:
    n, seed, site = sizes.consistency_samples, sizes.seed, CONSISTENCY_SITE
    # The navigation rewrite's fields (see the module docstring); the ignores cover trees without them.
    dim = int(core.NAV_STATE_DIM)
    result, trace, period_s = fly_traces(site, n, seed)
    nees = np.asarray(trace.nees, np.float64)  # type: ignore[attr-defined, unused-ignore]
    rec = nees_by_record(nees, live_records(np.asarray(trace.t_s)), dim, n)
    t = period_s * np.arange(nees.shape[1])
    n_judged = int(rec["judged"].sum())
    inside_frac = float(rec["inside"].sum() / n_judged) if n_judged else float("nan")
    above = int((rec["judged"] & (rec["mean"] > rec["hi"])).sum())
    below = int((rec["judged"] & (rec["mean"] < rec["lo"])).sum())
    time_avg = (
        float(np.nanmean(np.where(rec["judged"], rec["mean"], np.nan))) / dim if n_judged else float("nan")
    )
    nis = nis_summary(
        np.asarray(result.nis_sum),  # type: ignore[attr-defined, unused-ignore]
        np.asarray(result.nis_count),  # type: ignore[attr-defined, unused-ignore]
    )
    matched = _matched(site, n, seed, dim)
    batch = cells.run_cell(site, LATENCY_S, MARGIN_PCT, n, seed)
    agree = float(np.mean(np.asarray(batch.outcome) == np.asarray(result.outcome)))
    dur_diff = float(np.median(np.abs(np.asarray(batch.duration_s) - np.asarray(result.duration_s))))
    checks = (
        Check(
            "NEES: judged records inside the 95 % band",
            inside_frac,
            f">= {MIN_INSIDE_FRACTION:g}",
            n_judged > 0 and inside_frac >= MIN_INSIDE_FRACTION,
        ),
        Check("NEES / n averaged over judged records", time_avg, "diagnostic (consistent: 1)", None),
        Check(
            "NIS: mean per scalar measurement",
            nis.mean,
            "in chi-square band" if nis.lo is None else f"in [{nis.lo:.4f}, {nis.hi:.4f}]",
            nis.inside,
        ),
        Check(
            "trace runs are simulate_batch's samples: median |flight-time difference|",
            dur_diff,
            f"< {MAX_MEDIAN_DURATION_DIFF_S:g} s",
            dur_diff < MAX_MEDIAN_DURATION_DIFF_S,
            "s",
        ),
        Check("trace runs: same outcome as simulate_batch", agree, "diagnostic", None),
        _time_averaged_check(
            "matched truth, dead reckoning: time-averaged mean NEES",
            matched["dead_reckoning_mean_nees"],
            matched["dead_reckoning_band"],
        ),
        Check(
            "matched truth, dead reckoning: judged records inside the 95 % band",
            matched["dead_reckoning_inside_fraction"],
            "diagnostic (records correlated: see the module docstring)",
            None,
        ),
        _time_averaged_check(
            "matched truth, altimeter in use: time-averaged mean NEES",
            matched["aided_mean_nees"],
            matched["aided_band"],
        ),
        Check(
            "matched truth, altimeter in use: judged records inside the 95 % band",
            matched["aided_inside_fraction"],
            "diagnostic (records correlated: see the module docstring)",
            None,
        ),
        Check("matched truth: NIS mean per scalar measurement", matched["nis"]["mean"], "diagnostic", None),
    )
    table: list[tuple[Any, ...]] = [
        (
            "NEES",
            dim,
            n,
            n_judged,
            f"{int(rec['inside'].sum())} inside, {above} above, {below} below",
            time_avg * dim if n_judged else None,
        ),
        (
            "NIS",
            1,
            nis.count,
            "",
            "no measurement" if nis.lo is None else f"band [{nis.lo:.4f}, {nis.hi:.4f}]",
            nis.mean,
        ),
        *matched["rows"],
    ]
    return SectionResult(
        KEY,
        TITLE,
        checks=checks,
        tables=(
            Table.of(
                f"Filter consistency at {site}, latency {LATENCY_S:g} s, margin {MARGIN_PCT:g} %",
                ("statistic", "dimension", "samples / measurements", "judged records", "vs band", "mean"),
                table,
            ),
            Table.of(
                "Matched truth, altimeter in use (each sample from its own first valid reading): each "
                "error-state component's mean e^2 / P per sample (1 when consistent), averaged over the "
                "samples with its 95 % interval; site axes, z up at the site",
                ("component", "mean e^2/P", "95 % interval", "verdict", "rms error", "rms sigma"),
                matched["components"],
            ),
        ),
        figures=(_plot(t, rec, dim),),
        notes=(
            f"{n} samples of the '{cells.STUDY_PRESET}' preset's dispersions under seed {seed}, flown with "
            f"simulate_trace (a record every {period_s:g} s); parameters drawn as simulate_sample draws them.",
            "Band for a mean of N chi-square(n) values: [chi2.ppf(0.025, nN)/N, chi2.ppf(0.975, nN)/N], quantiles by "
            f"Wilson-Hilferty; a record is judged where >= max({MIN_DEFINED}, N/2) samples define the NEES.",
            "Above the band: the filter is over-confident (P too small); below: conservative.",
            "Matched truth (consistency.matched_inputs): the same site and cell with the truth drawn from the "
            "filter's own assumed sigmas, no unmodelled acceleration and an exact map; dead reckoning is every "
            "record before the earliest first valid altimeter reading of the set, the rest is 'in use'. It "
            "tests the filter's implementation; the study's dispersions test its tuning.",
            _terrain_note(matched["terrain"]),
            "Trace and batch runs of a sample are different XLA programs whose float rounding differs, amplified "
            "along the descent (propellant differs by up to ~1 kg, a marginal sample may change outcome): the "
            "median flight-time difference is checked, not bits.",
        ),
        data={
            "site": site,
            "samples": n,
            "nav_state_dim": dim,
            "record_period_s": period_s,
            "records": {"t_s": t, **rec},
            "nis": asdict(nis),
            "inside_fraction": inside_frac,
            "outcome_agreement": agree,
            "median_duration_difference_s": dur_diff,
            "matched": {k: v for k, v in matched.items() if k not in ("rows", "components")},
            "matched_components": [
                dict(
                    zip(
                        ("component", "mean_z2", "interval", "verdict", "rms_error", "rms_sigma"),
                        row,
                        strict=True,
                    )
                )
                for row in matched["components"]
            ],
        },
    )
