"""The quick validation's statistical properties, asserted (``riskengine validate --quick`` sizes).

Paired (common random numbers) monotonicity: no adjacent pair of cells in the wrong direction with
|z| > 3 (McNemar). Working system (latency 0, 10 % margin, smoke dispersions, 512 samples per site):
P(landed) at least what this engine demonstrably reaches, with room for the binomial spread; the
issue's target (lower 95 % bound >= 0.99) is reported by the validation, not met (docs/physics.md,
"Known limits": touchdowns on ground steeper than the operational tilt, and IMU drift beyond the
rangefinder's reach).
"""

from __future__ import annotations

import pytest

from riskengine.validation import mechanisms, monotonicity, working_system
from riskengine.validation.sizing import Sizes

pytestmark = pytest.mark.slow


def test_success_is_paired_monotonic_in_latency_and_margin():
    result = monotonicity.run(Sizes.make(True))
    assert result.error is None
    verdicts = [c for c in result.checks if c.passed is not None]
    assert verdicts, result.checks
    failed = [c for c in verdicts if not c.passed]
    assert not failed, failed


@pytest.mark.parametrize(("site", "floor"), [("mare_frigoris", 0.875), ("atlas_crater", 0.46)])
def test_working_system_success(site: str, floor: float):
    # Measured at 512 samples (engine 5dc4e13, the beams' terrain offsets kriged as one field): Frigoris
    # 0.914, Atlas 0.484 (most failures at rest beyond 12 deg of tilt on the rough floor at the footpad
    # scale, the rest dry from IMU drift); at 2000 samples 0.910 and 0.485, paired against the engine
    # before 0.9095 and 0.506 (McNemar z +0.12 and -1.59: no change claimable). The floors sit 3.1 and 1.1
    # binomial sigma (512 samples) below the 512-sample figures of this seed.
    result = working_system.run(Sizes.make(True, sites=(site,)))
    assert result.error is None
    d = result.data[site]
    assert d["n"] == 512
    assert d["p_landed"] >= floor, d["counts"]
    # Every failure carries a mechanism; counterfactual re-flights name all of them at these sizes
    # (measured: 0 unnamed at either site); a few may go unnamed as the engine changes, not most.
    failures = d["failures"]
    assert len(failures) == d["n"] - d["landed"]
    assert all(f["mechanism"] for f in failures)
    unnamed = sum(f["mechanism"] == mechanisms.COMBINED for f in failures)
    assert unnamed <= 0.05 * len(failures), [f for f in failures if f["mechanism"] == mechanisms.COMBINED]
    table = next(t for t in result.tables if t.title.startswith("Failure mechanisms"))
    assert sum(row[2] for row in table.rows) == len(failures)
    # Hazard detection on the same samples lands more of them, paired: it removes touchdowns beyond the
    # operational tilt and breaks almost nothing (measured at 256 samples: Atlas 0.477 -> 0.926, fixed 118,
    # broke 3; Frigoris 0.910 -> 0.965, fixed 14, broke 0).
    h = d["hazard_detection"]
    assert h["mcnemar_z"] > 3.0 and h["p_landed"] > d["p_landed"], h
    assert h["at_rest_beyond_tilt_with"] < h["at_rest_beyond_tilt_without"], h
    assert h["broke"] <= 0.1 * h["fixed"], h
    # A rangefinder reaching 5 km on top lets the landers whose IMU drift left them kilometres higher than
    # they believed read the ground in time: fewer run dry (measured at 1024 samples, engine 3fc08a8:
    # Frigoris 12 -> 0, Atlas 24 -> 0).
    u = d["hazard_detection_and_5km_rangefinder"]
    assert u["dry_with"] < h["dry_with"] and u["p_landed"] >= h["p_landed"], (u, h)
