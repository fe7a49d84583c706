"""Parametric shapes of named landforms, evaluated at track-coordinate points (m); heights m above the plain.

Each shape is 0 far from the feature, so shapes add; the site's datum is shifted afterwards so the target
sits near height 0. Radial shapes take ``r`` = distance / rim radius.

Sources of the morphometry:
- Simple bowl craters: depth 0.196 D, rim 0.036 D for fresh craters (Pike 1977, "Size-dependence in the
  shape of fresh impact craters on the Moon"); parabolic bowl (Melosh 1989, ch. 8); ejecta thickness
  falling as r^-3 (McGetchin et al. 1973).
- Complex craters: flat floor of diameter ~0.19 D^1.25 km, terraced walls, central peaks (Pike 1977;
  Melosh 1989 ch. 8); wall scarps 15-30 deg, fresh up to ~36 deg (landing-facts.md, ESTIMATE).
- Wrinkle ridges: a broad low arch with a superposed narrow asymmetric ridge, ~100-300 m high, a few km
  wide, tens of km long (Watters 1988, JGR 93(B9); Yue et al. 2017, JGR Planets 122).
- Domes and montes: smooth low bumps; Mons Latreille 6.4 km wide, ~150 m high (landing-facts.md).
- Rilles (graben): flat-floored linear troughs ~0.5-2 km wide, tens to ~100 m deep (Golombek 1979, JGR 84).
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray

from riskengine.config.terrain_models import (
    BowlCraterSpec,
    ComplexCraterSpec,
    DomeSpec,
    RilleSpec,
    WrinkleRidgeSpec,
)
from riskengine.terrain._frames import direction_in_track, to_track

F64 = NDArray[np.floating]
EJECTA_REACH = 3.0  # ejecta flanks are cut off at this many rim radii (tapered to exactly 0 there)


def smoothstep(t: F64) -> F64:
    """0 below 0, 1 above 1, C1 in between (3t^2 - 2t^3)."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def bowl_profile(r: F64, depth: F64 | float, rim: F64 | float) -> F64:
    """Simple-crater height at ``r`` (distance / rim radius): parabolic bowl from ``rim - depth`` at the
    centre to ``rim`` at the crest, then an r^-3 ejecta flank reaching 0 at ``EJECTA_REACH``."""
    cut = EJECTA_REACH**-3
    inner = rim + depth * (r * r - 1.0)
    outer = rim * (np.maximum(r, 1.0) ** -3 - cut) / (1.0 - cut)
    return np.where(r < 1.0, inner, np.where(r < EJECTA_REACH, outer, 0.0))


def _centre(
    spec: ComplexCraterSpec | BowlCraterSpec | DomeSpec | WrinkleRidgeSpec | RilleSpec, az: float
) -> tuple[float, float]:
    d, c = to_track(spec.east_km * 1e3, spec.north_km * 1e3, az)
    return float(d), float(c)


def bowl_crater(spec: BowlCraterSpec, x: F64, y: F64, az: float) -> F64:
    x0, y0 = _centre(spec, az)
    radius = 0.5 * spec.diameter_m
    r = np.hypot(x - x0, y - y0) / radius
    return bowl_profile(r, spec.depth_ratio * spec.diameter_m, spec.rim_ratio * spec.diameter_m)


def _value_noise(u: F64, v: F64, seed: int) -> F64:
    """Smooth random field of unit spacing and ~unit amplitude: N(0,1) values on the integer lattice
    (hashed from the lattice point and ``seed``), interpolated with smoothstep weights."""
    iu, iv = np.floor(u), np.floor(v)
    su, sv = smoothstep(u - iu), smoothstep(v - iv)

    def corner(a: F64, b: F64) -> F64:
        # A counter-based generator: the value at a lattice point depends only on (seed, point).
        k = (a.astype(np.int64) * 73856093) ^ (b.astype(np.int64) * 19349663) ^ np.int64(seed % 2**31)
        k = (k ^ (k >> 13)) * 1274126177
        k = k ^ (k >> 16)
        return ((k & 0xFFFF).astype(np.float64) / 65535.0 - 0.5) * 3.46  # uniform, unit variance

    c00, c10, c01, c11 = corner(iu, iv), corner(iu + 1, iv), corner(iu, iv + 1), corner(iu + 1, iv + 1)
    return (c00 * (1 - su) + c10 * su) * (1 - sv) + (c01 * (1 - su) + c11 * su) * sv


