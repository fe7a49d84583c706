"""The report's two files: ``report.json`` (strict JSON: NaN and infinities become null) and
``report.html`` (self-contained: tables, verdicts and PNG figures inlined as base64)."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from riskengine.validation.section import Check, SectionResult, Table

SCHEMA = "riskengine.validation/1"
JSON_NAME, HTML_NAME = "report.json", "report.html"


def strict(value: Any) -> Any:
    """``value`` as plain JSON types; non-finite floats become None."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.ndarray):
        return strict(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [strict(v) for v in value]
    if value is None or isinstance(value, str):
        return value
    return str(value)


def check_json(section: str, c: Check) -> dict[str, Any]:
    return {
        "section": section,
        "check": c.name,
        "value": strict(c.value),
        "unit": c.unit,
        "tolerance": c.tolerance,
        "passed": c.passed,
        "verdict": c.verdict,
    }


def summary(sections: Sequence[SectionResult]) -> list[dict[str, Any]]:
    """Every check of every section; a section that could not run is one failed check."""
    rows = []
    for s in sections:
        if s.error is not None:
            rows.append(
                {
                    "section": s.key,
                    "check": "section ran",
                    "value": None,
                    "unit": "",
                    "tolerance": "no error",
                    "passed": False,
                    "verdict": "ERROR",
                }
            )
        rows.extend(check_json(s.key, c) for c in s.checks)
    return rows


def _table_json(t: Table) -> dict[str, Any]:
    return {"title": t.title, "columns": list(t.columns), "rows": strict([list(r) for r in t.rows])}


def document(meta: Mapping[str, Any], sections: Sequence[SectionResult]) -> dict[str, Any]:
    """The JSON document: meta, summary, and each section's checks, tables, notes and raw data."""
    return strict(
        {
            "schema": SCHEMA,
            "meta": dict(meta),
            "summary": summary(sections),
            "sections": [
                {
                    "key": s.key,
                    "title": s.title,
                    "wall_s": s.wall_s,
                    "error": s.error,
                    "checks": [dataclasses.asdict(c) | {"verdict": c.verdict} for c in s.checks],
                    "tables": [_table_json(t) for t in s.tables],
                    "figures": [f.caption for f in s.figures],
                    "notes": list(s.notes),
                    "data": s.data,
                }
                for s in sections
            ],
        }
    )


def fmt(value: Any) -> str:
    """A cell's text: floats to 4-5 significant digits, None/NaN as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return ""
        if v == 0.0:
            return "0"
        return f"{v:.4g}" if abs(v) < 1e-3 or abs(v) >= 1e5 else f"{v:.5g}"
    return str(value)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
.PASS { background: #d8f5d8; } .FAIL, .ERROR { background: #f8d0d0; } .info { background: #eef; }
.note { color: #555; font-size: 0.9em; } img { max-width: 100%; } code { background: #f4f4f4; }
"""


_VERDICTS = frozenset({"PASS", "FAIL", "ERROR", "info"})


def _html_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for v in r:
            text = html.escape(fmt(v))
            cls = f' class="{text}"' if text in _VERDICTS else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(meta: Mapping[str, Any], sections: Sequence[SectionResult]) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>riskengine validation report</title>',
        f"<style>{_CSS}</style></head><body>",
        "<h1>riskengine validation report</h1>",
        _html_table(
            ("", ""),
            [(k, v if not isinstance(v, Mapping | list) else json.dumps(strict(v))) for k, v in meta.items()],
        ),
        "<h2>Summary</h2>",
        _html_table(
            ("section", "check", "figure", "unit", "tolerance", "result"),
            [
                (r["section"], r["check"], r["value"], r["unit"], r["tolerance"], r["verdict"])
                for r in summary(sections)
            ],
        ),
    ]
    for s in sections:
        parts.append(f'<h2 id="{esc(s.key)}">{esc(s.title)}</h2>')
        parts.append(f'<p class="note">wall time {s.wall_s:.1f} s</p>')
        if s.error is not None:
            parts.append(f'<p class="ERROR">The section could not run: <code>{esc(s.error)}</code></p>')
        if s.checks:
            parts.append(
                _html_table(
                    ("check", "figure", "unit", "tolerance", "result"),
                    [(c.name, c.value, c.unit, c.tolerance, c.verdict) for c in s.checks],
                )
            )
        for t in s.tables:
            parts.append(f"<h3>{esc(t.title)}</h3>")
            parts.append(_html_table(t.columns, t.rows))
        for f in s.figures:
            data = base64.b64encode(f.png).decode("ascii")
            parts.append(
                f'<figure><img alt="{esc(f.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{esc(f.caption)}</figcaption></figure>"
            )
        if s.notes:
            parts.append("<ul>" + "".join(f'<li class="note">{esc(n)}</li>' for n in s.notes) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    meta: Mapping[str, Any], sections: Sequence[SectionResult], out_dir: Path
) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` under ``out_dir`` (created); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / JSON_NAME, out_dir / HTML_NAME
    json_path.write_text(json.dumps(document(meta, sections), indent=1, allow_nan=False) + "\n")
    html_path.write_text(render_html(meta, sections))
    return html_path, json_path


def summary_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """The summary as a plain-text table (what the command prints)."""
    table = [("section", "check", "figure", "tolerance", "result")]
    for r in rows:
        value = fmt(r["value"]) + (
            f" {r['unit']}" if r["unit"] and r["unit"] != "1" and r["value"] is not None else ""
        )
        table.append((r["section"], r["check"], value, r["tolerance"], r["verdict"]))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
