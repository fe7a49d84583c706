"""Local frames of a site: latitude/longitude offsets, east/north offsets, and track coordinates.

East/north: arc lengths on the reference sphere from the landing target (local tangent plane, good to
~0.1 % within ~100 km). Track: ``downrange`` along the direction of flight (azimuth clockwise from north),
``crossrange`` to the left of track.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

MOON_RADIUS_KM = 1737.4  # NASA Moon fact sheet (landing-facts.md)


def east_north_km(
    lat_deg: float, lon_deg: float, ref_lat_deg: float, ref_lon_deg: float
) -> tuple[float, float]:
    """Offset (east km, north km) of (lat, lon) from the reference point on the lunar sphere.

    Atlas crater's centre (46.7 N, 44.4 E) from the Hakuto-R M1 debris (47.581 N, 44.094 E): (6.31, -26.71) km.
    """
    north = math.radians(lat_deg - ref_lat_deg) * MOON_RADIUS_KM
    east = (
        math.radians(lon_deg - ref_lon_deg)
        * MOON_RADIUS_KM
        * math.cos(math.radians(0.5 * (lat_deg + ref_lat_deg)))
    )
    return east, north


def track_axes(azimuth_deg: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Unit vectors (east, north) of downrange (the direction of flight) and crossrange (its left)."""
    a = math.radians(azimuth_deg)
    forward = np.array([math.sin(a), math.cos(a)])
    left = np.array([-math.cos(a), math.sin(a)])
    return forward, left


def to_track(
    east_m: ArrayLike, north_m: ArrayLike, azimuth_deg: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(downrange m, crossrange m) of east/north offsets, m."""
    fwd, left = track_axes(azimuth_deg)
    e, n = np.asarray(east_m, float), np.asarray(north_m, float)
    return e * fwd[0] + n * fwd[1], e * left[0] + n * left[1]


def to_east_north(
    downrange_m: ArrayLike, crossrange_m: ArrayLike, azimuth_deg: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(east m, north m) of track coordinates (the inverse rotation of ``to_track``)."""
    fwd, left = track_axes(azimuth_deg)
    x, y = np.asarray(downrange_m, float), np.asarray(crossrange_m, float)
    return x * fwd[0] + y * left[0], x * fwd[1] + y * left[1]


def direction_in_track(strike_deg: float, azimuth_deg: float) -> tuple[float, float]:
    """Unit vector (downrange, crossrange) of a horizontal direction given clockwise from north."""
    s = math.radians(strike_deg)
    d, c = to_track(math.sin(s), math.cos(s), azimuth_deg)
    return float(d), float(c)
