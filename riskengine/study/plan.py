"""Planning: the study's cells, their random keys, and how their samples are cut into chunks.

Randomness is counter-based. The key of a cell is::

    cell_key = fold_in(fold_in(PRNGKey(seed), site_index), grid_flat)

where ``grid_flat`` is the cell's C-order index over the grid axes (site excluded), and sample ``i`` of
the cell uses ``fold_in(cell_key, i)`` (derived by the kernel). No key depends on chunk boundaries,
worker, retry or resume, so the cube is the same for all of them.

Durable unit: a *piece* is samples ``[start, stop)`` of one cell; piece boundaries are multiples of
``piece_size``, which is fixed when the study's store is created. A *chunk* (one executor task) is
either one piece of a cell (when ``chunk_size < samples_per_cell``) or several whole cells.
With early stopping, ``piece_size`` is a multiple of ``check_every`` and a cell's pieces run in order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from riskengine.errors import ConfigError
from riskengine.study.kernel import CellRef
from riskengine.study.spec import StudySpec

DEFAULT_CHUNK_SIZE = 1000


def cell_key(seed: int, site_index: int, grid_flat: int) -> Any:
    """The cell's JAX PRNG key (raw ``uint32[2]``, default implementation); see the module docstring."""
    import jax

    key = jax.random.PRNGKey(seed)
    return jax.random.fold_in(jax.random.fold_in(key, site_index), grid_flat)


@dataclass(frozen=True)
class PieceTask:
    """Samples ``[start, stop)`` of cell ``cell``; ``prior_*`` are the cell's counts before ``start``
    (only needed for early stopping)."""

    cell: int
    piece: int
    start: int
    stop: int
    prior_successes: int = 0
    prior_n: int = 0

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class ChunkTask:
    """One executor task: pieces of one or more cells."""

    chunk_id: int
    pieces: tuple[PieceTask, ...]

    @property
    def samples(self) -> int:
        return sum(p.size for p in self.pieces)


@dataclass(frozen=True)
class StudyPlan:
    """Cells and chunk layout of a study. ``cells[i].index == i``; cell order is C order over
    ``(site, *axes)``, the cube's layout."""

    spec: StudySpec
    cells: tuple[CellRef, ...]
    piece_size: int
    pieces_per_cell: int
    cells_per_chunk: int
    batch_size: int

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.spec.sites), *(len(v) for v in self.spec.grid.values()))

    @property
    def n_chunks(self) -> int:
        if self.pieces_per_cell > 1:
            return len(self.cells) * self.pieces_per_cell
        return math.ceil(len(self.cells) / self.cells_per_chunk)

    @property
    def total_samples(self) -> int:
        return len(self.cells) * self.spec.samples_per_cell

    def piece_bounds(self, piece: int) -> tuple[int, int]:
        start = piece * self.piece_size
        return start, min(start + self.piece_size, self.spec.samples_per_cell)

    def chunk_of(self, cell: int, piece: int) -> int:
        if self.pieces_per_cell > 1:
            return cell * self.pieces_per_cell + piece
        return cell // self.cells_per_chunk

    def chunk_members(self, chunk_id: int) -> list[tuple[int, int]]:
        """(cell, piece) pairs making up chunk ``chunk_id``."""
        if self.pieces_per_cell > 1:
            return [divmod(chunk_id, self.pieces_per_cell)]
        first = chunk_id * self.cells_per_chunk
        return [(c, 0) for c in range(first, min(first + self.cells_per_chunk, len(self.cells)))]

    def grid_index(self, cell: int) -> tuple[int, ...]:
        """(site, *axes) index of a flat cell index."""
        return tuple(int(i) for i in _unravel(cell, self.shape))


def _unravel(flat: int, shape: Sequence[int]) -> list[int]:
    out = []
    for dim in reversed(shape):
        flat, r = divmod(flat, dim)
        out.append(r)
    return out[::-1]


def iter_cells(spec: StudySpec) -> Iterator[CellRef]:
    axes = list(spec.grid.items())
    for site_index, site in enumerate(spec.sites):
        combos = itertools.product(*(v for _, v in axes))
        for grid_flat, values in enumerate(combos):
            yield CellRef(
                index=site_index * math.prod(len(v) for _, v in axes) + grid_flat,
                site=site,
                site_index=site_index,
                grid_flat=grid_flat,
                assignments=tuple((name, float(v)) for (name, _), v in zip(axes, values, strict=True)),
            )


#: Most samples per kernel call. A study run calls its kernel with one batch shape only,
#: ``batch_size = min(piece_size, MAX_BATCH)`` (a piece's last call is padded to it), so each worker compiles
#: once. Kernels must give a sample the same bits at any batch size or lane (the core runs every batch as
#: whole blocks of one shape for that, ``riskengine.core.engine.BLOCK_LANES``); the chunking-invariance tests
#: check it. A 1024-sample call is 16 descent blocks.
MAX_BATCH = 1024


def default_chunk_size(spec: StudySpec) -> int:
    """At most one cell per chunk by default (load balance, progress), at most 1000 samples."""
    return min(DEFAULT_CHUNK_SIZE, spec.samples_per_cell)


def plan_study(spec: StudySpec, chunk_size: int | None = None) -> StudyPlan:
    """Cut the study into chunks of about ``chunk_size`` samples (default :func:`default_chunk_size`).

    With early stopping the piece size is rounded up to a multiple of ``check_every``.
    """
    if chunk_size is None:
        chunk_size = default_chunk_size(spec)
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be >= 1, got {chunk_size}", field="chunk_size", value=chunk_size)
    spc = spec.samples_per_cell
    piece = min(chunk_size, spc)
    if spec.early_stopping is not None and piece < spc:
        every = spec.early_stopping.check_every
        piece = min(spc, math.ceil(piece / every) * every)
    pieces_per_cell = math.ceil(spc / piece)
    cells_per_chunk = max(1, chunk_size // spc) if pieces_per_cell == 1 else 1
    return StudyPlan(
        spec=spec,
        cells=tuple(iter_cells(spec)),
        piece_size=piece,
        pieces_per_cell=pieces_per_cell,
        cells_per_chunk=cells_per_chunk,
        batch_size=min(piece, MAX_BATCH),
    )
