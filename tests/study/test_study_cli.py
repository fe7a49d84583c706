"""``riskengine study run`` and ``study show`` end to end (closed-form kernel, no Ray)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from riskengine.cli import main
from riskengine.cli.study import ProgressBar
from riskengine.study import StudyProgress

SPEC = """
name: cli-test
sites: [atlas_crater, mare_frigoris]
grid:
  sensor_latency_s: [0.0, 30.0, 60.0]
  fuel_margin_pct: [0.0, 10.0, 25.0]
samples_per_cell: 100
dispersions:
  synthetic.logit_shift: {kind: truncnormal, mean: 0.0, std: 0.5, low: -1.0, high: 1.0}
"""


def test_run_then_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.zarr"
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    args = ["study", "run", str(spec), "--out", str(out), "--kernel", "bernoulli", "--executor", "local"]
    assert main([*args, "--samples-per-cell", "30", "--seed", "3", "--chunk-size", "20"]) == 0
    err = capsys.readouterr().err
    assert "36/36 chunks" in err and "540 trajectories" in err
    assert main(["study", "show", str(out)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "p_success" in table[1] and "dominant failure" in table[1]
    assert len(table) == 2 + 18
    assert table[2].startswith("atlas_crater")
    assert main(["study", "show", str(out), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 18 and all(r["n"] == 30 for r in rows)
    assert all(r["p_success_lo"] <= r["p_success"] <= r["p_success_hi"] for r in rows)
    # Re-running resumes (nothing left to do); another seed on the same store is refused.
    assert main([*args, "--samples-per-cell", "30", "--seed", "3"]) == 0
    assert main([*args, "--samples-per-cell", "30", "--seed", "4"]) == 2
    assert "different study" in capsys.readouterr().err


def test_bad_spec_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("preset: smoke\nsamples_per_cell: -3\n")
    assert main(["study", "run", str(spec), "--out", str(tmp_path / "x.zarr"), "--executor", "local"]) == 2
    assert "samples_per_cell" in capsys.readouterr().err


def test_progress_bar_lines() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10, every_s=0.0)
    bar(StudyProgress(5, 10, 500, 1000, 2, 12.0, 12.0))
    assert stream.getvalue().strip() == (
        "[#####.....] 5/10 chunks 500/1,000 samples  0:12 elapsed  ETA 0:12  (2 resumed)"
    )
