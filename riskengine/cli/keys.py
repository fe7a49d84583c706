"""``riskengine keys create|list|revoke``: API keys of the HTTP service (stored hashed in its database).

``create`` prints the new key once, as the last word of its output.
"""

from __future__ import annotations

import argparse
from typing import Any

ROLES = ("planner", "engineer", "insurer", "admin")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("keys", help="API keys of the HTTP service: create, list, revoke")
    sub = parser.add_subparsers(dest="keys_command", required=True)
    create = sub.add_parser("create", help="create a key and print it (once)")
    create.add_argument("--org", required=True, help="the key's organisation")
    create.add_argument("--role", required=True, choices=ROLES, help="what the key may do")
    create.add_argument("--label", default="", help="a note to recognise the key by")
    create.set_defaults(func=_create)
    lst = sub.add_parser("list", help="list keys (ids, organisations, roles; never the keys)")
    lst.set_defaults(func=_list)
    revoke = sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=_revoke)


def _sessions() -> Any:
    from api.db import make_engine, make_sessionmaker, upgrade
    from api.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    upgrade(engine)
    return make_sessionmaker(engine)


def _create(args: argparse.Namespace) -> int:
    from api.auth import create_key

    with _sessions()() as session:
        row, key = create_key(session, args.org, args.role, args.label)
    print(f"created {row.role} key {row.id} for organisation {row.org}; it is shown only now: {key}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from api.db import ApiKey

    with _sessions()() as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at)).all()
        for r in rows:
            state = f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else "active"
            print(f"{r.id}  {r.org}  {r.role}  {state}  {r.label}".rstrip())
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from api.auth import revoke_key

    with _sessions()() as session:
        row = revoke_key(session, args.key_id)
    print(f"revoked {row.id} ({row.org}, {row.role})")
    return 0
