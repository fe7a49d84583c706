"""The completed-piece record that makes a study resumable: the ``_ledger`` group inside the cube.

For every (cell, piece) it holds the piece's integer aggregates and a ``done`` flag, each piece in its
own zarr chunk (one small object per array; no read-modify-write between pieces). The driver, the only
writer, stores a piece's aggregates first and sets ``done`` last, so a piece is either counted from
the ledger or recomputed, never both. xarray does not read child groups: ``xarray.open_zarr`` on the
cube sees only the cube.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import zarr

GROUP = "_ledger"


@dataclass(frozen=True)
class LedgerShape:
    n_cells: int
    pieces_per_cell: int
    n_outcomes: int
    n_metrics: int
    n_bins: int
    retain: int = 0
    #: Further per-piece int64 aggregates by name and per-piece shape (the landing maps), stored as
    #: ``landing_<name>``.
    landing: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PieceRecord:
    n: int
    counts: np.ndarray
    hist: np.ndarray
    stopped: bool
    need_kg: float
    landing: Mapping[str, np.ndarray] | None = None


class Ledger:
    """Per-piece aggregates and completion flags of one study."""

    def __init__(self, group: zarr.Group) -> None:
        self._g = group

    @classmethod
    def create(cls, root: zarr.Group, shape: LedgerShape) -> Ledger:
        g = root.create_group(GROUP, overwrite=True)
        c, p = shape.n_cells, shape.pieces_per_cell
        g.create_array("done", shape=(c, p), chunks=(1, 1), dtype="bool", fill_value=False)
        g.create_array("stopped", shape=(c, p), chunks=(1, 1), dtype="bool", fill_value=False)
        g.create_array("n", shape=(c, p), chunks=(1, 1), dtype="int64", fill_value=0)
        g.create_array("need_kg", shape=(c, p), chunks=(1, 1), dtype="float64", fill_value=np.nan)
        g.create_array(
            "count",
            shape=(c, p, shape.n_outcomes),
            chunks=(1, 1, shape.n_outcomes),
            dtype="int64",
            fill_value=0,
        )
        g.create_array(
            "hist",
            shape=(c, p, shape.n_metrics, shape.n_bins),
            chunks=(1, 1, shape.n_metrics, shape.n_bins),
            dtype="int64",
            fill_value=0,
        )
        for name, per_piece in shape.landing.items():
            g.create_array(
                f"landing_{name}",
                shape=(c, p, *per_piece),
                chunks=(1, 1, *per_piece),
                dtype="int64",
                fill_value=0,
            )
        if shape.retain:
            r = shape.retain
            g.create_array("retained_outcome", shape=(c, r), chunks=(1, r), dtype="int32", fill_value=-1)
            g.create_array(
                "retained_metrics",
                shape=(c, r, shape.n_metrics),
                chunks=(1, r, shape.n_metrics),
                dtype="float64",
                fill_value=np.nan,
            )
        return cls(g)

    @classmethod
    def open(cls, root: zarr.Group) -> Ledger:
        g = root[GROUP]
        assert isinstance(g, zarr.Group)
        return cls(g)

    @property
    def pieces_per_cell(self) -> int:
        return int(self._arr("done").shape[1])

    def _arr(self, name: str) -> zarr.Array:
        a = self._g[name]
        assert isinstance(a, zarr.Array)
        return a

    def done(self) -> np.ndarray:
        """bool[n_cells, pieces_per_cell]"""
        return np.asarray(self._arr("done")[...], dtype=bool)

    def stopped(self) -> np.ndarray:
        return np.asarray(self._arr("stopped")[...], dtype=bool)

    def write_piece(
        self,
        cell: int,
        piece: int,
        record: PieceRecord,
        retained: tuple[int, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Store a piece's aggregates (not yet marked done). ``retained``: (first sample index,
        outcome int32[k], metrics float64[k, n_metrics])."""
        self._arr("n")[cell, piece] = record.n
        self._arr("count")[cell, piece] = record.counts
        self._arr("hist")[cell, piece] = record.hist
        self._arr("stopped")[cell, piece] = record.stopped
        self._arr("need_kg")[cell, piece] = record.need_kg
        for name, value in (record.landing or {}).items():
            self._arr(f"landing_{name}")[cell, piece] = value
        if retained is not None:
            start, outcome, metrics = retained
            self._arr("retained_outcome")[cell, start : start + len(outcome)] = outcome
            self._arr("retained_metrics")[cell, start : start + len(outcome)] = metrics

    def mark_done(self, cell: int, piece: int) -> None:
        self._arr("done")[cell, piece] = True

    @functools.cached_property
    def _landing_names(self) -> list[str]:
        return sorted(k.removeprefix("landing_") for k in self._g.array_keys() if k.startswith("landing_"))

    def read_piece(self, cell: int, piece: int) -> PieceRecord:
        landing = {k: np.asarray(self._arr(f"landing_{k}")[cell, piece]) for k in self._landing_names}
        return PieceRecord(
            n=int(np.asarray(self._arr("n")[cell, piece])),
            counts=np.asarray(self._arr("count")[cell, piece]),
            hist=np.asarray(self._arr("hist")[cell, piece]),
            stopped=bool(np.asarray(self._arr("stopped")[cell, piece])),
            need_kg=float(np.asarray(self._arr("need_kg")[cell, piece])),
            landing=landing or None,
        )

    def read_retained(self, cell: int) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.asarray(self._arr("retained_outcome")[cell]),
            np.asarray(self._arr("retained_metrics")[cell]),
        )
