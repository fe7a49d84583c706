"""Study request and response models."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

StudyStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]

PRESET_EXAMPLE: dict[str, Any] = {"preset": "smoke", "samples_per_cell": 500, "seed": 7}
FULL_EXAMPLE: dict[str, Any] = {
    "name": "frigoris-latency",
    "description": "Mare Frigoris: altimeter latency vs fuel margin",
    "scenario": {"vehicle": "m1_class", "sensors": "lrf_nominal", "guidance": "standard"},
    "sites": ["mare_frigoris"],
    "grid": {"sensor_latency_s": [0.0, 30.0], "fuel_margin_pct": [5.0, 20.0]},
    "samples_per_cell": 200,
    "seed": 42,
    "dispersions": {"navigation.initial_altitude_error_m": {"kind": "normal", "mean": 0.0, "std": 150.0}},
}


class PresetStudyCreate(BaseModel):
    """A study preset (``configs/studies/<preset>.yaml``) with any spec fields overridden; mappings
    (``grid``, ``dispersions``, ``scenario``) merge with the preset's, other values replace them."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [PRESET_EXAMPLE]})

    preset: str = Field(min_length=1, max_length=100, examples=["smoke"])
    samples_per_cell: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, ge=0)
    name: str | None = None


class StudyCreated(BaseModel):
    """The accepted study: poll ``Location`` (``/v1/studies/{id}``) for its status."""

    id: str = Field(examples=["st_3f9a1c0b2e7d4a51"])
    status: StudyStatus = "queued"
    location: str = Field(examples=["/v1/studies/st_3f9a1c0b2e7d4a51"])
    n_cells: int = Field(examples=[18])
    total_trajectories: int = Field(examples=[9000])


class StudyProgressPublic(BaseModel):
    completed_chunks: int
    total_chunks: int
    resumed_chunks: int = Field(description="chunks found finished in the store when the study resumed")
    samples_done: int = Field(description="trajectories counted in the cube so far")
    samples_total: int = Field(description="planned trajectories (reduced when cells stop early)")
    fraction: float = Field(ge=0, le=1)
    eta_s: float | None = Field(description="seconds left at this run's throughput (null until known)")
    updated_at: dt.datetime


class StudyPublic(BaseModel):
    """A study as the registry knows it."""

    id: str
    name: str
    org: str
    status: StudyStatus
    progress: StudyProgressPublic
    error: str | None = None
    spec: dict[str, Any] = Field(description="the validated study spec (presets resolved)")
    provenance: dict[str, Any] = Field(
        description="how the cube was made: versions, git revision, spec hash, seed, PRNG, runs"
    )
    shared_with: list[str] = Field(default_factory=list, description="organisations it is shared with")
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    cube_url: str


class StudySummary(BaseModel):
    id: str
    name: str
    org: str
    status: StudyStatus
    progress: StudyProgressPublic
    created_at: dt.datetime
    finished_at: dt.datetime | None = None


class StudiesPublic(BaseModel):
    """One page of studies, newest first."""

    items: list[StudySummary]
    total: int = Field(description="studies matching the filter")
    limit: int
    offset: int


class ShareCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="organisation whose insurers may read the study",
        examples=["lunar-mutual"],
    )
