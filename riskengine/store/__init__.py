"""Cube storage: Zarr v3 through xarray, local directory or fsspec URL.

Public API: :func:`open_cube`, :class:`CubeStore`, :class:`Ledger`, :class:`LedgerShape`,
:func:`open_store`.
"""

from riskengine.store.cube import SCHEMA_VERSION, CubeStore, open_cube
from riskengine.store.ledger import Ledger, LedgerShape, PieceRecord
from riskengine.store.location import Location, open_store

__all__ = [
    "SCHEMA_VERSION",
    "CubeStore",
    "Ledger",
    "LedgerShape",
    "Location",
    "PieceRecord",
    "open_cube",
    "open_store",
]
