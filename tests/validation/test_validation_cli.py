"""``riskengine validate`` end to end, at a tiny size (hidden ``--samples`` and ``--sections`` options)."""

from __future__ import annotations

import json

from riskengine.cli import main


def test_validate_writes_the_report_and_prints_the_summary(tmp_path, capsys):
    out = tmp_path / "report"
    code = main(
        [
            "validate",
            "--quick",
            "--samples",
            "64",
            "--sections",
            "closed_form,monotonicity,working_system",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "working_system" in printed and str(out / "report.html") in printed

    def refuse(name: str):
        raise ValueError(name)

    doc = json.loads((out / "report.json").read_text(), parse_constant=refuse)
    assert [s["key"] for s in doc["sections"]] == ["closed_form", "monotonicity", "working_system"]
    assert all(s["error"] is None for s in doc["sections"])
    assert doc["meta"]["sizes"]["monotonic_samples"] == 64
    assert "--samples 64" in doc["meta"]["command"]
    # Closed-form physics passes; the statistical verdicts depend on the engine, but every check has one.
    closed = [r for r in doc["summary"] if r["section"] == "closed_form"]
    assert closed and all(r["passed"] for r in closed)
    # Figures reported without a verdict say so (their tolerance reads "diagnostic ...").
    for r in doc["summary"]:
        if r["section"] != "closed_form":
            assert r["verdict"] in {"PASS", "FAIL"} or r["tolerance"].startswith("diagnostic"), r
    assert any(r["verdict"] in {"PASS", "FAIL"} for r in doc["summary"] if r["section"] == "working_system")
    ws = next(s for s in doc["sections"] if s["key"] == "working_system")
    for site, d in ws["data"].items():
        assert d["n"] == 64 and sum(d["counts"].values()) == 64, site
        assert len(d["failures"]) == 64 - d["landed"]
        assert d["clopper_pearson_lower_95"] <= d["p_landed"]
        for key in ("hazard_detection", "hazard_detection_and_5km_rangefinder"):
            h = d[key]  # the same samples with the upgrade, paired
            assert h["fixed"] + round(d["p_landed"] * 64) - h["broke"] == round(h["p_landed"] * 64), (key, h)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 1  # the monotonicity plot


def test_validate_refuses_an_unknown_section(tmp_path, capsys):
    assert main(["validate", "--sections", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown sections" in capsys.readouterr().err
