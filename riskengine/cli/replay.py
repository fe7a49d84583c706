"""``riskengine replay NAME [--json] [--plot FILE.png] [--facts] [--sweep [PARAM[=LO:HI[:N]]]]... [--seeds N]``.

``--facts`` checks the replay's public facts at its stated inputs. ``--sweep PARAM=LO:HI:N`` flies it at
N values of PARAM from LO to HI (a grid when given several times); ``--sweep PARAM`` uses PARAM's band
from the replay's ``ranges``; a bare ``--sweep`` sweeps every band of ``ranges`` one at a time.
``--seeds N`` flies it (or every point of the sweep) at N noise streams: the replay's seed and the N - 1
after it.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from riskengine.config import preset_names
from riskengine.errors import ConfigError

if TYPE_CHECKING:
    from riskengine.replay import ReplaySpec

DEFAULT_POINTS = 7
MAX_POINTS = 1000
_SYNTAX = (
    "PARAM=LO:HI:N (e.g. sensor_latency_s=33:45:7), PARAM=LO:HI (N=7), or PARAM alone (its band in ranges)"
)


def register(sub: Any) -> None:
    p = sub.add_parser("replay", help="fly a stated scenario (configs/replays) and tell its story")
    p.add_argument("name", help=f"replay preset: {', '.join(preset_names('replays'))}")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a timeline")
    p.add_argument(
        "--plot", metavar="FILE.png", help="draw altitude, vertical speed and propellant against time"
    )
    p.add_argument(
        "--facts", action="store_true", help="check the replay's public facts at its stated inputs"
    )
    p.add_argument(
        "--sweep",
        action="append",
        nargs="?",
        const="",
        metavar="PARAM=LO:HI:N",
        help="fly the replay at N values of PARAM from LO to HI, the rest as stated (repeat for a grid); "
        f"PARAM alone: its band in the replay's ranges, N={DEFAULT_POINTS}; no value: every band, one at a time",
    )
    p.add_argument(
        "--seeds",
        type=int,
        metavar="N",
        help="fly at N noise streams (the replay's seed and the N-1 after it), at every point of a sweep",
    )
    p.set_defaults(func=run, flies_engine=True)


def _band(spec: ReplaySpec, name: str, field: str) -> tuple[float, float]:
    from riskengine.config.parameters import resolve_path

    path = resolve_path(name, field)
    for key, band in spec.ranges.items():
        if resolve_path(key, key) == path:
            return band
    raise ConfigError(
        f"field '{field}' = {name!r}: replay '{spec.name}' states no range for it; give PARAM=LO:HI:N "
        f"or one of its ranges: {', '.join(spec.ranges) or '(none)'}",
        field=field,
        value=name,
    )


def parse_sweep(text: str, spec: ReplaySpec) -> tuple[str, list[float]]:
    """``PARAM=LO:HI[:N]`` or ``PARAM`` -> ``(PARAM, values)``; ConfigError naming field, value and allowed."""
    from riskengine.config.parameters import PARAMETERS, resolve_path
    from riskengine.replay import band_values

    field = "--sweep"
    name, eq, rest = (part.strip() for part in text.partition("="))
    if not name:
        raise ConfigError(f"field '{field}' = {text!r}: expected {_SYNTAX}", field=field, value=text)
    path = resolve_path(name, field)
    if not eq:
        lo, hi = _band(spec, name, field)
        return name, band_values(lo, hi, DEFAULT_POINTS)
    parts = rest.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
        n = int(parts[2]) if len(parts) == 3 else DEFAULT_POINTS
    except ValueError:
        raise ConfigError(
            f"field '{field}' = {text!r}: expected {_SYNTAX}", field=field, value=text
        ) from None
    if not 2 <= n <= MAX_POINTS:
        raise ConfigError(
            f"field '{field} {name}' N = {n}: the number of values must be in [2, {MAX_POINTS}]",
            field=field,
            value=n,
        )
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ConfigError(
            f"field '{field} {name}' = {lo:g}:{hi:g}: LO must be below HI (both finite)",
            field=field,
            value=text,
        )
    PARAMETERS[path].check(lo, f"{field} {name}")
    PARAMETERS[path].check(hi, f"{field} {name}")
    return name, band_values(lo, hi, n)


def sweep_plans(spec: ReplaySpec, texts: Sequence[str]) -> list[dict[str, list[float]]]:
    """The sweeps ``--sweep`` asks for: one grid of all given PARAMs, or (bare) every range alone."""
    from riskengine.replay import band_values

    if "" in texts:
        if len(texts) > 1:
            raise ConfigError(
                "field '--sweep': a bare --sweep sweeps every range one at a time; it cannot be combined with "
                f"--sweep PARAM (given: {[t for t in texts if t]})",
                field="--sweep",
                value=list(texts),
            )
        if not spec.ranges:
            raise ConfigError(
                f"field '--sweep': replay '{spec.name}' states no ranges; give --sweep {_SYNTAX}",
                field="--sweep",
                value="",
            )
        return [{name: band_values(lo, hi, DEFAULT_POINTS)} for name, (lo, hi) in spec.ranges.items()]
    grid: dict[str, list[float]] = {}
    for text in texts:
        name, values = parse_sweep(text, spec)
        if name in grid:
            raise ConfigError(
                f"field '--sweep' = {text!r}: {name} is swept twice", field="--sweep", value=text
            )
        grid[name] = values
    return [grid]


def _cell(v: Any, nd: int = 1) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def sweep_table(sweep_report: dict[str, Any]) -> str:
    params: list[str] = sweep_report["params"]
    stated = sweep_report["stated"]
    rows = sweep_report["rows"]

    def band(p: str) -> str:
        values = [r["inputs"][p] for r in rows]
        at = "unset" if stated[p] is None else f"{stated[p]:g}"
        return f"{p} {min(values):g}..{max(values):g} ({len(set(values))} values; stated {at})"

    head_band = "; ".join(band(p) for p in params)
    widths = [max(len(p), 10) for p in params]
    head = "  ".join(f"{p:>{w}}" for p, w in zip(params, widths, strict=True))
    lines = [
        f"sweep {head_band}; everything else as stated (* = the stated inputs)",
        f"   {head}  {'outcome':<21} {'1st valid (m)':>13} {'prop (kg)':>9} {'v_z (m/s)':>9} {'v_h (m/s)':>9}"
        f" {'miss (m)':>9}  facts",
    ]
    for r in rows:
        vals = "  ".join(f"{r['inputs'][p]:>{w}.4g}" for p, w in zip(params, widths, strict=True))
        n_facts = len(r["facts"])
        held = f"{n_facts - len(r['facts_failed'])}/{n_facts}"
        failing = f"  failing: {', '.join(r['facts_failed'])}" if r["facts_failed"] else ""
        lines.append(
            f" {'*' if r['stated'] else ' '} {vals}  {r['outcome']:<21} {_cell(r['first_valid_true_altitude_m']):>13}"
            f" {_cell(r['propellant_remaining_kg'], 2):>9} {_cell(r['impact_vertical_speed_mps'], 2):>9}"
            f" {_cell(r['impact_horizontal_speed_mps'], 2):>9} {_cell(r['miss_distance_m']):>9}  {held}{failing}"
        )
    lines += [f"  {sweep_report['summary']}", f"  {sweep_report['facts_summary']}"]
    return "\n".join(lines)


def facts_table(spec_name: str, site: str, facts: list[dict[str, Any]]) -> str:
    held = sum(f["passed"] for f in facts)
    lines = [f"replay {spec_name} at {site}: {held} of {len(facts)} facts hold at the stated inputs"]
    for f in facts:
        tol = f" (tolerance {f['tolerance']:g})" if f["tolerance"] else ""
        lines.append(
            f"  {'PASS' if f['passed'] else 'FAIL'}  {f['id']}: {f['quantity']} = {f['observed']}, "
            f"wanted {f['op']} {f['value']}{tol}  [{f['source']}]"
        )
        if f["statement"]:
            lines.append(f"        {f['statement']}")
    return "\n".join(lines)


def timeline(report: dict[str, Any]) -> str:
    lines = [
        f"replay {report['replay']} at {report['site']}: {report['outcome'].upper()}",
        f"  impact vertical {report['impact_vertical_speed_mps']} m/s, horizontal {report['impact_horizontal_speed_mps']} m/s; "
        f"propellant left {report['propellant_remaining_kg']} of {report['propellant_loaded_kg']} kg; "
        f"miss {report['miss_distance_m']} m; {report['duration_s']} s after PDI",
        f"  {'t (s)':>8}  {'event':<26} {'true alt (m)':>13} {'believed (m)':>13} {'v_z (m/s)':>10} {'prop (kg)':>10}",
    ]
    for e in report["events"]:
        lines.append(
            f"  {e['t_s']:8.1f}  {e['name']:<26} {e['true_altitude_m']:13.1f} {e['estimated_altitude_m']:13.1f} "
            f"{e['vertical_speed_mps']:10.2f} {e['propellant_kg']:10.2f}"
        )
    return "\n".join(lines)


def _sweeps(spec: ReplaySpec, texts: Sequence[str] | None, seeds: int | None) -> list[dict[str, Any]]:
    from riskengine.replay import (
        SEED_AXIS,
        facts_summary,
        noise_streams,
        stated_inputs,
        sweep_grid,
        sweep_summary,
    )

    # All parsed before anything flies: a typo fails at once.
    plans: list[dict[str, list[float]]] = sweep_plans(spec, texts) if texts is not None else [{}]
    if seeds is not None:
        streams = noise_streams(spec, seeds, "--seeds")
        plans = [plan | {SEED_AXIS: streams} for plan in plans]
    out = []
    for grid in plans:
        rows = sweep_grid(spec, grid)
        params = list(grid)
        out.append(
            {
                "params": params,
                "stated": stated_inputs(spec, params),
                "rows": rows,
                "summary": sweep_summary(rows, params),
                "facts_summary": facts_summary(rows),
            }
        )
    return out


def run(args: argparse.Namespace) -> int:
    from riskengine.replay import load_replay, run_replay

    spec = load_replay(args.name)
    if args.sweep is not None or args.facts or args.seeds is not None:
        return _run_checks(args, spec)
    replay = run_replay(spec)
    report = replay.to_json()
    print(json.dumps(report) if args.json else timeline(report))
    if args.plot:
        from riskengine.plots import plot_replay

        plot_replay(replay, args.plot)
    return 0


def _run_checks(args: argparse.Namespace, spec: ReplaySpec) -> int:
    """``--facts``, ``--sweep`` and/or ``--seeds``: one JSON object with ``facts`` and/or ``sweeps``, or tables."""
    from riskengine.replay import evaluate_facts, run_replay

    flies = args.sweep is not None or args.seeds is not None
    sweeps = _sweeps(spec, args.sweep, args.seeds) if flies else None
    replay = run_replay(spec) if args.facts or args.plot else None
    facts = evaluate_facts(replay) if args.facts and replay is not None else None
    if args.json:
        out: dict[str, Any] = {"replay": spec.name, "site": spec.site}
        if facts is not None:
            out["facts"] = facts
        if sweeps is not None:
            out["sweeps"] = sweeps
        print(json.dumps(out))
    else:
        blocks = [facts_table(spec.name, spec.site, facts)] if facts is not None else []
        if sweeps is not None:
            blocks += [f"replay {spec.name} at {spec.site}:\n" + sweep_table(s) for s in sweeps]
        print("\n\n".join(blocks))
    if args.plot and replay is not None:
        from riskengine.plots import plot_replay

        plot_replay(replay, args.plot)
    return 0
