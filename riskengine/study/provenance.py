"""Provenance recorded in every cube: versions, git revision, spec and its hash, times."""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import subprocess
from pathlib import Path
from typing import Any

from riskengine.study.spec import StudySpec

_PACKAGES = ("riskengine", "jax", "jaxlib", "ray", "zarr", "xarray", "numpy", "pydantic")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def package_version() -> str:
    return _version("riskengine")


def _version(pkg: str) -> str:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@functools.cache
def git_revision() -> str:
    """HEAD of the checkout the package runs from ("" if none), with ``-dirty`` if it has changes."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{rev}-dirty" if dirty else rev


def jax_prng_impl() -> str:
    import jax

    # Read, not computed: the driver runs no JAX before Ray has started its workers.
    return str(getattr(jax.config, "jax_default_prng_impl", "unknown"))


def provenance(spec: StudySpec, kernel_name: str) -> dict[str, Any]:
    """Attributes describing how a cube was made (all JSON-serialisable)."""
    return {
        **{f"{pkg}_version": _version(pkg) for pkg in _PACKAGES},
        "git_revision": git_revision(),
        "kernel": kernel_name,
        "spec_json": spec.canonical_json(),
        "spec_sha256": spec.sha256(),
        "seed": spec.seed,
        "jax_prng_impl": jax_prng_impl(),
    }
