"""Cube selections as JSON, and whole (or selected) cube downloads (NetCDF, zipped Zarr).

Selection syntax for an axis (``sensor_latency_s=0,30``, ``fuel_margin_pct=5:20``,
``where=vehicle.isp_s=305:310``): comma-separated values (each must be a grid value), or an inclusive
range ``lo:hi`` with either end optional. ``site`` takes site names.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from riskengine.errors import ConfigError

DEFAULT_VARIABLES = ("p_success", "p_success_lo", "p_success_hi", "n", "count")
MAX_SELECTOR_LENGTH = 2000


def parse_where(items: Sequence[str]) -> dict[str, str]:
    """``["axis=sel", ...]`` -> ``{axis: sel}``."""
    out: dict[str, str] = {}
    for item in items:
        axis, sep, sel = item.partition("=")
        if not sep or not axis or not sel:
            raise ConfigError(
                f"where={item!r}: expected AXIS=VALUES or AXIS=LO:HI", field="where", value=item
            )
        out[axis] = sel
    return out


def _numbers(text: str, field: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"{field}={text!r}: not a number list or range", field=field, value=text) from None
    if not values or not all(math.isfinite(v) for v in values):
        raise ConfigError(f"{field}={text!r}: give finite numbers", field=field, value=text)
    return values


def _axis_mask(coord: np.ndarray, sel: str, field: str) -> np.ndarray:
    if len(sel) > MAX_SELECTOR_LENGTH:
        raise ConfigError(f"{field}: selector longer than {MAX_SELECTOR_LENGTH} characters", field=field)
    if ":" in sel:
        lo_text, _, hi_text = sel.partition(":")
        lo = _numbers(lo_text, field)[0] if lo_text.strip() else -math.inf
        hi = _numbers(hi_text, field)[0] if hi_text.strip() else math.inf
        if lo > hi:
            raise ConfigError(f"{field}={sel!r}: empty range (lo > hi)", field=field, value=sel)
        return (coord >= lo) & (coord <= hi)
    mask = np.zeros(coord.shape, dtype=bool)
    for v in _numbers(sel, field):
        hit = np.isclose(coord, v, rtol=1e-9, atol=1e-12)
        if not hit.any():
            raise ConfigError(
                f"{field}: {v:g} is not a grid value; the cube has {[float(c) for c in coord]}",
                field=field,
                value=v,
            )
        mask |= hit
    return mask


def select(
    ds: xr.Dataset,
    sites: Sequence[str] | None,
    axes: dict[str, str],
    variables: Sequence[str] | None,
) -> xr.Dataset:
    """The selected part of the cube. Raises ``ConfigError`` naming the offending parameter."""
    grid_dims = [str(d) for d in ds["p_success"].dims]
    if sites:
        known = [str(s) for s in ds["site"].values]
        unknown = [s for s in sites if s not in known]
        if unknown:
            raise ConfigError(
                f"site: {unknown} not in this cube; it has {known}", field="site", value=unknown[0]
            )
        ds = ds.isel(site=[known.index(s) for s in dict.fromkeys(sites)])
    for axis, sel in axes.items():
        if axis not in grid_dims or axis == "site":
            raise ConfigError(
                f"{axis}: not an axis of this cube; its axes are {grid_dims[1:]}", field=axis, value=axis
            )
        mask = _axis_mask(np.asarray(ds[axis].values, dtype=float), sel, axis)
        ds = ds.isel({axis: np.flatnonzero(mask)})
    names = list(dict.fromkeys(variables)) if variables else [v for v in DEFAULT_VARIABLES if v in ds]
    known_vars = sorted(str(v) for v in ds.data_vars)
    for name in names:
        if name not in ds.data_vars:
            raise ConfigError(
                f"variables: no variable {name!r}; the cube has {known_vars}", field="variables", value=name
            )
    return ds[names]


def _clean(value: Any) -> Any:
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(ds: xr.Dataset) -> dict[str, Any]:
    """Selection as JSON: coordinates (with units), variables (dims, units, nested data; NaN -> null)."""
    used_dims: list[str] = []
    for var in ds.data_vars.values():
        used_dims += [str(d) for d in var.dims if str(d) not in used_dims]
    coords = {}
    for dim in used_dims:
        c = ds[dim]
        values = [str(v) for v in c.values] if c.dtype.kind in "OUS" else _clean(c.values.tolist())
        coords[dim] = {"values": values, **{k: plain(v) for k, v in c.attrs.items()}}
    variables = {}
    for name, var in ds.data_vars.items():
        variables[str(name)] = {
            "dims": [str(d) for d in var.dims],
            **{k: plain(v) for k, v in var.attrs.items()},
            "data": _clean(np.asarray(var.values).tolist()),
        }
    return {
        "dims": used_dims,
        "coords": coords,
        "variables": variables,
        "interval": {
            "lower": "p_success_lo",
            "upper": "p_success_hi",
            "method": plain(ds.attrs.get("interval_method")),
            "confidence": plain(ds.attrs.get("interval_confidence")),
        },
    }


def _netcdf_attr(value: Any) -> Any:
    """netCDF3 attributes hold text or numbers (or number arrays); anything else goes as JSON text."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) > 0:
        arr = np.asarray(value)
        if arr.ndim == 1 and arr.dtype.kind in "iuf":
            return arr
    return json.dumps(value, default=str)


def _for_netcdf(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {k: _netcdf_attr(v) for k, v in ds.attrs.items()}
    for name in list(out.variables):
        out[name].attrs = {k: _netcdf_attr(v) for k, v in out[name].attrs.items()}
        if out[name].dtype == bool:
            out[name] = out[name].astype("int8")
    return out


def consolidate(path: str) -> None:
    import warnings

    import zarr

    with warnings.catch_warnings():  # consolidated metadata is a zarr-python extension to v3; wanted here
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        zarr.consolidate_metadata(path)


def download(ds: xr.Dataset, fmt: str) -> tuple[str, str]:
    """Write ``ds`` to a temporary file; returns (path, media type). The caller deletes the file."""
    fd, path = tempfile.mkstemp(suffix=".nc" if fmt == "netcdf" else ".zarr.zip")
    os.close(fd)
    loaded = ds.load()
    if fmt == "netcdf":
        _for_netcdf(loaded).to_netcdf(path)
        return path, "application/x-netcdf"
    import shutil
    import zipfile

    os.unlink(path)
    tmpdir = tempfile.mkdtemp(suffix=".zarr")
    try:
        encoding = {str(n): {"chunks": v.shape} for n, v in loaded.data_vars.items() if v.ndim}
        loaded.to_zarr(tmpdir, mode="w", zarr_format=3, consolidated=False, encoding=encoding)
        consolidate(tmpdir)  # so open_cube / xarray.open_zarr read it as they read a study's cube
        # Store keys at the archive's root, so zarr.storage.ZipStore(path) opens it as the cube.
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
            for file in sorted(Path(tmpdir).rglob("*")):
                if file.is_file():
                    zf.write(file, file.relative_to(tmpdir).as_posix())
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path, "application/zip"
