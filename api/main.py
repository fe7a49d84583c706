"""``create_app``: builds the FastAPI app. Nothing happens at import; the lifespan opens the database
(running migrations), starts Ray (unless the executor is local), and starts the study runner, which
resumes unfinished studies.

    uvicorn --factory api.main:create_app        # or: riskengine serve
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.db import make_engine, make_sessionmaker, upgrade
from api.deps import ServiceState
from api.engine import make_executor, make_kernel, start_ray, stop_ray
from api.errors import EXCEPTION_HANDLERS, PROBLEM_JSON, Problem
from api.metrics import Metrics
from api.routes import catalog, cubes, engineering, health, studies
from api.runner import StudyRunner
from api.schemas.studies import PresetStudyCreate
from api.settings import Settings, get_settings
from riskengine.study import Executor, Kernel, StudySpec

log = logging.getLogger("api")

DESCRIPTION = """Monte Carlo lunar landing-risk studies over HTTP.

Send your API key in the `X-API-Key` header (create one with `riskengine keys create --org ORG --role ROLE`).
Submit a study (`POST /v1/studies`), poll it (`GET /v1/studies/{id}`) and read its cube
(`GET /v1/studies/{id}/cube`). Errors are `application/problem+json`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    kernel: Kernel | None = None,
    executor_factory: Callable[[], Executor] | None = None,
) -> FastAPI:
    """The app. ``settings`` default to the environment's; ``kernel`` and ``executor_factory`` are
    seams for tests (default: from the settings)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s = settings or get_settings()
        s.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(s.resolved_database_url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        started_ray = start_ray(s) if executor_factory is None else False
        metrics = Metrics(sessions)
        k = kernel or make_kernel(s)
        runner = StudyRunner(
            sessions,
            k,
            executor_factory or (lambda: make_executor(s)),
            metrics,
            chunk_size=s.chunk_size,
        )
        app.state.service = ServiceState(s, k, engine, sessions, metrics, runner)
        resumed = runner.start()
        log.info("riskengine service ready (%d studies resumed)", len(resumed))
        try:
            yield
        finally:
            runner.stop()
            if started_ray:
                stop_ray()
            engine.dispose()

    app = FastAPI(
        title="riskengine",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    for module in (studies, cubes, catalog, engineering, health):
        app.include_router(module.router)
    app.add_middleware(RequestMetrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


class RequestMetrics:
    """Observes request latency by method, route template and status (bounded label values)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            service = getattr(scope["app"].state, "service", None) if "app" in scope else None
            if service is not None:
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                service.metrics.request_seconds.labels(scope["method"], template, str(status)).observe(
                    time.perf_counter() - t0
                )


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the study submission models and problem+json for every error."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (StudySpec, PresetStudyCreate, Problem):
        js = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(js.pop("$defs", {}))
        components[model.__name__] = js
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in schema.get("paths", {}).values():
        for op in path_item.values():
            for code, resp in op.get("responses", {}).items():
                if code.isdigit() and int(code) >= 400 and code != "503":
                    resp["content"] = problem
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema
