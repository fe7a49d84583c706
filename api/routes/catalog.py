"""``/v1/sites``, ``/v1/vehicles``: the presets studies can name (any role)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep
from api.errors import responses
from riskengine.config import load_preset, preset_names, site_names
from riskengine.config.models import SiteSpec, VehicleSpec

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get("/sites", response_model=list[SiteSpec], responses=responses(401), summary="Landing sites")
def list_sites(principal: PrincipalDep) -> list[SiteSpec]:
    """Every site preset (``configs/sites``): location, terrain profile, sources."""
    return [load_preset("sites", name, SiteSpec) for name in site_names()]


@router.get("/vehicles", response_model=list[VehicleSpec], responses=responses(401), summary="Vehicles")
def list_vehicles(principal: PrincipalDep) -> list[VehicleSpec]:
    """Every vehicle preset (``configs/vehicles``): masses, engine, touchdown limits."""
    return [load_preset("vehicles", name, VehicleSpec) for name in preset_names("vehicles")]
