"""``riskengine replay NAME [--json] [--plot FILE.png]``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from riskengine.config import preset_names


def register(sub: Any) -> None:
    p = sub.add_parser("replay", help="fly a stated scenario (configs/replays) and tell its story")
    p.add_argument("name", help=f"replay preset: {', '.join(preset_names('replays'))}")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a timeline")
    p.add_argument(
        "--plot", metavar="FILE.png", help="draw altitude, vertical speed and propellant against time"
    )
    p.set_defaults(func=run)


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


def run(args: argparse.Namespace) -> int:
    from riskengine.replay import load_replay, run_replay

    replay = run_replay(load_replay(args.name))
    report = replay.to_json()
    print(json.dumps(report) if args.json else timeline(report))
    if args.plot:
        from riskengine.plots import plot_replay

        plot_replay(replay, args.plot)
    return 0
