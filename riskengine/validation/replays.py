"""Section 5: every replay preset flown (``riskengine.replay``), its key events, and each of its stated
facts from the public record checked by ``riskengine.replay.evaluate_facts``; then each replay across
noise streams (is its outcome the stated inputs' or one draw's?) and across every band of its ``ranges``
(where inside the band its facts allow does the outcome change?)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from riskengine.config import preset_names
from riskengine.replay import (
    SEED_AXIS,
    ReplayRun,
    ReplaySpec,
    band_values,
    evaluate_facts,
    facts_summary,
    load_replay,
    noise_streams,
    run_replay,
    sweep,
    sweep_grid,
    sweep_summary,
)
from riskengine.validation.section import Check, Figure, SectionResult, Table, new_figure, to_png
from riskengine.validation.sizing import Sizes

KEY, TITLE = "replays", "Replays against their facts"


def _event(events: list[dict[str, Any]], name: str, field: str) -> Any:
    return next((e[field] for e in events if e["name"] == name), None)


def summary_row(report: Mapping[str, Any]) -> dict[str, Any]:
    ev = report["events"]
    return {
        "replay": report["replay"],
        "site": report["site"],
        "outcome": report["outcome"],
        "first_valid_altitude_m": _event(ev, "altimeter_first_valid", "true_altitude_m"),
        "first_valid_t_s": _event(ev, "altimeter_first_valid", "t_s"),
        "altimeter_rejections": report["altimeter_rejections"],
        "altimeter_declared_failed_t_s": _event(ev, "altimeter_declared_failed", "t_s"),
        "propellant_left_kg": report["propellant_remaining_kg"],
        "propellant_loaded_kg": report["propellant_loaded_kg"],
        "impact_vertical_speed_mps": report["impact_vertical_speed_mps"],
        "impact_horizontal_speed_mps": report["impact_horizontal_speed_mps"],
        "miss_distance_m": report["miss_distance_m"],
        "duration_s": report["duration_s"],
    }


def _plot(runs: list[ReplayRun]) -> Figure:
    fig = new_figure(10.0, 2.6 * len(runs))
    axes = np.atleast_1d(fig.subplots(len(runs), 1, squeeze=False)[:, 0])
    for ax, run in zip(axes, runs, strict=True):
        tr = run.trace
        t = np.asarray(tr.t_s)
        keep = np.concatenate([[True], np.diff(t) > 0])  # the trace pads with the final state after contact
        ax.plot(t[keep], np.asarray(tr.true_altitude_m)[keep] / 1000, label="true altitude")
        ax.plot(t[keep], np.asarray(tr.estimated_altitude_m)[keep] / 1000, "--", label="believed altitude")
        for e in run.events():
            ax.axvline(e["t_s"], color="0.8", lw=0.7)
        ax.set_ylabel("km")
        ax.set_title(f"{run.spec.name} at {run.spec.site}: {run.outcome}", fontsize=9)
    axes[0].legend(fontsize=8)
    axes[-1].set_xlabel("time since powered-descent initiation (s); grey lines: events")
    return to_png(fig, "Replays: true and believed altitude")


def _streams(spec: ReplaySpec, stated_outcome: str, n: int) -> tuple[Check, tuple[Any, ...], dict[str, Any]]:
    """``spec`` flown at ``n`` noise streams from its own seed: a check that the stated seed's outcome is the
    most common one, the table row (outcome counts, each fact's count) and the rows for the JSON."""
    rows = sweep_grid(spec, {SEED_AXIS: noise_streams(spec, n)})
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    check = Check(
        f"replay {spec.name}: the stated outcome ({stated_outcome}) is the most common over {n} noise streams",
        counts.get(stated_outcome, 0) / n,
        ">= every other outcome's share",
        counts.get(stated_outcome, 0) >= max(counts.values()),
    )
    held = {fid: sum(bool(r["facts"][fid]) for r in rows) for fid in (rows[0]["facts"] if rows else {})}
    row = (
        spec.name,
        f"{int(spec.seed)}..{int(spec.seed) + n - 1}",
        sweep_summary(rows, [SEED_AXIS]),
        "; ".join(f"{fid} {k}/{n}" for fid, k in held.items()) or "(no facts)",
    )
    return check, row, {"seeds": [r["inputs"][SEED_AXIS] for r in rows], "rows": rows}


def _bands(spec: ReplaySpec, points: int) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """``spec`` swept across each band of its ``ranges`` (``points`` values each), the rest as stated."""
    table: list[tuple[Any, ...]] = []
    data: list[dict[str, Any]] = []
    for param, (lo, hi) in spec.ranges.items():
        rows = sweep(spec, param, band_values(lo, hi, points))
        summary, facts = sweep_summary(rows, [param]), facts_summary(rows)
        table.append((spec.name, param, f"{lo:g} .. {hi:g} ({points} values)", summary, facts))
        data.append(
            {"param": param, "band": [lo, hi], "summary": summary, "facts_summary": facts, "rows": rows}
        )
    return table, data


def run(sizes: Sizes) -> SectionResult:
    runs: list[ReplayRun] = []
    rows: list[tuple[Any, ...]] = []
    fact_rows: list[tuple[Any, ...]] = []
    checks: list[Check] = []
    data: list[dict[str, Any]] = []
    unchecked: list[str] = []
    stream_rows: list[tuple[Any, ...]] = []
    band_rows: list[tuple[Any, ...]] = []
    for name in preset_names("replays"):
        spec = load_replay(name)
        rr = run_replay(spec)
        runs.append(rr)
        report = rr.to_json()
        row = summary_row(report)
        facts = evaluate_facts(rr)
        rows.append(tuple(row.values()))
        stream_check, stream_row, streams = _streams(spec, rr.outcome, sizes.replay_streams)
        band_table, bands = _bands(spec, sizes.replay_band_points)
        stream_rows.append(stream_row)
        band_rows += band_table
        data.append(
            {
                **row,
                "events": report["events"],
                "facts": facts,
                "sources": list(rr.spec.sources),
                "noise_streams": streams,
                "bands": bands,
            }
        )
        for f in facts:
            passed = None if f["passed"] is None else bool(f["passed"])
            actual = f["actual"]
            numeric = isinstance(actual, int | float) and not isinstance(actual, bool)
            tolerance = f"{f['expected']}" + ("" if numeric else f"; engine: {actual}")
            checks.append(
                Check(f"replay {name}: {f['name']}", actual if numeric else None, tolerance, passed)
            )
            fact_rows.append(
                (
                    name,
                    f["name"],
                    f.get("statement", ""),
                    f["expected"],
                    actual,
                    checks[-1].verdict,
                    f.get("source", ""),
                )
            )
        checks.append(stream_check)
        if not facts:
            unchecked.append(name)
    tables = [
        Table.of(
            "Replays: outcome and key events",
            (
                "replay",
                "site",
                "outcome",
                "first valid alt. (m)",
                "at (s)",
                "alt. rejections",
                "alt. declared failed (s)",
                "propellant left (kg)",
                "loaded (kg)",
                "impact v_z (m/s)",
                "impact v_h (m/s)",
                "miss (m)",
                "duration (s)",
            ),
            rows,
        )
    ]
    if fact_rows:
        tables.append(
            Table.of(
                "Replay facts",
                ("replay", "fact", "statement", "check", "engine", "result", "source"),
                fact_rows,
            )
        )
    tables.append(
        Table.of(
            f"Replays across {sizes.replay_streams} noise streams (stated inputs; the stated seed first)",
            ("replay", "seeds", "outcomes", "facts held"),
            stream_rows,
        )
    )
    tables.append(
        Table.of(
            "Replays across the bands of their uncertain inputs (one band at a time, the rest as stated)",
            ("replay", "input", "band", "outcome", "facts"),
            band_rows,
        )
    )
    notes = [
        f"Replays: {', '.join(preset_names('replays'))} (configs/replays), each with its own seed.",
        "A noise stream is one draw of everything a replay leaves random (sensor noise, IMU random walks, "
        "the sub-grid slope and rocks at the touchdown point): the public record is one flight, so a fact "
        "the stated seed meets but most streams miss belongs to the draw, not to the inputs. Why an outcome "
        "changes inside a band is stated beside the band in the replay's YAML.",
    ]
    if unchecked:
        notes.append(f"No facts stated for: {', '.join(unchecked)} (shown in the table without a verdict).")
    return SectionResult(
        KEY,
        TITLE,
        checks=tuple(checks),
        tables=tuple(tables),
        figures=(_plot(runs),),
        notes=tuple(notes),
        data={"replays": data},
    )
