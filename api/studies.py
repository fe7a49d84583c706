"""Study registry operations behind the routes: submit (validate, enforce limits), views, cancel, share."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from api.auth import Principal, check_org
from api.db.models import ACTIVE, Study, StudyShare, as_utc, utc_now
from api.deps import ServiceState
from api.errors import LimitExceeded, StudyNotReady, TooManyStudies
from api.schemas.studies import StudiesPublic, StudyProgressPublic, StudyPublic, StudySummary
from riskengine.errors import ConfigError, NotFoundError
from riskengine.study import StudySpec, check_spec, parse_study_spec
from riskengine.study.spec import resolve_preset


def parse_submission(body: Mapping[str, Any]) -> StudySpec:
    """The engine's own parser: a full spec, or ``{"preset": name, ...overrides}``."""
    try:
        if "preset" in body:  # resolved first, so a bad preset's error keeps its field name
            body = resolve_preset(body)
        return parse_study_spec(body)
    except NotFoundError as exc:  # an unknown preset is bad input, not a missing resource
        raise ConfigError(str(exc), field="preset", value=body.get("preset")) from exc


def check_limits(spec: StudySpec, service: ServiceState) -> None:
    s = service.settings
    total = spec.n_cells * spec.samples_per_cell
    checks = (
        ("grid", spec.n_cells, s.max_cells, "cells (sites x grid values)", "RISKENGINE_MAX_CELLS"),
        (
            "samples_per_cell",
            spec.samples_per_cell,
            s.max_samples_per_cell,
            "samples per cell",
            "RISKENGINE_MAX_SAMPLES_PER_CELL",
        ),
        (
            "samples_per_cell",
            total,
            s.max_total_trajectories,
            "total trajectories (cells x samples_per_cell)",
            "RISKENGINE_MAX_TOTAL_TRAJECTORIES",
        ),
    )
    for field, value, limit, what, env in checks:
        if value > limit:
            raise LimitExceeded(
                f"study refused: {value:,} {what} exceeds this service's limit of {limit:,} ({env})",
                field=field,
                value=value,
            )


def submit(
    session: Session, service: ServiceState, principal: Principal, body: Mapping[str, Any]
) -> tuple[Study, StudySpec]:
    spec = parse_submission(body)
    check_limits(spec, service)  # first: cheap, and spares checking a huge grid value by value
    check_spec(spec, service.kernel)
    active = session.scalar(select(func.count()).select_from(Study).where(Study.status.in_(ACTIVE))) or 0
    if active >= service.settings.max_active_studies:
        raise TooManyStudies(
            f"{active} studies are queued or running, the limit is {service.settings.max_active_studies} "
            "(RISKENGINE_MAX_ACTIVE_STUDIES); try again later"
        )
    study_id = "st_" + secrets.token_hex(8)
    now = utc_now()
    study = Study(
        id=study_id,
        org=principal.org,
        created_by=principal.key_id,
        name=spec.name,
        status="queued",
        spec_json=spec.canonical_json(),
        spec_sha256=spec.sha256(),
        kernel=service.kernel.name,
        cube_location=f"{service.settings.resolved_store_url.rstrip('/')}/{study_id}.zarr",
        cancel_requested=False,
        runs=0,
        chunks_done=0,
        chunks_total=0,
        chunks_resumed=0,
        samples_done=0,
        samples_total=spec.n_cells * spec.samples_per_cell,
        created_at=now,
        updated_at=now,
    )
    session.add(study)
    session.commit()
    service.runner.submit(study_id)
    return study, spec


def get_visible(session: Session, principal: Principal, study_id: str) -> Study:
    return principal.visible(session.get(Study, study_id), study_id)


def _visible_query(principal: Principal) -> Select[Study]:
    q = select(Study)
    if principal.role == "insurer":
        shared = select(StudyShare.study_id).where(StudyShare.org == principal.org)
        q = q.where(Study.id.in_(shared))
    elif not principal.is_admin:
        q = q.where(Study.org == principal.org)
    return q


def list_studies(
    session: Session, principal: Principal, status: str | None, limit: int, offset: int
) -> StudiesPublic:
    q = _visible_query(principal)
    if status is not None:
        q = q.where(Study.status == status)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(Study.created_at.desc(), Study.id).limit(limit).offset(offset)).all()
    items = [
        StudySummary(
            id=s.id,
            name=s.name,
            org=s.org,
            status=s.status,
            progress=progress_of(s),
            created_at=as_utc(s.created_at),
            finished_at=as_utc(s.finished_at),
        )
        for s in rows
    ]
    return StudiesPublic(items=items, total=total, limit=limit, offset=offset)


def progress_of(s: Study) -> StudyProgressPublic:
    fraction = (
        s.samples_done / s.samples_total if s.samples_total else (1.0 if s.status == "succeeded" else 0.0)
    )
    return StudyProgressPublic(
        completed_chunks=s.chunks_done,
        total_chunks=s.chunks_total,
        resumed_chunks=s.chunks_resumed,
        samples_done=s.samples_done,
        samples_total=s.samples_total,
        fraction=min(1.0, max(0.0, fraction)),
        eta_s=s.eta_s,
        updated_at=as_utc(s.updated_at),
    )


def to_public(s: Study, principal: Principal) -> StudyPublic:
    manages = principal.is_admin or (principal.org == s.org and principal.role != "insurer")
    provenance: dict[str, Any] = {"spec_sha256": s.spec_sha256, "kernel": s.kernel, "runs": s.runs}
    if s.provenance_json:
        provenance |= json.loads(s.provenance_json)
    return StudyPublic(
        id=s.id,
        name=s.name,
        org=s.org,
        status=s.status,
        progress=progress_of(s),
        error=s.error,
        spec=json.loads(s.spec_json),
        provenance=provenance,
        shared_with=sorted(sh.org for sh in s.shares) if manages else [],
        created_at=as_utc(s.created_at),
        started_at=as_utc(s.started_at),
        finished_at=as_utc(s.finished_at),
        cube_url=f"/v1/studies/{s.id}/cube",
    )


def cancel(session: Session, service: ServiceState, study: Study) -> Study:
    """Queued: cancelled at once. Running: the runner stops it between chunks (poll the study)."""
    if study.status not in ACTIVE:
        raise StudyNotReady(
            f"study {study.id} is already {study.status}; only queued or running studies can be cancelled"
        )
    now = utc_now()
    done = session.execute(
        update(Study)
        .where(Study.id == study.id, Study.status == "queued")
        .values(status="cancelled", cancel_requested=True, finished_at=now, updated_at=now)
    )
    if getattr(done, "rowcount", 0) == 0:
        session.execute(
            update(Study)
            .where(Study.id == study.id, Study.status.in_(ACTIVE))
            .values(cancel_requested=True, updated_at=now)
        )
        service.runner.request_cancel(study.id)
    session.commit()
    session.refresh(study)
    return study


def share(session: Session, study: Study, org: str) -> Study:
    check_org(org)
    if org not in {sh.org for sh in study.shares}:
        study.shares.append(StudyShare(study_id=study.id, org=org, created_at=utc_now()))
        session.commit()
        session.refresh(study)
    return study


def unshare(session: Session, study: Study, org: str) -> Study:
    for sh in list(study.shares):
        if sh.org == org:
            study.shares.remove(sh)
    session.commit()
    session.refresh(study)
    return study
