"""What a report section produces: checks against stated tolerances, tables, figures and notes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure as MplFigure


@dataclass(frozen=True)
class Check:
    """One figure against its tolerance. ``passed`` is None for a figure reported without a verdict."""

    name: str
    value: float | None
    tolerance: str
    passed: bool | None
    unit: str = ""

    @property
    def verdict(self) -> str:
        return "info" if self.passed is None else ("PASS" if self.passed else "FAIL")


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @staticmethod
    def of(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
        return Table(title, tuple(columns), tuple(tuple(r) for r in rows))


@dataclass(frozen=True)
class Figure:
    """A PNG image (bytes) with its caption."""

    caption: str
    png: bytes


@dataclass(frozen=True)
class SectionResult:
    key: str
    title: str
    checks: tuple[Check, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()
    notes: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)  # the raw numbers, for the JSON
    wall_s: float = 0.0
    error: str | None = None  # the section could not run; its message


def new_figure(width_in: float = 9.0, height_in: float = 4.0) -> MplFigure:
    """A matplotlib figure that needs no pyplot and no display (rendered with the Agg canvas)."""
    return MplFigure(figsize=(width_in, height_in), layout="constrained")


def to_png(fig: MplFigure, caption: str, dpi: int = 100) -> Figure:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return Figure(caption=caption, png=buf.getvalue())
