"""The report writer: strict JSON and well-formed HTML from a tiny synthetic result."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser

import numpy as np

from riskengine.validation.report import document, summary_text, write_report
from riskengine.validation.section import Check, SectionResult, Table, new_figure, to_png

VOID = {"meta", "img", "br", "hr", "link", "input"}


class _TagBalance(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def _sections() -> list[SectionResult]:
    fig = new_figure(3, 2)
    fig.subplots().plot([0, 1], [1, 0])
    ok = SectionResult(
        "demo",
        "Demo <section> & friends",
        checks=(
            Check("a figure", 0.5, "< 1", True),
            Check("an undefined figure", math.nan, ">= 0.99", False),
            Check("a diagnostic", np.float32(2.5), "diagnostic", None, "m"),
        ),
        tables=(
            Table.of("numbers", ("x", "y"), [(1, math.inf), (np.int64(2), None), ("<b>", np.bool_(True))]),
        ),
        figures=(to_png(fig, "a line"),),
        notes=("a note",),
        data={"arr": np.array([1.0, np.nan]), "nested": {"v": -math.inf}, "flags": np.array([True, False])},
        wall_s=0.25,
    )
    broken = SectionResult("broken", "Broken", error="RuntimeError: boom")
    return [ok, broken]


def _strict_loads(text: str):
    def refuse(name: str):
        raise ValueError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_report_files_are_strict_json_and_balanced_html(tmp_path):
    meta = {"seed": 1, "engine_version": "0.0", "sizes": {"n": 3}}
    html_path, json_path = write_report(meta, _sections(), tmp_path / "out")
    doc = _strict_loads(json_path.read_text())
    assert doc["schema"] == "riskengine.validation/1"
    assert doc["sections"][0]["data"]["arr"] == [1.0, None]
    assert doc["sections"][0]["data"]["nested"]["v"] is None
    assert doc["sections"][0]["tables"][0]["rows"][0] == [1, None]
    verdicts = [(r["check"], r["verdict"]) for r in doc["summary"]]
    assert verdicts == [
        ("a figure", "PASS"),
        ("an undefined figure", "FAIL"),
        ("a diagnostic", "info"),
        ("section ran", "ERROR"),
    ]
    assert doc["summary"][1]["value"] is None

    text = html_path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    parser = _TagBalance()
    parser.feed(text)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert len(parser.images) == 1 and parser.images[0].startswith("data:image/png;base64,iVBOR")
    assert "Demo &lt;section&gt; &amp; friends" in text and "<b>" not in text
    assert "RuntimeError: boom" in text


def test_document_and_summary_text_agree():
    doc = document({"seed": 1}, _sections())
    json.dumps(doc, allow_nan=False)
    text = summary_text(doc["summary"])
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["section", "check"]
    assert len(lines) == 2 + len(doc["summary"])
    assert "2.5 m" in text and "ERROR" in text
