"""Dependencies shared by the routers, as ``Annotated`` aliases (full-stack-fastapi-template style)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, authenticate
from api.metrics import Metrics
from api.runner import StudyRunner
from api.settings import Settings
from riskengine.study import Kernel


@dataclass
class ServiceState:
    """What the lifespan builds and the routes use (``app.state.service``)."""

    settings: Settings
    kernel: Kernel
    engine: Engine
    sessions: sessionmaker[Session]
    metrics: Metrics
    runner: StudyRunner


def get_service(request: Request) -> ServiceState:
    service: ServiceState = request.app.state.service
    return service


ServiceDep = Annotated[ServiceState, Depends(get_service)]


def get_session(service: ServiceDep) -> Iterator[Session]:
    with service.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="API key from `riskengine keys create --org ORG --role ROLE`",
)


def get_principal(session: SessionDep, key: Annotated[str | None, Security(api_key_header)]) -> Principal:
    return authenticate(session, key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
