"""The elevation figure is written as PNG or SVG by suffix."""

from __future__ import annotations

import numpy as np
import pytest
from terrain_helpers import small_terrain

from riskengine.errors import ConfigError
from riskengine.terrain import site_elevation
from riskengine.terrain.plot import plot_elevation


def test_png_and_svg_with_track_and_map_error(tmp_path):
    t = small_terrain(map_smoothing_m=20.0)
    truth, onboard = site_elevation(t, onboard=False), site_elevation(t, onboard=True)
    x = np.linspace(-50e3, 0.0, 50)
    png = plot_elevation(truth, track=(x, 0.02 * x), onboard=onboard, path=tmp_path / "site.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plot_elevation(truth, path=tmp_path / "site.svg")
    assert b"<svg" in svg.read_bytes()[:2000]
    with pytest.raises(ConfigError, match=r"\.png or \.svg"):
        plot_elevation(truth, path=tmp_path / "site.jpg")
