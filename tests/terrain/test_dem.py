"""User DEMs: NetCDF, Zarr and GeoTIFF files the test writes come back as the finest levels, in the
right frame; bad files are refused naming the field, the value and what is allowed."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from PIL import Image, TiffImagePlugin
from terrain_helpers import small_terrain

from riskengine.errors import ConfigError
from riskengine.terrain import bilinear, site_elevation

NO_CRATERS = {"equilibrium_a": 0.0, "n1_per_km2": 0.0}
STEP = 4.0
AXIS = np.arange(-700.0, 700.0 + STEP, STEP)


def hill(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Absolute heights (a DEM's own datum): a tilted plane and a 20 m hill at (100, -50)."""
    return 500.0 + 0.01 * a - 0.02 * b + 20.0 * np.exp(-((a - 100.0) ** 2 + (b + 50.0) ** 2) / (2 * 80.0**2))


def _terrain(path, azimuth=270.0):
    return small_terrain(
        dem_file=str(path), approach_azimuth_deg=azimuth, roughness_rms_slope_deg=0.0, craters=NO_CRATERS
    )


def _check(model, expected) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-540.0, 540.0, (2, 400))  # inside the DEM's outer 10 % blend
    np.testing.assert_allclose(model.height_m(x, y), expected(x, y) - expected(0.0, 0.0), atol=0.03)


def _track_dataset() -> xr.Dataset:
    h = hill(AXIS[:, None], AXIS[None, :])
    return xr.Dataset(
        {"height_m": (("downrange_m", "crossrange_m"), h)}, coords={"downrange_m": AXIS, "crossrange_m": AXIS}
    )


def test_netcdf_in_track_coordinates(tmp_path):
    path = tmp_path / "dem.nc"
    _track_dataset().to_netcdf(path, engine="scipy")
    model = site_elevation(_terrain(path), onboard=False)
    _check(model, hill)
    fine = model.levels[-1]  # still joins its parent without a step outside the DEM
    xs = np.linspace(fine.origin_downrange_m, fine.end_downrange_m, 200)
    edge = bilinear(fine, xs, np.full_like(xs, fine.end_crossrange_m))[0]
    assert (
        np.abs(edge - bilinear(model.levels[1], xs, np.full_like(xs, fine.end_crossrange_m))[0]).max() < 1e-3
    )


def test_zarr_store_gives_the_same_model(tmp_path):
    path = tmp_path / "dem.zarr"
    _track_dataset().to_zarr(path, consolidated=False)
    _check(site_elevation(_terrain(path), onboard=False), hill)


def _east_north_heights() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    east, north = AXIS, AXIS[::-1]  # rows run southwards, as in an image
    return east, north, hill(east[None, :], north[:, None])  # hill(a=east, b=north), shape (north, east)


def test_netcdf_east_north_rotated_into_the_track(tmp_path):
    east, north, h = _east_north_heights()
    path = tmp_path / "dem_en.nc"
    xr.Dataset({"elevation": (("y", "x"), h)}, coords={"y": north, "x": east}).to_netcdf(path, engine="scipy")
    # Flying north: downrange = north, crossrange (left) = west = -east.
    _check(site_elevation(_terrain(path, azimuth=0.0), onboard=False), lambda x, y: hill(-y, x))


def test_geotiff_read_with_its_georeferencing(tmp_path):
    east, north, h = _east_north_heights()
    path = tmp_path / "dem.tif"
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[33550] = (STEP, STEP, 0.0)
    ifd[33922] = (0.0, 0.0, 0.0, float(east[0]), float(north[0]), 0.0)
    ifd.tagtype[33550] = ifd.tagtype[33922] = 12  # DOUBLE
    Image.fromarray(h.astype(np.float32)).save(path, tiffinfo=ifd)
    _check(site_elevation(_terrain(path, azimuth=0.0), onboard=False), lambda x, y: hill(-y, x))
    # Flying east: downrange = east, crossrange = north.
    _check(site_elevation(_terrain(path, azimuth=90.0), onboard=False), hill)


def test_missing_file_names_field_and_value(tmp_path):
    with pytest.raises(ConfigError) as exc:
        site_elevation(_terrain(tmp_path / "nope.nc"), onboard=False)
    assert (
        exc.value.field == "terrain.dem_file" and "nope.nc" in str(exc.value) and "NetCDF" in str(exc.value)
    )
    with pytest.raises(ConfigError, match="configs/sites"):
        site_elevation(_terrain("missing_relative.tif"), onboard=False)


def test_grid_without_coordinates_or_known_variable_is_refused(tmp_path):
    bare = tmp_path / "bare.nc"
    xr.Dataset({"height_m": (("downrange_m", "crossrange_m"), np.zeros((4, 4)))}).to_netcdf(
        bare, engine="scipy"
    )
    with pytest.raises(
        ConfigError, match=r"terrain.dem_file.*coordinate variables \('downrange_m', 'crossrange_m'\)"
    ):
        site_elevation(_terrain(bare), onboard=False)
    other = tmp_path / "other.nc"
    xr.Dataset({"z": (("i", "j"), np.zeros((4, 4)))}).to_netcdf(other, engine="scipy")
    with pytest.raises(
        ConfigError, match=r"height_m\(downrange_m, crossrange_m\) or elevation\(y, x\); found \{'z'"
    ):
        site_elevation(_terrain(other), onboard=False)
    tif = tmp_path / "plain.tif"
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tif)
    with pytest.raises(ConfigError, match="ModelPixelScaleTag"):
        site_elevation(_terrain(tif), onboard=False)


def test_nan_heights_are_refused(tmp_path):
    ds = _track_dataset()
    ds["height_m"][10, 10] = np.nan
    path = tmp_path / "holes.nc"
    ds.to_netcdf(path, engine="scipy")
    with pytest.raises(ConfigError, match=r"1 heights are NaN or infinite.*allowed: finite"):
        site_elevation(_terrain(path), onboard=False)
