"""User DEMs: a real height grid for the finest levels, read from NetCDF, Zarr or GeoTIFF.

Accepted layouts (heights in m; any constant offset is removed so the DEM's height at the target is 0
when the target lies inside it, else its median):
- NetCDF or Zarr (read by xarray; NetCDF needs an installed engine: scipy for NetCDF3, h5netcdf or
  netCDF4 for NetCDF4):
  * ``height_m(downrange_m, crossrange_m)``: track coordinates of the site, m (used as they are);
  * ``elevation(y, x)``: ``x`` metres east and ``y`` metres north of the landing target (local
    tangent-plane offsets); rotated into track coordinates with the site's ``approach_azimuth_deg``.
  Coordinates must be evenly spaced and increasing or decreasing (either is accepted).
- GeoTIFF (``.tif``/``.tiff``), one float band, read with Pillow (already installed with matplotlib, so no
  new dependency; tifffile would also do, but adds one): the raster is in a local metric projection whose
  origin is the landing target (easting, northing in m). ModelPixelScaleTag (33550) gives the pixel size,
  ModelTiepointTag (33922) the (easting, northing) of pixel (0, 0)'s centre; rows run southwards.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from riskengine.errors import ConfigError
from riskengine.terrain._frames import to_east_north
from riskengine.terrain._landforms import smoothstep

F64 = NDArray[np.floating]
FIELD = "terrain.dem_file"


@dataclass(frozen=True)
class Dem:
    """Heights on an even grid; ``frame`` "track" (axis 0 downrange, axis 1 crossrange) or
    "east_north" (axis 0 north, axis 1 east), coordinates of node (0, 0) and steps per axis, m."""

    frame: str
    origin_m: tuple[float, float]
    step_m: tuple[float, float]
    heights_m: F64

    def sample(self, downrange_m: F64, crossrange_m: F64, azimuth_deg: float) -> tuple[F64, F64]:
        """(height m, blend weight 0..1) at track points: bilinear inside, weight tapering to 0 over the outer
        10 % of the DEM so it joins the procedural surface without a step; weight 0 outside."""
        if self.frame == "track":
            a, b = downrange_m, crossrange_m
        else:
            east, north = to_east_north(downrange_m, crossrange_m, azimuth_deg)
            a, b = north, east
        n0, n1 = self.heights_m.shape
        fa = (a - self.origin_m[0]) / self.step_m[0]
        fb = (b - self.origin_m[1]) / self.step_m[1]
        ia = np.clip(np.floor(fa).astype(np.int64), 0, n0 - 2)
        ib = np.clip(np.floor(fb).astype(np.int64), 0, n1 - 2)
        u, v = np.clip(fa - ia, 0.0, 1.0), np.clip(fb - ib, 0.0, 1.0)
        h = self.heights_m
        height = (h[ia, ib] * (1 - u) + h[ia + 1, ib] * u) * (1 - v) + (
            h[ia, ib + 1] * (1 - u) + h[ia + 1, ib + 1] * u
        ) * v
        ramp_a, ramp_b = max(1.0, 0.1 * (n0 - 1)), max(1.0, 0.1 * (n1 - 1))
        wa = smoothstep(np.minimum(fa, n0 - 1 - fa) / ramp_a)
        wb = smoothstep(np.minimum(fb, n1 - 1 - fb) / ramp_b)
        return height, wa * wb


def resolve(path: str) -> Path:
    """Absolute path of ``dem_file``: as given if absolute, else relative to the sites preset folder."""
    p = Path(path)
    if not p.is_absolute():
        from riskengine.config.presets import config_dir  # the preset folder is a setting: read when used

        p = config_dir() / "sites" / p
    if not p.is_file() and not p.is_dir():
        raise ConfigError(
            f"field '{FIELD}' = {path!r}: no such file ({p}); give a NetCDF, Zarr or GeoTIFF path, absolute or "
            "relative to configs/sites/",
            field=FIELD,
            value=path,
        )
    return p


def file_key(path: str | None) -> tuple[str, int, int] | None:
    """(resolved path, mtime ns, size) so a cached model is rebuilt when the file changes."""
    if path is None:
        return None
    p = resolve(path)
    st = os.stat(p)
    return (str(p), st.st_mtime_ns, st.st_size)


def _even(name: str, coord: F64, path: Path) -> tuple[float, float]:
    d = np.diff(coord)
    if coord.size < 2 or not np.all(np.abs(d - d[0]) <= 1e-6 * max(abs(d[0]), 1e-9)) or d[0] == 0:
        raise ConfigError(
            f"field '{FIELD}' = '{path}': coordinate '{name}' must be evenly spaced with >= 2 values",
            field=FIELD,
            value=str(path),
        )
    return float(coord[0]), float(d[0])


def _read_xarray(path: Path) -> Dem:
    import xarray as xr

    try:
        with warnings.catch_warnings():
            # A store without consolidated metadata is fine for one small grid read once per process.
            warnings.filterwarnings("ignore", message="Failed to open Zarr store with consolidated")
            is_zarr = path.is_dir() or path.suffix == ".zarr"
            ds = xr.open_zarr(path) if is_zarr else xr.open_dataset(path)
    except Exception as exc:
        raise ConfigError(
            f"field '{FIELD}' = '{path}': not readable as NetCDF or Zarr ({exc})",
            field=FIELD,
            value=str(path),
        ) from exc
    with ds:
        if "height_m" in ds and set(ds["height_m"].dims) == {"downrange_m", "crossrange_m"}:
            da, frame, dims = ds["height_m"], "track", ("downrange_m", "crossrange_m")
        elif "elevation" in ds and set(ds["elevation"].dims) == {"y", "x"}:
            da, frame, dims = ds["elevation"], "east_north", ("y", "x")
        else:
            found = {str(k): tuple(str(d) for d in v.dims) for k, v in ds.data_vars.items()}
            raise ConfigError(
                f"field '{FIELD}' = '{path}': needs a variable height_m(downrange_m, crossrange_m) or "
                f"elevation(y, x); found {found}",
                field=FIELD,
                value=str(path),
            )
        if any(d not in ds.coords for d in dims):
            raise ConfigError(
                f"field '{FIELD}' = '{path}': variable '{da.name}' needs coordinate variables {dims} (m)",
                field=FIELD,
                value=str(path),
            )
        da = da.transpose(*dims)
        heights = np.asarray(da.values, dtype=np.float64)
        c0 = np.asarray(ds[dims[0]].values, dtype=np.float64)
        c1 = np.asarray(ds[dims[1]].values, dtype=np.float64)
    o0, s0 = _even(dims[0], c0, path)
    o1, s1 = _even(dims[1], c1, path)
    return Dem(frame, (o0, o1), (s0, s1), heights)


def _read_geotiff(path: Path) -> Dem:
    from PIL import Image

    try:
        with Image.open(path) as img:
            tags = getattr(img, "tag_v2", {})
            scale = tags.get(33550)
            tie = tags.get(33922)
            heights = np.asarray(img, dtype=np.float64)
    except Exception as exc:
        raise ConfigError(
            f"field '{FIELD}' = '{path}': not a readable TIFF ({exc})", field=FIELD, value=str(path)
        ) from exc
    if scale is None or tie is None or len(tie) < 6:
        raise ConfigError(
            f"field '{FIELD}' = '{path}': a GeoTIFF needs ModelPixelScaleTag (33550) and ModelTiepointTag (33922)",
            field=FIELD,
            value=str(path),
        )
    i0, j0, east0, north0 = float(tie[0]), float(tie[1]), float(tie[3]), float(tie[4])
    sx, sy = float(scale[0]), float(scale[1])
    # Axis 0 is rows (northing decreasing), axis 1 columns (easting increasing).
    return Dem("east_north", (north0 + j0 * sy, east0 - i0 * sx), (-sy, sx), heights)


def read_dem(path_text: str, azimuth_deg: float) -> Dem:
    """The DEM at ``dem_file``, datum-shifted to 0 at the target; ConfigError for missing files, missing
    coordinates, uneven grids and non-finite heights."""
    path = resolve(path_text)
    dem = _read_geotiff(path) if path.suffix.lower() in {".tif", ".tiff"} else _read_xarray(path)
    if dem.heights_m.ndim != 2 or min(dem.heights_m.shape) < 2:
        raise ConfigError(
            f"field '{FIELD}' = '{path}': expected a 2-D grid of >= 2 x 2 heights",
            field=FIELD,
            value=str(path),
        )
    bad = int(np.count_nonzero(~np.isfinite(dem.heights_m)))
    if bad:
        raise ConfigError(
            f"field '{FIELD}' = '{path}': {bad} heights are NaN or infinite; fill the gaps first (allowed: finite m)",
            field=FIELD,
            value=str(path),
        )
    h, w = dem.sample(np.zeros(1), np.zeros(1), azimuth_deg)
    datum = float(h[0]) if w[0] > 0.0 else float(np.median(dem.heights_m))
    return Dem(dem.frame, dem.origin_m, dem.step_m, dem.heights_m - datum)
