"""Named landforms in the built site models match the public figures they cite."""

from __future__ import annotations

import numpy as np
from terrain_helpers import site_terrain, small_terrain

from riskengine.config.terrain_models import WrinkleRidgeSpec
from riskengine.terrain import site_elevation
from riskengine.terrain._frames import east_north_km, to_track
from riskengine.terrain._landforms import wrinkle_ridge


def _centre_track_m(terrain, name):
    f = next(f for f in terrain.features if f.name == name)
    x, y = to_track(f.east_km * 1e3, f.north_km * 1e3, terrain.approach_azimuth_deg)
    return float(x), float(y)


def _radial_profile(model, centre, radii_m, n_az=72):
    az = np.linspace(0.0, 2 * np.pi, n_az, endpoint=False)
    x = centre[0] + radii_m[:, None] * np.cos(az)[None, :]
    y = centre[1] + radii_m[:, None] * np.sin(az)[None, :]
    return model.height_m(x, y)


def test_atlas_offsets_from_the_public_coordinates():
    east, north = east_north_km(46.7, 44.4, 47.581, 44.094)
    f = next(f for f in site_terrain("atlas_crater").features if f.name == "atlas")
    assert abs(f.east_km - east) < 0.05 and abs(f.north_km - north) < 0.05


def test_atlas_rim_crest_depth_diameter_and_the_rim_crossing_36_km_out():
    terrain = site_terrain("atlas_crater")
    model = site_elevation(terrain, onboard=False)
    centre = _centre_track_m(terrain, "atlas")
    radii = np.arange(30e3, 56e3, 100.0)
    # The crater centre is 27 km off track, outside the corridor grid, so use the analytic crest circle:
    # sample the azimuths whose rim points lie on the grid (downrange -720..60 km, crossrange -40..50 km).
    prof = _radial_profile(model, centre, radii, n_az=360)
    az = np.linspace(0.0, 2 * np.pi, 360, endpoint=False)
    rim_y = centre[1] + 43.5e3 * np.sin(az)
    on_grid = (rim_y > -39e3) & (rim_y < 49e3)
    crest_r = radii[np.argmax(prof[:, on_grid], axis=0)]
    diameter_km = 2 * np.median(crest_r) / 1e3
    assert 85.0 <= diameter_km <= 89.0, diameter_km
    crest = np.median(prof[:, on_grid].max(axis=0))
    floor = np.median(model.height_m(np.linspace(-10e3, 5e3, 61), np.zeros(61)))
    assert 2000.0 <= crest - floor <= 2100.0, (crest, floor)
    x = np.arange(-50e3, -20e3, 100.0)
    h = model.height_m(x, np.zeros_like(x))
    assert abs(x[np.argmax(h)] + 36e3) < 1e3
    assert 2000.0 <= h.max() - floor <= 2100.0
    # The terraced wall: 15-30 deg mean scarps, nothing steeper than a fresh wall (~36 deg).
    wall = np.degrees(np.arctan(np.abs(np.gradient(h, 100.0))))
    assert 20.0 <= wall.max() <= 37.0


def test_mons_latreille_height_and_width():
    terrain = site_terrain("mare_crisium")
    model = site_elevation(terrain, onboard=False)
    centre = _centre_track_m(terrain, "mons_latreille")
    radii = np.arange(0.0, 5000.0, 50.0)
    mean = _radial_profile(model, centre, radii).mean(axis=1)
    plain = mean[radii > 4000.0].mean()
    height = mean[0] - plain
    assert 135.0 <= height <= 165.0, height
    # cos^2 dome: half height at a quarter of the base diameter.
    half_r = radii[np.argmax(mean - plain < 0.5 * height)]
    assert 6.0 <= 4 * half_r / 1e3 <= 6.8, half_r
    # The site is < 2 km NW of the dome's edge.
    assert np.hypot(*centre) - 3200.0 < 2000.0


def test_west_crater_rim_diameter_and_distance():
    terrain = site_terrain("tranquility_base")
    model = site_elevation(terrain, onboard=False)
    centre = _centre_track_m(terrain, "west_crater")
    radii = np.arange(0.0, 250.0, 2.5)
    mean = _radial_profile(model, centre, radii).mean(axis=1)
    diameter = 2 * radii[np.argmax(mean)]
    assert 180.0 <= diameter <= 300.0, diameter
    assert 0.1 <= (mean.max() - mean[0]) / diameter <= 0.22
    assert 500.0 <= np.hypot(*centre) <= 700.0


def test_wrinkle_ridge_is_asymmetric_and_as_high_as_given():
    spec = WrinkleRidgeSpec(
        name="r", east_km=0.0, north_km=0.0, strike_deg=0.0, length_km=40.0, width_km=4.0, height_m=100.0
    )
    # Flight due north: the ridge axis runs downrange; "right" of the strike is -crossrange.
    y = np.linspace(-3000.0, 3000.0, 6001)
    h = wrinkle_ridge(spec, np.zeros_like(y), y, 0.0)
    assert 95.0 <= h.max() <= 105.0
    slope = np.gradient(h, 1.0)
    assert -slope.min() > 2.0 * slope.max() or slope.max() > 2.0 * -slope.min()
    steep_right = np.abs(slope[y < 0]).max() > np.abs(slope[y > 0]).max()
    assert steep_right
    assert wrinkle_ridge(spec, np.array([25e3]), np.array([0.0]), 0.0)[0] == 0.0  # ends tapered


def test_features_rotate_with_the_approach_azimuth():
    feature = {
        "kind": "dome",
        "name": "d",
        "east_km": 0.0,
        "north_km": 0.5,
        "diameter_km": 0.4,
        "height_m": 20.0,
    }
    north = site_elevation(
        small_terrain(
            approach_azimuth_deg=0.0,
            features=[feature],
            roughness_rms_slope_deg=0.0,
            craters={"equilibrium_a": 0.0, "n1_per_km2": 0.0},
        ),
        onboard=False,
    )
    west = site_elevation(
        small_terrain(
            approach_azimuth_deg=270.0,
            features=[feature],
            roughness_rms_slope_deg=0.0,
            craters={"equilibrium_a": 0.0, "n1_per_km2": 0.0},
        ),
        onboard=False,
    )
    # Flying north the dome is 500 m ahead; flying west it is 500 m to the right (-crossrange).
    assert abs(float(north.height_m(500.0, 0.0)) - 20.0) < 0.05
    assert abs(float(west.height_m(0.0, -500.0)) - 20.0) < 0.05
