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
    # Measured at 512 samples on the 2-D site models: 0.904 (Frigoris: 29 at rest beyond 12 deg of tilt,
    # 19 dry from IMU drift), 0.527 (Atlas: 222 at rest beyond 12 deg on the rough floor at the footpad
    # scale, 19 dry); at 2000 samples 0.909 and 0.513, paired against the engine before the filter's
    # rotated initial covariance and gravity gradient 0.916 and 0.510 (McNemar z -0.95 and +0.17: no
    # change). The floors sit ~2.5 binomial sigma below the 2000-sample figures.
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
