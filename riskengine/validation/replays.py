"""Section 5: every replay preset flown (``riskengine.replay``), its key events, and each of its stated
facts from the public record checked by ``riskengine.replay.evaluate_facts``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from riskengine.config import preset_names
from riskengine.replay import ReplayRun, evaluate_facts, load_replay, run_replay
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


def run(sizes: Sizes) -> SectionResult:
    del sizes  # each replay states its own seed
    runs: list[ReplayRun] = []
    rows: list[tuple[Any, ...]] = []
    fact_rows: list[tuple[Any, ...]] = []
    checks: list[Check] = []
    data: list[dict[str, Any]] = []
    unchecked: list[str] = []
    for name in preset_names("replays"):
        rr = run_replay(load_replay(name))
        runs.append(rr)
        report = rr.to_json()
        row = summary_row(report)
        facts = evaluate_facts(rr)
        rows.append(tuple(row.values()))
        data.append({**row, "events": report["events"], "facts": facts, "sources": list(rr.spec.sources)})
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
    notes = [f"Replays: {', '.join(preset_names('replays'))} (configs/replays), each with its own seed."]
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
