"""API keys and what each role may do.

A key is ``rk_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored: a key is
high-entropy, so a fast hash suffices (no salt or key stretching needed), and lookup is by hash.

Roles:
    planner   submit studies; read, cancel and share their organisation's studies; sites, vehicles
    engineer  planner rights plus replays and engineering endpoints (parameters)
    insurer   read only: studies shared with their organisation; sites, vehicles
    admin     everything, every organisation
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import ROLES, ApiKey, Study, utc_now
from api.errors import Forbidden, NotAuthenticated
from riskengine.errors import ConfigError, NotFoundError

KEY_PREFIX = "rk_"
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

SUBMIT = frozenset({"planner", "engineer", "admin"})
ENGINEERING = frozenset({"engineer", "admin"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, organisation and role."""

    key_id: str
    org: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require(self, roles: frozenset[str], action: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role!r} may not {action}; allowed roles: {sorted(roles)}")

    def can_read(self, study: Study) -> bool:
        """Whether the study is visible at all (otherwise it is reported as not found)."""
        if self.is_admin:
            return True
        if self.role == "insurer":
            return any(share.org == self.org for share in study.shares)
        return study.org == self.org

    def visible(self, study: Study | None, study_id: str) -> Study:
        if study is None or not self.can_read(study):
            raise NotFoundError(f"no study {study_id!r}")
        return study


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_org(org: str) -> str:
    if not _ORG.match(org):
        raise ConfigError(
            f"organisation {org!r} must be 1-100 letters, digits, '_', '.' or '-' (starting with a letter or digit)",
            field="org",
            value=org,
        )
    return org


def create_key(session: Session, org: str, role: str, label: str = "") -> tuple[ApiKey, str]:
    """Store a new key; returns the row and the key itself (shown once, never stored)."""
    if role not in ROLES:
        raise ConfigError(f"role {role!r} is not one of {list(ROLES)}", field="role", value=role)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id="key_" + secrets.token_hex(8),
        key_sha256=hash_key(key),
        org=check_org(org),
        role=role,
        label=label,
        created_at=utc_now(),
    )
    session.add(row)
    session.commit()
    return row, key


def authenticate(session: Session, key: str | None) -> Principal:
    if not key:
        raise NotAuthenticated("missing API key: send it in the X-API-Key header")
    row = session.scalar(select(ApiKey).where(ApiKey.key_sha256 == hash_key(key)))
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("invalid or revoked API key")
    return Principal(key_id=row.id, org=row.org, role=row.role)


def revoke_key(session: Session, key_id: str) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"no API key {key_id!r}")
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        session.commit()
    return row
