"""The service's leaves of the project's exception tree, and the one place they become HTTP responses.

    RiskEngineError (riskengine.errors)            -> 500
    +-- ConfigError                                 -> 422, names the field ("field", "value")
    |   +-- LimitExceeded                           -> 422, a configured limit (the message names it)
    +-- StudyError                                  -> 409
    |   +-- StudyNotReady                           -> 409, e.g. the cube of a study still queued
    +-- StorageError                                -> 500
    +-- NotFoundError                               -> 404 (also: another organisation's study)
    +-- NotAuthenticated                            -> 401, missing or unknown API key
    +-- Forbidden                                   -> 403, the key's role may not do this
    +-- TooManyStudies                              -> 429, the queue is full

FastAPI's own request validation errors and Starlette's HTTP exceptions (unknown route, wrong method)
go through the same handler, so every error is ``application/problem+json`` (RFC 9457).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskengine.errors import ConfigError, NotFoundError, RiskEngineError, StorageError, StudyError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class LimitExceeded(ConfigError):
    """A study beyond a configured limit (cells, samples per cell, total trajectories)."""


class StudyNotReady(StudyError):
    """The study is not in a state that allows this (e.g. no cube yet)."""


class NotAuthenticated(RiskEngineError):
    """No API key, or one that is unknown or revoked."""


class Forbidden(RiskEngineError):
    """The key's role may not do this."""


class TooManyStudies(RiskEngineError):
    """Too many studies queued or running."""


_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (NotAuthenticated, 401),
    (Forbidden, 403),
    (NotFoundError, 404),
    (StudyError, 409),
    (ConfigError, 422),
    (TooManyStudies, 429),
    (StorageError, 500),
    (RiskEngineError, 500),
)


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str = Field(examples=["Unprocessable Content"])
    status: int = Field(examples=[422])
    detail: str = Field(
        examples=["invalid study spec: samples_per_cell: Input should be greater than or equal to 1"]
    )
    instance: str | None = Field(default=None, examples=["/v1/studies"])
    field: str | None = Field(
        default=None, description="the offending input field (422)", examples=["samples_per_cell"]
    )


def problem(status: int, detail: str, request: Request | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else repr(value)[:200]


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """The one mapping from exceptions to HTTP responses."""
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _field_of(tuple(first.get("loc", ())))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return problem(422, f"{field}: {first.get('msg', 'invalid')}{more}", request, field=field)
    if isinstance(exc, StarletteHTTPException):
        return problem(exc.status_code, str(exc.detail), request)
    if isinstance(exc, RiskEngineError):
        status = next(code for cls, code in _STATUS if isinstance(exc, cls))
        if status >= 500:
            log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc, exc_info=exc)
        if isinstance(exc, ConfigError):
            return problem(status, str(exc), request, field=exc.field or "body", value=_jsonable(exc.value))
        return problem(status, str(exc), request)
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(500, "internal error", request)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    RiskEngineError: handle_error,
    RequestValidationError: handle_error,
    StarletteHTTPException: handle_error,
    Exception: handle_error,
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem codes a route may answer."""
    return {
        code: {"model": Problem, "description": HTTPStatus(code).phrase, "content": {PROBLEM_JSON: {}}}
        for code in codes
    }
