"""``/healthz``, ``/readyz``, ``/metrics`` (no API key: for probes and scrapers)."""

from __future__ import annotations

import secrets
from typing import Any

import fsspec
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.deps import ServiceDep
from api.engine import ray_status

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_database(service: ServiceDep) -> str:
    try:
        with service.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}: {exc}"
    return "ok"


def _check_store(service: ServiceDep) -> str:
    try:
        fs, root = fsspec.core.url_to_fs(service.settings.resolved_store_url)
        fs.makedirs(root, exist_ok=True)
        probe = f"{root.rstrip('/')}/.readyz-{secrets.token_hex(4)}"
        fs.pipe_file(probe, b"ok")
        fs.rm(probe)
    except Exception as exc:
        return f"not writable: {type(exc).__name__}: {exc}"
    return "ok"


@router.get(
    "/readyz",
    summary="Readiness: Ray, database, store",
    responses={503: {"description": "a dependency is not ready (see checks)"}},
)
def readyz(service: ServiceDep) -> Response:
    checks: dict[str, Any] = {
        "ray": ray_status(service.settings),
        "database": _check_database(service),
        "store": _check_store(service),
        "runner": "ok" if service.runner.alive else "not running",
    }
    ready = all(v in ("ok", "not used") for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(service: ServiceDep) -> Response:
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
