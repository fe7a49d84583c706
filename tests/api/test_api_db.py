"""The registry's schema: migrations build exactly the models' tables, on SQLite and on a real PostgreSQL
server (started here from the machine's PostgreSQL binaries; skipped where there are none or no driver)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from api_helpers import SMALL, free_port, running_app, wait_for
from sqlalchemy import inspect

from api.db import Base, make_engine, upgrade


def _schema_diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        upgrade(engine)
        upgrade(engine)  # idempotent
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))
    finally:
        engine.dispose()


def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    assert _schema_diff(url) == []
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) == {
        "alembic_version",
        "api_keys",
        "studies",
        "study_shares",
    }
    engine.dispose()


def _pg_bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    pytest.importorskip("psycopg", reason="PostgreSQL driver psycopg not installed")
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    root = Path(tempfile.mkdtemp(prefix="riskengine-pg-"))
    data, port = root / "data", free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser")
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-w",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
    except (subprocess.CalledProcessError, OSError, KeyError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {exc}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], timeout=60
        )
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_migrations_match_the_models(postgres_url: str) -> None:
    assert _schema_diff(postgres_url) == []


def test_service_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    with running_app(tmp_path, database_url=postgres_url) as (client, keys):
        h = keys["acme_planner"]
        sid = client.post("/v1/studies", json=SMALL, headers=h).json()["id"]
        study = wait_for(client, sid, h)
        assert study["status"] == "succeeded"
        assert study["progress"]["samples_done"] == 256
        assert (
            client.post(f"/v1/studies/{sid}/share", json={"org": "lunar-mutual"}, headers=h).status_code
            == 200
        )
        assert [
            s["id"] for s in client.get("/v1/studies", headers=keys["mutual_insurer"]).json()["items"]
        ] == [sid]
        assert client.get("/v1/studies", headers=keys["globex_planner"]).json()["total"] == 0
        assert client.get("/readyz").json()["checks"]["database"] == "ok"
        assert 'riskengine_studies{status="succeeded"} 1.0' in client.get("/metrics").text
