"""``riskengine serve``: the HTTP service (embedded local Ray, SQLite and a local store by default)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help="start the HTTP service (settings from the environment; see docs/api.md)"
    )
    parser.add_argument("--host", default=None, help="address to bind (default RISKENGINE_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default RISKENGINE_PORT or 8000)")
    parser.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    parser.set_defaults(func=_serve, flies_engine=True)


def _serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from api.main import create_app
    from api.settings import get_settings

    settings = get_settings()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=30,
    )
    return 0
