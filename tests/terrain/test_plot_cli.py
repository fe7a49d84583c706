"""``riskengine plot elevation``: the figure files, the error paths (no replay is flown here), and the map
errors applied to the onboard map as the engine applies them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from terrain_helpers import small_terrain

from riskengine.cli import main
from riskengine.terrain import site_elevation
from riskengine.terrain.plot import map_as_flown


def test_png_with_the_onboard_error_and_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "crisium.png"
    assert main(["plot", "elevation", "mare_crisium", "--onboard", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000
    assert capsys.readouterr().out.strip() == str(png)
    svg = tmp_path / "crisium.svg"
    assert main(["plot", "elevation", "mare_crisium", "--out", str(svg)]) == 0
    text = svg.read_text()
    assert "<svg" in text[:2000] and "truth, level 2" in text and "onboard map error" not in text


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["mare_frigoris", "--replay", "m1"],
            "replay 'm1' flies at site 'atlas_crater', not 'mare_frigoris'",
        ),
        (["atlas", "--out", "x.png"], "unknown site preset 'atlas'"),
        (["mare_crisium", "--out", "x.jpg"], "not supported"),
        (["mare_crisium", "--replay", "m9"], "m9"),
    ],
)
def test_errors_name_what_is_wrong(
    argv: list[str],
    needle: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plot", "elevation", *argv]) == 2
    assert needle in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_map_errors_are_applied_as_the_engine_applies_them() -> None:
    t = small_terrain(map_smoothing_m=20.0)
    onboard = site_elevation(t, onboard=True)
    flat = map_as_flown(onboard, t.model_copy(update={"map_fidelity": 0.0, "map_offset_m": 5.0}))
    for g in flat.levels:
        np.testing.assert_array_equal(g.heights_m, 5.0)
    step = onboard.levels[-1].step_m
    shifted = map_as_flown(onboard, t.model_copy(update={"map_shift_downrange_m": 3 * step}))
    # map(x - shift): node i of the flown map holds node i - 3 of the map (inside the level).
    a, b = shifted.levels[-1].heights_m, onboard.levels[-1].heights_m
    np.testing.assert_allclose(a[3:], b[:-3], atol=1e-4)
    assert not np.allclose(a[3:], b[3:], atol=1e-2)
    same = map_as_flown(onboard, t)
    for g, h in zip(same.levels, onboard.levels, strict=True):
        np.testing.assert_array_equal(g.heights_m, h.heights_m)
