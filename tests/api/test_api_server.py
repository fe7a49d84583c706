"""The service as it runs for real: ``riskengine serve`` in a subprocess with embedded Ray, SQLite, a local
Zarr store and the descent engine; keys from ``riskengine keys create``; everything over HTTP.

* full path: submit a preset with overrides, watch progress, succeeded, read a cube slice, fly a replay;
* restart: stop the service mid-study (SIGTERM), start it again: the study resumes from its finished
  chunks and its cube equals that of an uninterrupted run of the same spec.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from api_helpers import ROOT, Server, wait_for

from riskengine.study import open_cube

pytestmark = pytest.mark.slow

# uvicorn ends a graceful shutdown by re-raising the signal it caught, with the default handler back.
STOPPED = (0, -signal.SIGTERM)

# Tiny specs for the real engine: the smoke preset with fewer cells and samples.
FULL_PATH: dict[str, Any] = {
    "preset": "smoke",
    "samples_per_cell": 32,
    "sites": ["atlas_crater"],
    "grid": {"sensor_latency_s": [0.0, 30.0], "fuel_margin_pct": [10.0]},
}
# 8 cells of 32 samples: 16 chunks of 16 samples, so the service can be stopped well before the end.
RESTART: dict[str, Any] = {
    "preset": "smoke",
    "samples_per_cell": 32,
    "seed": 11,
    "sites": ["atlas_crater", "mare_frigoris"],
    "grid": {"sensor_latency_s": [0.0, 60.0], "fuel_margin_pct": [0.0, 10.0]},
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("service")
    return {
        "RISKENGINE_DATA_DIR": str(data),
        "RISKENGINE_CHUNK_SIZE": "16",
        "RISKENGINE_WORKERS": "2",
        "DATABASE_URL": "",  # the default SQLite file under the data dir
        "RAY_ADDRESS": "",
    }


def create_key(env: dict[str, str], org: str, role: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "riskengine.cli", "keys", "create", "--org", org, "--role", role],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    key = out.split()[-1]  # printed once, as the last word
    assert key.startswith("rk_") and len(key) > 40
    return key


@pytest.fixture(scope="module")
def keys(env: dict[str, str]) -> dict[str, str]:
    from api.auth import create_key as create_key_in_process
    from api.db import make_engine, make_sessionmaker, upgrade

    engineer = create_key(env, "acme", "engineer")  # through the CLI, as an operator would
    engine = make_engine(f"sqlite:///{env['RISKENGINE_DATA_DIR']}/riskengine.db")
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        insurer = create_key_in_process(session, "mutual", "insurer")[1]
    engine.dispose()
    return {"engineer": engineer, "insurer": insurer}


@pytest.fixture(scope="module")
def server(
    env: dict[str, str], keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    srv = Server(env, tmp_path_factory.mktemp("logs") / "server-1.log").start()
    try:
        yield srv
    finally:
        srv.stop()


def test_full_path_over_http(server: Server, keys: dict[str, str]) -> None:
    h = {"X-API-Key": keys["engineer"]}
    with server.client() as c:
        assert c.get("/readyz").json()["checks"] == {
            "ray": "ok",
            "database": "ok",
            "store": "ok",
            "runner": "ok",
        }
        r = c.post("/v1/studies", json=FULL_PATH, headers=h)
        assert r.status_code == 202, r.text
        sid = r.json()["id"]
        assert r.headers["location"] == f"/v1/studies/{sid}"
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            body = c.get(f"/v1/studies/{sid}", headers=h).json()
            seen.append(body)
            if body["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.1)
        assert body["status"] == "succeeded", body
        assert {"queued", "running"} & {b["status"] for b in seen[:-1]}
        p = body["progress"]
        assert (p["completed_chunks"], p["total_chunks"], p["samples_done"]) == (4, 4, 64)
        assert body["provenance"]["kernel"] == "descent"
        assert body["spec"]["scenario"]["vehicle"] == "m1_class"  # from the preset

        cube = c.get(
            f"/v1/studies/{sid}/cube",
            params={"sensor_latency_s": "30", "variables": "p_success,p_success_lo,p_success_hi,n"},
            headers=h,
        ).json()
        assert cube["coords"]["sensor_latency_s"]["values"] == [30.0]
        assert cube["variables"]["n"]["data"] == [[[32]]]
        lo, p_hat, hi = (
            cube["variables"][v]["data"][0][0][0] for v in ("p_success_lo", "p_success", "p_success_hi")
        )
        assert 0.0 <= lo <= p_hat <= hi <= 1.0

        # An insurer sees nothing until the study is shared with its organisation.
        hi_ins = {"X-API-Key": keys["insurer"]}
        assert c.get(f"/v1/studies/{sid}", headers=hi_ins).status_code == 404
        assert c.post(f"/v1/studies/{sid}/share", json={"org": "mutual"}, headers=h).status_code == 200
        assert c.get(f"/v1/studies/{sid}/cube", headers=hi_ins).status_code == 200

        replay = c.get("/v1/replays/nominal", headers=h)
        assert replay.status_code == 200, replay.text
        assert replay.json()["replay"] == "nominal" and replay.json()["outcome"] in (
            "landed",
            "hard_landing",
            "tip_over",
            "propellant_exhausted",
            "crashed",
            "timeout",
        )
        metrics = c.get("/metrics").text
        assert "riskengine_trajectories_simulated_total 64.0" in metrics


def _docs_example() -> str:
    text = (ROOT / "docs" / "api.md").read_text()
    block = text.split("<!-- curl-example:begin -->")[1].split("<!-- curl-example:end -->")[0]
    return block.split("```bash", 1)[1].rsplit("```", 1)[0]


def test_docs_curl_examples_work_as_written(
    server: Server, env: dict[str, str], keys: dict[str, str], tmp_path: Path
) -> None:
    """The walk-through in docs/api.md, run by bash against the live service (only its address changed)."""
    script = _docs_example().replace("http://127.0.0.1:8000", server.url)
    assert script.count(server.url) >= 10
    run_env = {**os.environ, **env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert '"status":"succeeded"' in out
    assert '"p_success_lo"' in out and '"site":{"values":["mare_frigoris"]' in out
    assert '"shared_with":["lunar-mutual"]' in out
    assert '"status":422' in out and '"field":"samples_per_cell"' in out
    assert '{"status":"ok"}' in out and '"status":"ready"' in out
    assert 'riskengine_studies{status="succeeded"}' in out
    assert (tmp_path / "smoke.nc").stat().st_size > 1000
    assert zipfile.is_zipfile(tmp_path / "smoke.zarr.zip")
    with server.client() as c:  # leave no study queued behind the next test
        h = {"X-API-Key": keys["engineer"]}
        for s in c.get("/v1/studies", params={"limit": 200}, headers=h).json()["items"]:
            if s["status"] in ("queued", "running"):
                c.post(f"/v1/studies/{s['id']}/cancel", headers=h)
                wait_for(c, s["id"], h, timeout_s=300)


def test_restart_resumes_with_the_same_cube(
    server: Server, env: dict[str, str], keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    h = {"X-API-Key": keys["engineer"]}
    with server.client() as c:
        sid = c.post("/v1/studies", json=RESTART, headers=h).json()["id"]
        deadline = time.monotonic() + 300
        while True:
            body = c.get(f"/v1/studies/{sid}", headers=h).json()
            if body["progress"]["completed_chunks"] >= 2 or body["status"] not in ("queued", "running"):
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.05)
    assert body["status"] == "running", f"the study must still be running when the service stops: {body}"
    assert server.stop() in STOPPED, server.log()

    second = Server(env, tmp_path_factory.mktemp("logs") / "server-2.log").start()
    try:
        with second.client() as c:
            resumed = wait_for(c, sid, h, timeout_s=300)
            assert resumed["status"] == "succeeded", resumed
            assert 2 <= resumed["progress"]["resumed_chunks"] < resumed["progress"]["total_chunks"]
            assert resumed["provenance"]["runs"] == 2
            # The same spec again, uninterrupted.
            again = c.post("/v1/studies", json=RESTART, headers=h).json()["id"]
            fresh = wait_for(c, again, h, timeout_s=300)
            assert fresh["status"] == "succeeded" and fresh["progress"]["resumed_chunks"] == 0
    finally:
        assert second.stop() in STOPPED, second.log()
    cubes = Path(env["RISKENGINE_DATA_DIR"]) / "cubes"
    a, b = open_cube(cubes / f"{sid}.zarr"), open_cube(cubes / f"{again}.zarr")
    assert a.attrs["spec_sha256"] == b.attrs["spec_sha256"]
    assert list(a.data_vars) == list(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=str(name))
