"""Studies over HTTP on the closed-form kernel: submit, progress, list, cancel, cube, downloads, bad inputs,
limits, metrics, and resume after an app restart."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
import zarr.storage
from api_helpers import SMALL, Keys, running_app, wait_for
from fastapi.testclient import TestClient

from riskengine.study import InProcessExecutor, open_cube, parse_study_spec, run_study
from riskengine.study.synthetic import BernoulliKernel

PROBLEM = "application/problem+json"


def _submit(client: TestClient, headers: dict[str, str], **over: Any) -> str:
    r = client.post("/v1/studies", json={**SMALL, **over}, headers=headers)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def test_submit_progress_and_cube_equal_the_engine_run(
    app_client: tuple[TestClient, Keys], tmp_path: Path
) -> None:
    client, keys = app_client
    h = keys["acme_planner"]
    r = client.post("/v1/studies", json=SMALL, headers=h)
    assert r.status_code == 202
    body = r.json()
    assert r.headers["location"] == f"/v1/studies/{body['id']}" == body["location"]
    assert (body["n_cells"], body["total_trajectories"]) == (4, 256)
    study = wait_for(client, body["id"], h)
    assert study["status"] == "succeeded", study
    p = study["progress"]
    assert (p["completed_chunks"], p["total_chunks"], p["samples_done"], p["samples_total"]) == (
        8,
        8,
        256,
        256,
    )
    assert p["fraction"] == 1.0 and p["eta_s"] == 0.0
    assert study["spec"]["samples_per_cell"] == 64 and study["error"] is None
    prov = study["provenance"]
    assert prov["kernel"] == "bernoulli" and prov["seed"] == 7 and prov["runs"] == 1
    assert len(prov["spec_sha256"]) == 64 and "jax_version" in prov and "zarr_version" in prov

    # The same spec run directly through the engine gives the same numbers.
    direct = tmp_path / "direct.zarr"
    run_study(
        parse_study_spec(SMALL), direct, kernel=BernoulliKernel(), executor=InProcessExecutor(), chunk_size=32
    )
    ref = open_cube(direct)
    cube = client.get(f"/v1/studies/{body['id']}/cube", headers=h).json()
    assert cube["dims"] == ["site", "sensor_latency_s", "fuel_margin_pct", "outcome"]
    for name in ("p_success", "p_success_lo", "p_success_hi", "n", "count"):
        np.testing.assert_array_equal(np.array(cube["variables"][name]["data"]), ref[name].values)
    assert cube["variables"]["p_success"]["units"] == "1"
    assert cube["coords"]["sensor_latency_s"]["units"] == "s"
    assert cube["interval"] == {
        "lower": "p_success_lo",
        "upper": "p_success_hi",
        "method": "wilson",
        "confidence": 0.95,
    }


def test_cube_selection(app_client: tuple[TestClient, Keys]) -> None:
    client, keys = app_client
    h = keys["acme_planner"]
    sid = _submit(
        client, h, grid={"sensor_latency_s": [0.0, 10.0, 20.0, 30.0], "fuel_margin_pct": [5.0, 10.0]}
    )
    assert wait_for(client, sid, h)["status"] == "succeeded"
    full = client.get(f"/v1/studies/{sid}/cube", params={"variables": "p_success"}, headers=h).json()
    r = client.get(
        f"/v1/studies/{sid}/cube",
        params={
            "site": "mare_frigoris",
            "sensor_latency_s": "10:20",
            "fuel_margin_pct": "10",
            "variables": "p_success,n",
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    sel = r.json()
    assert sel["coords"]["site"]["values"] == ["mare_frigoris"]
    assert sel["coords"]["sensor_latency_s"]["values"] == [10.0, 20.0]
    assert sel["coords"]["fuel_margin_pct"]["values"] == [10.0]
    assert set(sel["variables"]) == {"p_success", "n"}
    whole = np.array(full["variables"]["p_success"]["data"])
    np.testing.assert_array_equal(np.array(sel["variables"]["p_success"]["data"]), whole[1:2, 1:3, 1:2])
    # Listed values, repeated parameters, the generic `where` and open ranges select the same way.
    r2 = client.get(
        f"/v1/studies/{sid}/cube",
        params=[
            ("site", "mare_frigoris"),
            ("where", "sensor_latency_s=10,20"),
            ("where", "fuel_margin_pct=7:"),
        ],
        headers=h,
    ).json()
    np.testing.assert_array_equal(np.array(r2["variables"]["p_success"]["data"]), whole[1:2, 1:3, 1:2])


def test_cube_downloads(app_client: tuple[TestClient, Keys]) -> None:
    client, keys = app_client
    h = keys["acme_planner"]
    sid = _submit(client, h)
    assert wait_for(client, sid, h)["status"] == "succeeded"
    ref = client.get(f"/v1/studies/{sid}/cube", headers=h).json()["variables"]["p_success"]["data"]

    nc = client.get(f"/v1/studies/{sid}/cube", params={"format": "netcdf"}, headers=h)
    assert nc.status_code == 200 and nc.headers["content-type"] == "application/x-netcdf"
    assert f'filename="{sid}.nc"' in nc.headers["content-disposition"]
    ds = xr.open_dataset(io.BytesIO(nc.content), engine="scipy")
    np.testing.assert_array_equal(ds["p_success"].values, ref)
    assert "count" in ds and "touchdown_vertical_speed_quantile" in ds  # whole cube by default

    zipped = client.get(f"/v1/studies/{sid}/cube", params={"format": "zarr"}, headers=h)
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(zipped.content)).testzip() is None
    path = Path(client.app.state.service.settings.data_dir) / "dl.zarr.zip"  # type: ignore[attr-defined]
    path.write_bytes(zipped.content)
    dz = xr.open_zarr(zarr.storage.ZipStore(path, mode="r"), consolidated=False)
    np.testing.assert_array_equal(dz["p_success"].values, ref)


def test_list_pagination_and_status_filter(app_client: tuple[TestClient, Keys]) -> None:
    client, keys = app_client
    h = keys["acme_planner"]
    ids = [_submit(client, h, seed=s) for s in (1, 2, 3)]
    for sid in ids:
        wait_for(client, sid, h)
    page1 = client.get("/v1/studies", params={"limit": 2}, headers=h).json()
    page2 = client.get("/v1/studies", params={"limit": 2, "offset": 2}, headers=h).json()
    assert page1["total"] == page2["total"] == 3
    assert len(page1["items"]) == 2 and len(page2["items"]) == 1
    assert {s["id"] for s in page1["items"] + page2["items"]} == set(ids)
    assert [s["id"] for s in page1["items"] + page2["items"]] == ids[::-1]  # newest first
    done = client.get("/v1/studies", params={"status": "succeeded"}, headers=h).json()
    assert done["total"] == 3
    assert client.get("/v1/studies", params={"status": "failed"}, headers=h).json()["total"] == 0
    assert client.get("/v1/studies", params={"status": "bogus"}, headers=h).status_code == 422


def test_cancel_queued_and_running(tmp_path: Path) -> None:
    slow = BernoulliKernel(delay_s=0.05)
    with running_app(tmp_path, kernel=slow, chunk_size=8) as (client, keys):
        h = keys["acme_planner"]
        first = _submit(client, h, samples_per_cell=400)  # 200 chunks of ~0.05 s
        second = _submit(client, h, seed=99)
        wait_for(client, first, h, until=("running",))
        r = client.post(f"/v1/studies/{second}/cancel", headers=h)
        assert r.status_code == 202 and r.json()["status"] == "cancelled"
        r = client.post(f"/v1/studies/{first}/cancel", headers=h)
        assert r.status_code == 202 and r.json()["status"] in ("running", "cancelled")
        final = wait_for(client, first, h)
        assert final["status"] == "cancelled"
        assert final["progress"]["completed_chunks"] < final["progress"]["total_chunks"]
        store = client.app.state.service  # type: ignore[attr-defined]
        with store.sessions() as session:
            from api.db import Study

            location = session.get(Study, first).cube_location
        assert open_cube(location).attrs["status"] == "cancelled"
        again = client.post(f"/v1/studies/{first}/cancel", headers=h)
        assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
        assert wait_for(client, second, h)["status"] == "cancelled"
        assert client.get(f"/v1/studies/{second}/cube", headers=h).status_code == 409


def test_queue_limit_answers_429(tmp_path: Path) -> None:
    with running_app(tmp_path, kernel=BernoulliKernel(delay_s=0.05), chunk_size=8, max_active_studies=1) as (
        client,
        keys,
    ):
        h = keys["acme_planner"]
        first = _submit(client, h, samples_per_cell=200)
        r = client.post("/v1/studies", json=SMALL, headers=h)
        assert r.status_code == 429 and r.headers["content-type"] == PROBLEM
        assert "RISKENGINE_MAX_ACTIVE_STUDIES" in r.json()["detail"]
        client.post(f"/v1/studies/{first}/cancel", headers=h)
        assert wait_for(client, first, h)["status"] == "cancelled"


BAD_SUBMISSIONS: list[tuple[Any, str, str]] = [
    ([1, 2], "body", "valid dictionary"),
    ({**SMALL, "samples_per_cell": 0}, "samples_per_cell", "greater than or equal to 1"),
    ({k: v for k, v in SMALL.items() if k != "sites"}, "sites", "Field required"),
    ({**SMALL, "colour": "red"}, "colour", "Extra inputs"),
    ({**SMALL, "sites": ["atlantis"]}, "sites.0", "unknown site 'atlantis'"),
    ({**SMALL, "grid": {"sensor_latency_s": [0.0]}}, "grid", "fuel_margin_pct"),
    (
        {**SMALL, "grid": {"sensor_latency_s": [9999.0], "fuel_margin_pct": [0.0]}},
        "grid.sensor_latency_s",
        "physical range",
    ),
    ({**SMALL, "seed": -1}, "seed", "greater than or equal to 0"),
    ({"preset": "no_such_preset"}, "preset", "no study preset 'no_such_preset'"),
    ({"preset": "../etc"}, "preset", "not a plain name"),
    ({"preset": 5}, "preset", "preset must be a name"),
    # Limits (max_cells=50, max_samples_per_cell=5000, max_total_trajectories=20000 in the test app).
    (
        {**SMALL, "grid": {"sensor_latency_s": list(range(26)), "fuel_margin_pct": [10.0]}},
        "grid",
        "52 cells (sites x grid values) exceeds this service's limit of 50 (RISKENGINE_MAX_CELLS)",
    ),
    ({**SMALL, "samples_per_cell": 5001}, "samples_per_cell", "limit of 5,000"),
    (
        {**SMALL, "sites": ["atlas_crater", "mare_frigoris", "tranquility_base"], "samples_per_cell": 4000},
        "samples_per_cell",
        "24,000 total trajectories (cells x samples_per_cell) exceeds this service's limit of 20,000",
    ),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD_SUBMISSIONS)
def test_bad_submissions_name_the_field(
    app_client: tuple[TestClient, Keys], body: Any, field: str, message: str
) -> None:
    client, keys = app_client
    r = client.post("/v1/studies", json=body, headers=keys["acme_planner"])
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["field"] == field, problem
    assert message in problem["detail"], problem
    assert problem["status"] == 422 and problem["instance"] == "/v1/studies"


def test_malformed_json_is_422(app_client: tuple[TestClient, Keys]) -> None:
    client, keys = app_client
    r = client.post(
        "/v1/studies",
        content=b"{not json",
        headers={**keys["acme_planner"], "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"site": "atlantis"}, "site"),
        ({"sensor_latency_s": "15"}, "sensor_latency_s"),
        ({"sensor_latency_s": "abc"}, "sensor_latency_s"),
        ({"fuel_margin_pct": "20:10"}, "fuel_margin_pct"),
        ({"where": "nonsense"}, "where"),
        ({"where": "vehicle.isp_s=300"}, "vehicle.isp_s"),
        ({"variables": "p_failure"}, "variables"),
        ({"format": "csv"}, "format"),
    ],
)
def test_bad_cube_selections(app_client: tuple[TestClient, Keys], params: dict[str, str], field: str) -> None:
    client, keys = app_client
    h = keys["acme_planner"]
    sid = _submit(client, h)
    wait_for(client, sid, h)
    r = client.get(f"/v1/studies/{sid}/cube", params=params, headers=h)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM and r.json()["field"] == field


def test_unknown_route_and_method_are_problems(app_client: tuple[TestClient, Keys]) -> None:
    client, keys = app_client
    r = client.get("/v1/nothing", headers=keys["admin"])
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    r = client.put("/v1/studies", headers=keys["admin"])
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM


def test_health_readiness_metrics(app_client: tuple[TestClient, Keys]) -> None:
    client, keys = app_client
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["checks"] == {"ray": "not used", "database": "ok", "store": "ok", "runner": "ok"}
    sid = _submit(client, keys["acme_planner"])
    wait_for(client, sid, keys["acme_planner"])
    text = client.get("/metrics").text
    assert 'riskengine_studies{status="succeeded"} 1.0' in text
    assert 'riskengine_studies{status="queued"} 0.0' in text
    assert "riskengine_trajectories_simulated_total 256.0" in text
    assert "riskengine_chunk_duration_seconds_count 8.0" in text
    assert (
        'riskengine_http_request_duration_seconds_count{method="POST",route="/v1/studies",status="202"} 1.0'
        in text
    )


def test_openapi_documents_examples_and_problems(app_client: tuple[TestClient, Keys]) -> None:
    client, _ = app_client
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/v1/studies"]["post"]
    body = post["requestBody"]["content"]["application/json"]
    assert body["examples"]["preset"]["value"] == {"preset": "smoke", "samples_per_cell": 500, "seed": 7}
    assert {"$ref": "#/components/schemas/StudySpec"} in body["schema"]["oneOf"]
    assert "application/problem+json" in post["responses"]["422"]["content"]
    assert schema["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    assert client.get("/docs").status_code == 200


def test_restart_resumes_unfinished_study(tmp_path: Path) -> None:
    """Stop the app mid-study; the next app resumes it from its finished chunks; same cube as one run."""
    slow = BernoulliKernel(delay_s=0.02)
    with running_app(tmp_path, kernel=slow, chunk_size=8) as (client, keys):
        h = keys["acme_planner"]
        sid = _submit(client, h, samples_per_cell=160)  # 80 chunks
        deadline = time.monotonic() + 60
        while client.get(f"/v1/studies/{sid}", headers=h).json()["progress"]["completed_chunks"] < 5:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    with running_app(tmp_path, kernel=BernoulliKernel(), chunk_size=8) as (client, _):
        # The first app's keys live in the same database.
        study = wait_for(client, sid, h)
        assert study["status"] == "succeeded", study
        assert study["progress"]["resumed_chunks"] >= 5
        assert study["provenance"]["runs"] == 2
        location = client.app.state.service.settings.resolved_store_url + f"/{sid}.zarr"  # type: ignore[attr-defined]
    direct = tmp_path / "direct.zarr"
    spec = parse_study_spec({**SMALL, "samples_per_cell": 160})
    run_study(spec, direct, kernel=BernoulliKernel(), executor=InProcessExecutor(), chunk_size=8)
    resumed, ref = open_cube(location), open_cube(direct)
    for name in ref.data_vars:
        np.testing.assert_array_equal(resumed[name].values, ref[name].values, err_msg=str(name))
