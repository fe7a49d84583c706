"""Where a cube lives: a local directory by default, any fsspec URL (``s3://bucket/x.zarr``) otherwise,
or a ready zarr store object (``zarr.storage.MemoryStore()`` in tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import zarr.storage
from zarr.abc.store import Store

from riskengine.errors import StorageError

Location = str | Path | Store


def describe(location: Location) -> str:
    return str(location) if isinstance(location, (str, Path)) else type(location).__name__


def is_url(location: Location) -> bool:
    return isinstance(location, str) and "://" in location and not location.startswith("file://")


def open_store(
    location: Location, *, read_only: bool = False, storage_options: dict[str, Any] | None = None
) -> Store:
    """A zarr store for ``location``."""
    if isinstance(location, Store):
        return location
    try:
        if is_url(str(location)):
            return zarr.storage.FsspecStore.from_url(
                str(location), storage_options=storage_options, read_only=read_only
            )
        path = Path(str(location).removeprefix("file://"))
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        return zarr.storage.LocalStore(path, read_only=read_only)
    except (OSError, ValueError, ImportError) as exc:
        raise StorageError(f"cannot open cube store {describe(location)}: {exc}") from exc
