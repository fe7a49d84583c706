"""The study registry: SQLAlchemy models, engine/session factory, alembic migrations run on startup."""

from api.db.migrate import upgrade
from api.db.models import ApiKey, Base, Study, StudyShare
from api.db.session import make_engine, make_sessionmaker

__all__ = ["ApiKey", "Base", "Study", "StudyShare", "make_engine", "make_sessionmaker", "upgrade"]
