"""Settings of the study engine, read from the environment once, on first use (never at import).

``RISKENGINE_DATA_DIR``    where caches live (default ``~/.cache/riskengine``).
``RISKENGINE_JAX_CACHE_DIR`` the JAX persistent compilation cache (default ``<data_dir>/jax-cache``): Ray
                           workers and the CLI's engine commands load compiled programs from it instead of
                           compiling (~18-40 s per program on one core); processes that share it share them.
``RAY_ADDRESS``            join this Ray cluster instead of starting an embedded local instance.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StudySettings:
    data_dir: Path
    ray_address: str | None
    jax_cache_override: Path | None = None

    @property
    def jax_cache_dir(self) -> Path:
        return self.jax_cache_override or self.data_dir / "jax-cache"


def settings_from_env(environ: dict[str, str] | None = None) -> StudySettings:
    """Build settings from a mapping (the process environment by default); a seam for tests."""
    env = dict(os.environ) if environ is None else environ
    default_data = Path(env.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "riskengine"
    return StudySettings(
        data_dir=Path(env.get("RISKENGINE_DATA_DIR", default_data)),
        ray_address=env.get("RAY_ADDRESS") or None,
        jax_cache_override=Path(env["RISKENGINE_JAX_CACHE_DIR"])
        if env.get("RISKENGINE_JAX_CACHE_DIR")
        else None,
    )


@functools.cache
def get_settings() -> StudySettings:
    """The process's settings, read once."""
    return settings_from_env()
