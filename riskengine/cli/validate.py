"""``riskengine validate [--quick] [--out DIR]``: the validation report (HTML with plots, and JSON)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUT = "out/validation"  # /out/ is git-ignored


def register(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="closed-form, convergence, monotonicity, working-system, replay and filter-consistency checks",
    )
    p.add_argument("--quick", action="store_true", help="small sample counts (a few minutes on a laptop)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"report directory (default: {DEFAULT_OUT})")
    p.add_argument("--seed", type=int, default=None, help="seed of every Monte Carlo section")
    # Sizing for tests and smoke runs, not part of the documented interface.
    p.add_argument("--samples", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--sections", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run, flies_engine=True)


def run(args: argparse.Namespace) -> int:
    from riskengine.study.spec import MAX_SEED
    from riskengine.validation import DEFAULT_SEED, SECTION_KEYS, run_validation
    from riskengine.validation.report import summary_text

    sections = None if args.sections is None else [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections or ()) - set(SECTION_KEYS))
    if unknown:
        print(
            f"riskengine validate: unknown sections {unknown}; known: {list(SECTION_KEYS)}", file=sys.stderr
        )
        return 2
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        print(f"riskengine validate: --seed must lie in [0, {MAX_SEED}], got {args.seed}", file=sys.stderr)
        return 2
    if args.samples is not None and args.samples < 1:
        print(f"riskengine validate: --samples must be positive, got {args.samples}", file=sys.stderr)
        return 2
    doc = run_validation(
        args.quick,
        Path(args.out),
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        samples=args.samples,
        sections=sections,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(summary_text(doc["summary"]))
    meta = doc["meta"]
    print(
        f"\nseed {meta['seed']}, wall {meta['wall_s']:.0f} s, engine {meta['engine_version']} {meta['git_revision']}"
    )
    print(f"report: {doc['html_path']}  (JSON: {doc['json_path']})")
    return 0
