"""Section 6 (NEES / NIS): the statistics on synthetic inputs, and the section end to end on the engine's
``Trace.nees`` and ``Result.nis_sum`` / ``nis_count``."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from riskengine.core import NAV_STATE_NAMES
from riskengine.validation import consistency
from riskengine.validation.sizing import Sizes


def _chi2_records(rng, n: int, records: int, dim: int, scale: float = 1.0) -> np.ndarray:
    return scale * rng.chisquare(dim, size=(n, records))


def test_consistent_nees_sits_in_its_band_and_overconfident_nees_does_not():
    rng = np.random.default_rng(3)
    n, records, dim = 64, 400, 2
    live = np.ones((n, records), bool)
    rec = consistency.nees_by_record(_chi2_records(rng, n, records, dim), live, dim, n)
    assert rec["judged"].all()
    assert 0.90 <= rec["inside"].mean() <= 0.99  # 95 % expected for independent records
    over = consistency.nees_by_record(_chi2_records(rng, n, records, dim, scale=2.0), live, dim, n)
    assert over["inside"].mean() < 0.05
    assert np.all(over["mean"] > over["hi"])


def test_undefined_and_padded_records_are_not_judged():
    t = np.tile(np.arange(6.0), (20, 1))
    t[:15, 3:] = 2.5  # 15 of 20 samples landed at t = 2.5 s: their records from index 4 on are padding
    live = consistency.live_records(t)
    assert live[:15, 3].all() and not live[:15, 4:].any() and live[15:].all()
    nees = np.ones((20, 6))
    nees[:, 0] = np.nan  # undefined at the first record
    rec = consistency.nees_by_record(nees, live, 1, 20)
    assert rec["count"].tolist() == [0, 20, 20, 20, 5, 5]
    assert rec["judged"].tolist() == [False, True, True, True, False, False]
    assert np.isnan(rec["lo"][0]) and rec["mean"][1] == 1.0


def test_nis_summary_band():
    rng = np.random.default_rng(5)
    counts = rng.integers(50, 150, size=64)
    sums = np.array([rng.chisquare(1, size=c).sum() for c in counts])
    nis = consistency.nis_summary(sums, counts)
    assert nis.count == counts.sum()
    assert nis.lo < nis.mean < nis.hi and nis.inside
    empty = consistency.nis_summary(np.zeros(3), np.zeros(3, int))
    assert empty.mean is None and not empty.inside


def test_per_component_names_the_overconfident_state():
    # Independent samples, records correlated within a sample (one draw per sample, held): the verdict must
    # come from the spread across samples. Component 2 carries errors twice its sigma (e^2/P = 4).
    rng = np.random.default_rng(11)
    n, records, dim = 200, 30, len(NAV_STATE_NAMES)
    sigma = np.full((n, records, dim), 2.0)
    err = np.repeat(rng.normal(0.0, 2.0, size=(n, 1, dim)), records, axis=1)
    err[..., 2] *= 2.0
    trace = SimpleNamespace(nav_error=err, nav_sigma=sigma, terrain_offset_m=np.full((n, records), 3.0))
    mask = np.ones((n, records), bool)
    mask[:, :5] = False  # records before a sample's first reading are not judged
    rows, terrain = consistency.per_component(trace, mask)  # type: ignore[arg-type]
    verdicts = {row[0]: row[3] for row in rows}
    assert verdicts[NAV_STATE_NAMES[2]] == "over-confident"
    others = [v for name, v in verdicts.items() if name != NAV_STATE_NAMES[2]]
    # Each consistent component's 95 % interval misses 1 with probability 0.05 (0.025 on each side), so the
    # false alarms among the others are Binomial(len(others), 0.05): with 17 others, 3 or more has 0.050
    # probability, 4 or more 0.009. Allow 3; an over-confident false alarm (0.025 each) at most once.
    assert others.count("consistent") >= len(others) - 3
    assert others.count("over-confident") <= 1
    assert 3.0 < rows[2][1] < 5.0
    assert terrain["terrain_offset_rms_m"] == 3.0 and terrain["samples"] == n


def test_section_runs_on_the_engine():
    # 64 samples, as --quick flies (compile, not the samples, is most of this test's time).
    result = consistency.run(Sizes.make(True, samples=64))
    assert result.error is None
    checks = {c.name: c for c in result.checks}
    assert checks["trace runs are simulate_batch's samples: median |flight-time difference|"].passed
    rec = result.data["records"]
    assert rec["judged"].any()
    assert result.data["nis"]["count"] > 0
    assert len(result.figures) == 1
    # With the truth drawn from its own assumptions the filter's dead reckoning is consistent: its
    # time-averaged mean NEES lies in one record's band (measured, 64 samples: 18.26 at seed 0, 19.20 at
    # the default seed, band [16.56, 19.50]); a missing rotation of the initial covariance into the PDI
    # frame, or a wrong propagation term, puts it above the band from the first record. The fraction of
    # records inside moves with the initial draw (1.0 at seed 0, 0.855 at the default seed) and is reported
    # only.
    matched = checks["matched truth, dead reckoning: time-averaged mean NEES"]
    assert matched.passed, matched
    assert checks["matched truth, dead reckoning: judged records inside the 95 % band"].passed is None
    assert result.data["matched"]["first_valid_reading_s"] > 300.0
    # And with the altimeter in use, the beams' terrain offsets considered as one field at their spots
    # (measured, 64 samples: 18.33 at seed 0, 17.86 at the default seed; with the offsets taken as
    # independent per beam, 256 samples: 183 of 207 records inside, over-confident where the spots converge).
    aided = checks["matched truth, altimeter in use: time-averaged mean NEES"]
    assert aided.passed, aided