def complex_wall(u: F64, terraces: int, scarp_fraction: float) -> F64:
    """Wall height fraction 0 (floor) to 1 (crest) over ``u`` in [0, 1] outward: ``terraces`` segments, each a
    gentle bench rising 20 % of the segment's height then a scarp (the outer ``scarp_fraction``) rising 80 %."""
    if terraces == 0:
        return smoothstep(u)
    t = np.clip(u, 0.0, 1.0) * terraces
    k = np.minimum(np.floor(t), terraces - 1)
    local = t - k
    bench = 0.2 * np.clip(local / (1.0 - scarp_fraction), 0.0, 1.0) if scarp_fraction < 1.0 else 0.0 * local
    scarp = 0.8 * smoothstep((local - (1.0 - scarp_fraction)) / scarp_fraction)
    return (k + bench + scarp) / terraces


def complex_crater(spec: ComplexCraterSpec, x: F64, y: F64, az: float, seed: int) -> F64:
    """Complex crater: floor at ``-plain_m`` (hills of ``floor_relief_m``, optional central peak), terraced
    wall up to the crest ``depth_m`` above the floor, r^-3 flank down to the plain (height 0) at 3 radii.

    Mean scarp slope is ``scarp_slope_deg``; the smoothstep scarps peak at 1.5x its tangent
    (25 deg mean -> ~35 deg steepest, the fresh-wall figure)."""
    x0, y0 = _centre(spec, az)
    radius = 0.5 * spec.diameter_km * 1e3
    dx, dy = x - x0, y - y0
    r = np.hypot(dx, dy) / radius
    rf = spec.floor_diameter_fraction
    wall_width = (1.0 - rf) * radius
    if spec.terraces:
        scarp_fraction = min(
            1.0, 0.8 * spec.depth_m / (wall_width * np.tan(np.radians(spec.scarp_slope_deg)))
        )
    else:
        scarp_fraction = 1.0
    wall = spec.depth_m * complex_wall((r - rf) / (1.0 - rf), spec.terraces, scarp_fraction)
    cut = EJECTA_REACH**-3
    flank = spec.plain_m + (spec.depth_m - spec.plain_m) * (np.maximum(r, 1.0) ** -3 - cut) / (1.0 - cut)
    h = np.where(r <= 1.0, wall, np.where(r < EJECTA_REACH, flank, spec.plain_m))
    floor_mask = 1.0 - smoothstep((r - 0.85 * rf) / (0.15 * rf))
    if spec.central_peak_m > 0.0:
        h = h + spec.central_peak_m * np.cos(0.5 * np.pi * np.minimum(r / 0.12, 1.0)) ** 2
    if spec.floor_relief_m > 0.0:
        cell = spec.floor_hill_km * 1e3
        salt = seed ^ zlib.crc32(spec.name.encode())
        h = h + spec.floor_relief_m * floor_mask * _value_noise(dx / cell, dy / cell, salt)
    return h - spec.plain_m


def _along_across(spec: WrinkleRidgeSpec | RilleSpec, x: F64, y: F64, az: float) -> tuple[F64, F64, F64]:
    """(along-strike m, across m positive to the strike's left, end taper 0..1) around the feature's centre."""
    x0, y0 = _centre(spec, az)
    ad, ac = direction_in_track(spec.strike_deg, az)
    dx, dy = x - x0, y - y0
    along = dx * ad + dy * ac
    across = -dx * ac + dy * ad
    half = 0.5 * spec.length_km * 1e3
    taper = smoothstep((half - np.abs(along)) / (0.2 * half))
    return along, across, taper


def wrinkle_ridge(spec: WrinkleRidgeSpec, x: F64, y: F64, az: float) -> F64:
    """Arch (40 % of the height, cos^2 over the full width) plus a narrow ridge (60 %) offset towards the
    steep side, whose steep flank is 3x narrower than its gentle one."""
    _, across, taper = _along_across(spec, x, y, az)
    w = spec.width_km * 1e3
    u = across if spec.steep_side == "left" else -across
    arch = 0.4 * np.cos(np.pi * np.clip(u / w, -0.5, 0.5)) ** 2
    crest = u - w / 8.0
    sigma = np.where(crest > 0.0, w / 24.0, w / 8.0)
    ridge = 0.6 * np.exp(-0.5 * (crest / sigma) ** 2)
    return spec.height_m * taper * (arch + ridge)


def dome(spec: DomeSpec, x: F64, y: F64, az: float) -> F64:
    """cos^2 bump of ``height_m`` and base diameter ``diameter_km`` (steepest slope pi H / D)."""
    x0, y0 = _centre(spec, az)
    r = np.hypot(x - x0, y - y0) / (0.5 * spec.diameter_km * 1e3)
    return spec.height_m * np.cos(0.5 * np.pi * np.minimum(r, 1.0)) ** 2


def rille(spec: RilleSpec, x: F64, y: F64, az: float) -> F64:
    """Flat-floored trough: floor half the width, smoothstep walls over the outer quarters."""
    _, across, taper = _along_across(spec, x, y, az)
    q = 0.25 * spec.width_m
    return -spec.depth_m * taper * (1.0 - smoothstep((np.abs(across) - q) / q))
