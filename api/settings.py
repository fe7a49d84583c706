"""Service settings, read from the environment once, on first use (never at import).

Every field can be given as an environment variable (names in the README's settings table, docs/api.md);
tests build :class:`Settings` directly (``Settings(data_dir=tmp, ...)``) and pass it to ``create_app``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str, *more: str) -> AliasChoices:
    # Accept the field name (Settings(data_dir=...)) and the documented environment variable(s).
    return AliasChoices(name, *more)


class Settings(BaseSettings):
    """Settings of the HTTP service. Paths are resolved against the working directory."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    data_dir: Path = Field(
        default=Path("data"),
        validation_alias=_env("data_dir", "RISKENGINE_DATA_DIR"),
        description="root of the service's files: SQLite database, cubes, JAX compilation cache",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=_env("database_url", "DATABASE_URL"),
        description="SQLAlchemy URL of the study registry (default: sqlite file <data_dir>/riskengine.db)",
    )
    store_url: str | None = Field(
        default=None,
        validation_alias=_env("store_url", "RISKENGINE_STORE_URL"),
        description="where cubes live: a directory or an fsspec URL (default: <data_dir>/cubes)",
    )
    ray_address: str | None = Field(
        default=None,
        validation_alias=_env("ray_address", "RAY_ADDRESS"),
        description="join this Ray cluster instead of starting an embedded local instance",
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        validation_alias=_env("workers", "RISKENGINE_WORKERS"),
        description="CPUs of the embedded Ray instance (default: all of the machine's)",
    )
    executor: Literal["ray", "local"] = Field(
        default="ray",
        validation_alias=_env("executor", "RISKENGINE_EXECUTOR"),
        description="ray (default) or local (chunks run in the service process; no Ray)",
    )
    kernel: Literal["descent", "bernoulli"] = Field(
        default="descent",
        validation_alias=_env("kernel", "RISKENGINE_KERNEL"),
        description="descent: the lander engine; bernoulli: closed-form model for exercising the machinery",
    )
    chunk_size: int | None = Field(
        default=None,
        ge=1,
        validation_alias=_env("chunk_size", "RISKENGINE_CHUNK_SIZE"),
        description="samples per chunk task (default: the study engine's, 1000)",
    )
    host: str = Field(default="127.0.0.1", validation_alias=_env("host", "RISKENGINE_HOST"))
    port: int = Field(default=8000, ge=0, le=65535, validation_alias=_env("port", "RISKENGINE_PORT"))
    max_cells: int = Field(default=2_000, ge=1, validation_alias=_env("max_cells", "RISKENGINE_MAX_CELLS"))
    max_samples_per_cell: int = Field(
        default=100_000,
        ge=1,
        validation_alias=_env("max_samples_per_cell", "RISKENGINE_MAX_SAMPLES_PER_CELL"),
    )
    max_total_trajectories: int = Field(
        default=10_000_000,
        ge=1,
        validation_alias=_env("max_total_trajectories", "RISKENGINE_MAX_TOTAL_TRAJECTORIES"),
    )
    max_active_studies: int = Field(
        default=100,
        ge=1,
        validation_alias=_env("max_active_studies", "RISKENGINE_MAX_ACTIVE_STUDIES"),
        description="queued + running studies accepted at once; more are refused with 429",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'riskengine.db'}"

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or str(self.data_dir / "cubes")


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
