"""``riskengine plot landing-map CUBE [--cell site=S,AXIS=V,...] [--out FILE.png|FILE.svg]`` and
``riskengine plot elevation SITE [--replay NAME] [--onboard] [--out FILE.png|FILE.svg]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from riskengine.errors import ConfigError

_CELL_SYNTAX = "site=NAME,AXIS=VALUE,... (e.g. site=atlas_crater,sensor_latency_s=10,fuel_margin_pct=5)"


def register(sub: Any) -> None:
    parser = sub.add_parser("plot", help="figures: a study cube's landing maps, a site's elevation model")
    kinds = parser.add_subparsers(dest="plot_command", required=True)
    lm = kinds.add_parser(
        "landing-map",
        help="one cell's landing map (contacts, outcomes, dispersion ellipses, target) and observed hazard map",
    )
    lm.add_argument("cube", help="cube location (path or fsspec URL)")
    lm.add_argument(
        "--cell",
        default="",
        metavar="site=S,AXIS=V,...",
        help=f"the cell: {_CELL_SYNTAX}; an axis with one value may be left out",
    )
    lm.add_argument(
        "--out", default=None, metavar="FILE.png|FILE.svg", help="figure file (default: landing-map.png)"
    )
    lm.set_defaults(func=_landing_map)
    el = kinds.add_parser(
        "elevation",
        help="a site's elevation model (every level), with a replay's ground track and the onboard map's error",
    )
    el.add_argument("site", help="site preset (configs/sites)")
    el.add_argument(
        "--replay",
        default=None,
        metavar="NAME",
        help="fly this replay preset (at SITE) and draw its ground track",
    )
    el.add_argument(
        "--onboard", action="store_true", help="add the onboard map's error, truth - map, per level"
    )
    el.add_argument(
        "--out", default=None, metavar="FILE.png|FILE.svg", help="figure file (default: SITE-elevation.png)"
    )
    el.set_defaults(func=_elevation)


def parse_cell(text: str) -> dict[str, str]:
    """``"site=a,sensor_latency_s=10"`` -> ``{"site": "a", "sensor_latency_s": "10"}``; ConfigError naming
    the field, the value and the syntax."""
    out: dict[str, str] = {}
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        name, eq, value = (p.strip() for p in item.partition("="))
        if not eq or not name or not value:
            raise ConfigError(f"--cell: {item!r}: expected {_CELL_SYNTAX}", field="--cell", value=text)
        if name in out:
            raise ConfigError(f"--cell: {name!r} given twice", field="--cell", value=text)
        out[name] = value
    return out


def _landing_map(args: argparse.Namespace) -> int:
    from riskengine.plots import plot_landing_map
    from riskengine.store import open_cube

    cell = parse_cell(args.cell)
    out = Path(args.out or "landing-map.png")
    plot_landing_map(open_cube(args.cube), cell, out)
    print(out)
    return 0


def _elevation(args: argparse.Namespace) -> int:
    from riskengine.plots import plot_site_elevation

    out = Path(args.out or f"{args.site}-elevation.png")
    plot_site_elevation(args.site, out, replay=args.replay, onboard=args.onboard)
    print(out)
    return 0
