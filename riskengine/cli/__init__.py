"""The ``riskengine`` command. Each sub-command lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from riskengine.errors import RiskEngineError


def build_parser() -> argparse.ArgumentParser:
    from riskengine.cli import keys, plot, replay, serve, study, validate

    parser = argparse.ArgumentParser(prog="riskengine", description="Lunar landing-risk engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    replay.register(sub)
    study.register(sub)
    serve.register(sub)
    keys.register(sub)
    validate.register(sub)
    plot.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "flies_engine", False):
        from riskengine.study.worker_setup import enable_compilation_cache

        enable_compilation_cache()
    try:
        code: int = args.func(args)
    except RiskEngineError as exc:
        print(f"riskengine: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
