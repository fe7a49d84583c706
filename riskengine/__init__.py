"""riskengine: Monte Carlo landing-risk engine for lunar landers."""

from riskengine.errors import ConfigError, NotFoundError, RiskEngineError, StorageError, StudyError

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "NotFoundError",
    "RiskEngineError",
    "StorageError",
    "StudyError",
    "__version__",
]
