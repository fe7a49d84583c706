"""Schema migrations (alembic), run programmatically when the service or ``riskengine keys`` starts.

The alembic environment and versions live inside the package (``api/db/migrations``), so an installed
service migrates its database without an ``alembic.ini``. To write a new revision during development::

    python -c "from api.db.migrate import revision; revision('add something')"
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database at ``engine`` to ``revision`` (idempotent)."""
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def revision(message: str, url: str = "sqlite:///data/riskengine.db") -> None:
    """Autogenerate a new revision against the database at ``url`` (development helper)."""
    from api.db.session import make_engine

    engine = make_engine(url)
    upgrade(engine)
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)
