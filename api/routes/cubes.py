"""``/v1/studies/{id}/cube``: a selection as JSON, or a download (NetCDF, zipped Zarr)."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api import cubes
from api import studies as registry
from api.deps import PrincipalDep, SessionDep
from api.errors import StudyNotReady, responses
from api.routes.studies import StudyId
from riskengine.errors import StorageError
from riskengine.store import CubeStore
from riskengine.study import open_cube

router = APIRouter(prefix="/v1/studies", tags=["cubes"])

AXIS_HELP = "grid values, comma-separated (`0,30`), or an inclusive range `lo:hi` (either end optional)"

CUBE_EXAMPLE = {
    "study_id": "st_3f9a1c0b2e7d4a51",
    "status": "succeeded",
    "dims": ["site", "sensor_latency_s", "fuel_margin_pct"],
    "coords": {
        "site": {"values": ["atlas_crater"], "long_name": "landing site"},
        "sensor_latency_s": {"values": [0.0, 30.0], "units": "s"},
        "fuel_margin_pct": {"values": [10.0], "units": "percent"},
    },
    "variables": {
        "p_success": {
            "dims": ["site", "sensor_latency_s", "fuel_margin_pct"],
            "units": "1",
            "data": [[[0.97], [0.91]]],
        }
    },
    "interval": {"lower": "p_success_lo", "upper": "p_success_hi", "method": "wilson", "confidence": 0.95},
    "attrs": {"title": "Landing-risk cube: smoke", "samples_per_cell": 100},
}

ATTRS = ("title", "summary", "status", "samples_per_cell", "spec_sha256", "seed", "kernel", "Conventions")


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()] or None


@router.get(
    "/{study_id}/cube",
    responses={
        200: {
            "description": "the selection as JSON, or the file asked for with `format`",
            "content": {
                "application/json": {"example": CUBE_EXAMPLE},
                "application/x-netcdf": {"schema": {"type": "string", "format": "binary"}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **responses(401, 404, 409, 422),
    },
    response_model=None,
    summary="Read the cube, or a selection of it",
)
def get_cube(
    study_id: StudyId,
    principal: PrincipalDep,
    session: SessionDep,
    site: Annotated[
        list[str] | None, Query(description="sites to include (repeat or comma-separate)")
    ] = None,
    sensor_latency_s: Annotated[str | None, Query(description=AXIS_HELP, max_length=2000)] = None,
    fuel_margin_pct: Annotated[str | None, Query(description=AXIS_HELP, max_length=2000)] = None,
    where: Annotated[
        list[str] | None,
        Query(description="any grid axis: `AXIS=VALUES` or `AXIS=LO:HI` (repeatable)"),
    ] = None,
    variables: Annotated[
        list[str] | None,
        Query(description="cube variables (default p_success, p_success_lo, p_success_hi, n, count)"),
    ] = None,
    format: Annotated[
        Literal["json", "netcdf", "zarr"],
        Query(description="json (default), netcdf (a .nc file) or zarr (a zipped Zarr v3 store)"),
    ] = "json",
) -> Any:
    """The cube of a study (partial while it runs: cells not yet run are null, ``n`` is 0)."""
    study = registry.get_visible(session, principal, study_id)
    axes = cubes.parse_where(where or [])
    for axis, sel in (("sensor_latency_s", sensor_latency_s), ("fuel_margin_pct", fuel_margin_pct)):
        if sel is not None:
            axes[axis] = sel
    try:
        exists = CubeStore.open(study.cube_location) is not None
    except StorageError:
        exists = False
    if not exists:
        raise StudyNotReady(f"study {study.id} has no cube yet (status {study.status})")
    ds = open_cube(study.cube_location)
    names = _split(variables)
    if names is None and format != "json":  # a download is the whole cube unless asked otherwise
        names = [str(v) for v in ds.data_vars]
    selected = cubes.select(ds, _split(site), axes, names)
    if format != "json":
        selected.attrs = dict(ds.attrs)
        path, media_type = cubes.download(selected, format)
        suffix = ".nc" if format == "netcdf" else ".zarr.zip"
        return FileResponse(
            path,
            media_type=media_type,
            filename=f"{study.id}{suffix}",
            background=BackgroundTask(os.unlink, path),
        )
    return {
        "study_id": study.id,
        "status": study.status,
        **cubes.to_json(selected),
        "attrs": {k: cubes.plain(ds.attrs[k]) for k in ATTRS if k in ds.attrs},
    }
