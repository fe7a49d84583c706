"""Engineering endpoints (engineer, admin): replays and the dispersable parameters."""

from __future__ import annotations

import functools
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from api.auth import ENGINEERING
from api.deps import PrincipalDep, ServiceDep
from api.errors import responses
from riskengine.config import preset_names

router = APIRouter(prefix="/v1", tags=["engineering"])

_replay_lock = threading.Lock()


class ParameterPublic(BaseModel):
    name: str
    unit: str
    low: float
    high: float
    description: str


@functools.lru_cache(maxsize=16)
def _replay_json(name: str) -> dict[str, Any]:
    from riskengine.replay import load_replay, run_replay

    return run_replay(load_replay(name)).to_json()


@router.get("/replays", response_model=list[str], responses=responses(401, 403), summary="Replay names")
def list_replays(principal: PrincipalDep) -> list[str]:
    principal.require(ENGINEERING, "read replays")
    return preset_names("replays")


@router.get(
    "/replays/{name}",
    responses={
        200: {"description": "the replay JSON (outcome, touchdown numbers, event timeline)"},
        **responses(401, 403, 404, 422),
    },
    summary="Fly a replay",
)
def get_replay(
    name: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,100}$", examples=["m1"])],
    principal: PrincipalDep,
) -> dict[str, Any]:
    """The replay ``configs/replays/<name>.yaml`` flown by the engine (the same JSON as
    ``riskengine replay NAME --json``). Deterministic, so computed once per process."""
    principal.require(ENGINEERING, "read replays")
    with _replay_lock:  # one JAX compile at a time
        return _replay_json(name)


@router.get(
    "/parameters",
    response_model=list[ParameterPublic],
    responses=responses(401, 403),
    summary="Parameters a study may put on a grid axis or disperse",
)
def list_parameters(principal: PrincipalDep, service: ServiceDep) -> list[ParameterPublic]:
    principal.require(ENGINEERING, "read engineering endpoints")
    params = service.kernel.parameters()
    return [
        ParameterPublic(name=n, unit=p.unit, low=p.low, high=p.high, description=p.description)
        for n, p in sorted(params.items())
    ]
