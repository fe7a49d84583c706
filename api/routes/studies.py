"""``/v1/studies``: submit, list, read, cancel, share."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response, status

from api import studies as registry
from api.auth import SUBMIT
from api.deps import PrincipalDep, ServiceDep, SessionDep
from api.errors import responses
from api.schemas.studies import (
    FULL_EXAMPLE,
    PRESET_EXAMPLE,
    ShareCreate,
    StudiesPublic,
    StudyCreated,
    StudyPublic,
    StudyStatus,
)

router = APIRouter(prefix="/v1/studies", tags=["studies"])

StudyId = Annotated[str, Path(min_length=1, max_length=64, examples=["st_3f9a1c0b2e7d4a51"])]

SUBMISSION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/PresetStudyCreate"},
                        {"$ref": "#/components/schemas/StudySpec"},
                    ]
                },
                "examples": {
                    "preset": {"summary": "a preset with overrides", "value": PRESET_EXAMPLE},
                    "full": {"summary": "a full study spec", "value": FULL_EXAMPLE},
                },
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=StudyCreated,
    responses=responses(400, 401, 403, 422, 429),
    openapi_extra=SUBMISSION_BODY,
    summary="Submit a study",
)
def submit_study(
    body: Annotated[dict[str, Any], Body()],
    principal: PrincipalDep,
    session: SessionDep,
    service: ServiceDep,
    response: Response,
) -> StudyCreated:
    """Queue a study: a full spec, or a preset name with overrides. Answers at once with the study's
    id and a ``Location`` to poll. Roles: planner, engineer, admin."""
    principal.require(SUBMIT, "submit studies")
    study, spec = registry.submit(session, service, principal, body)
    location = f"/v1/studies/{study.id}"
    response.headers["Location"] = location
    return StudyCreated(
        id=study.id,
        status="queued",
        location=location,
        n_cells=spec.n_cells,
        total_trajectories=study.samples_total,
    )


@router.get("", response_model=StudiesPublic, responses=responses(401, 422), summary="List studies")
def list_studies(
    principal: PrincipalDep,
    session: SessionDep,
    status: Annotated[StudyStatus | None, Query(description="only studies with this status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> StudiesPublic:
    """Studies the key may read, newest first: its organisation's (insurers: those shared with it;
    admins: all)."""
    return registry.list_studies(session, principal, status, limit, offset)


@router.get(
    "/{study_id}", response_model=StudyPublic, responses=responses(401, 404, 422), summary="Read a study"
)
def get_study(study_id: StudyId, principal: PrincipalDep, session: SessionDep) -> StudyPublic:
    """Status, progress (chunks, samples, ETA), error, spec and provenance."""
    return registry.to_public(registry.get_visible(session, principal, study_id), principal)


@router.post(
    "/{study_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=StudyPublic,
    responses=responses(401, 403, 404, 409, 422),
    summary="Cancel a study",
)
def cancel_study(
    study_id: StudyId, principal: PrincipalDep, session: SessionDep, service: ServiceDep
) -> StudyPublic:
    """A queued study is cancelled at once; a running one stops after the chunks in flight (poll it
    until ``status`` is ``cancelled``). Roles: planner, engineer, admin."""
    study = registry.get_visible(session, principal, study_id)
    principal.require(SUBMIT, "cancel studies")
    return registry.to_public(registry.cancel(session, service, study), principal)


@router.post(
    "/{study_id}/share",
    response_model=StudyPublic,
    responses=responses(400, 401, 403, 404, 422),
    summary="Share a study with an organisation",
)
def share_study(
    study_id: StudyId, body: ShareCreate, principal: PrincipalDep, session: SessionDep
) -> StudyPublic:
    """Let the insurers of ``org`` read this study. Roles: planner, engineer of the owning organisation,
    admin."""
    study = registry.get_visible(session, principal, study_id)
    principal.require(SUBMIT, "share studies")
    return registry.to_public(registry.share(session, study, body.org), principal)


@router.delete(
    "/{study_id}/share/{org}",
    response_model=StudyPublic,
    responses=responses(401, 403, 404, 422),
    summary="Stop sharing a study",
)
def unshare_study(
    study_id: StudyId,
    org: Annotated[str, Path(min_length=1, max_length=100)],
    principal: PrincipalDep,
    session: SessionDep,
) -> StudyPublic:
    study = registry.get_visible(session, principal, study_id)
    principal.require(SUBMIT, "share studies")
    return registry.to_public(registry.unshare(session, study, org), principal)
