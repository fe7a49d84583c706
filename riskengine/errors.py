"""The project's one exception tree.

    RiskEngineError                 base of everything raised on purpose
    +-- ConfigError                 a preset, spec or override is invalid (names field, value, allowed)
    +-- StudyError                  a study could not be planned or run (e.g. a chunk failed for good)
    +-- StorageError                a cube store cannot be read or written as asked
    +-- NotFoundError               a named preset, study or resource does not exist

Per-trajectory results are never exceptions: they are outcome codes inside the batch
(see ``riskengine.core.outcomes``). Python exceptions are only for misuse found before running.
"""

from __future__ import annotations


class RiskEngineError(Exception):
    """Base class for every error the project raises on purpose."""


class ConfigError(RiskEngineError, ValueError):
    """Invalid configuration. The message names the field, the value and what is allowed."""

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class StudyError(RiskEngineError):
    """A study could not be planned or executed."""


class StorageError(RiskEngineError):
    """A cube store could not be read or written."""


class NotFoundError(RiskEngineError, LookupError):
    """A named preset, study or resource does not exist."""
