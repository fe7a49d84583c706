"""Access control: the endpoint x role matrix, organisation isolation, keys."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import SMALL, Keys, wait_for
from fastapi.testclient import TestClient

from api.auth import revoke_key
from api.db import ApiKey

ROLES = ("anon", "acme_planner", "acme_engineer", "acme_insurer", "globex_planner", "mutual_insurer", "admin")

# Study A belongs to acme and is shared with lunar-mutual. Expected status per role, in ROLES order.
MATRIX: list[tuple[str, str, dict[str, Any] | None, tuple[int, ...]]] = [
    ("POST", "/v1/studies", SMALL, (401, 202, 202, 403, 202, 403, 202)),
    ("GET", "/v1/studies", None, (401, 200, 200, 200, 200, 200, 200)),
    ("GET", "/v1/studies/{A}", None, (401, 200, 200, 404, 404, 200, 200)),
    ("GET", "/v1/studies/{A}/cube", None, (401, 200, 200, 404, 404, 200, 200)),
    ("POST", "/v1/studies/{A}/cancel", None, (401, 409, 409, 404, 404, 403, 409)),
    ("POST", "/v1/studies/{A}/share", {"org": "globex"}, (401, 200, 200, 404, 404, 403, 200)),
    ("DELETE", "/v1/studies/{A}/share/globex", None, (401, 200, 200, 404, 404, 403, 200)),
    ("GET", "/v1/sites", None, (401, 200, 200, 200, 200, 200, 200)),
    ("GET", "/v1/vehicles", None, (401, 200, 200, 200, 200, 200, 200)),
    ("GET", "/v1/replays", None, (401, 403, 200, 403, 403, 403, 200)),
    ("GET", "/v1/replays/no_such_replay", None, (401, 403, 404, 403, 403, 403, 404)),
    ("GET", "/v1/parameters", None, (401, 403, 200, 403, 403, 403, 200)),
    ("GET", "/healthz", None, (200,) * 7),
    ("GET", "/readyz", None, (200,) * 7),
    ("GET", "/metrics", None, (200,) * 7),
]


@pytest.fixture
def world(app_client: tuple[TestClient, Keys]) -> tuple[TestClient, Keys, str, str]:
    """Study A (acme, shared with lunar-mutual) and study G (globex), both finished."""
    client, keys = app_client
    a = client.post("/v1/studies", json=SMALL, headers=keys["acme_planner"]).json()["id"]
    g = client.post("/v1/studies", json=SMALL, headers=keys["globex_planner"]).json()["id"]
    assert wait_for(client, a, keys["acme_planner"])["status"] == "succeeded"
    assert wait_for(client, g, keys["globex_planner"])["status"] == "succeeded"
    r = client.post(f"/v1/studies/{a}/share", json={"org": "lunar-mutual"}, headers=keys["acme_planner"])
    assert r.status_code == 200, r.text
    return client, keys, a, g


def test_endpoint_role_matrix(world: tuple[TestClient, Keys, str, str]) -> None:
    client, keys, a, _ = world
    failures = []
    for method, template, body, expected in MATRIX:
        path = template.replace("{A}", a)
        for role, want in zip(ROLES, expected, strict=True):
            headers = {} if role == "anon" else keys[role]
            r = client.request(method, path, json=body, headers=headers)
            if r.status_code != want:
                failures.append(
                    f"{method} {template} as {role}: {r.status_code} (want {want}) {r.text[:120]}"
                )
            if r.status_code >= 400:
                assert r.headers["content-type"] == "application/problem+json", (method, path, role)
                assert r.json()["status"] == r.status_code
    assert not failures, "\n".join(failures)


def test_unauthenticated_answers_401_with_challenge(app_client: tuple[TestClient, Keys]) -> None:
    client, _ = app_client
    for headers in ({}, {"X-API-Key": "rk_not-a-key"}, {"X-API-Key": ""}):
        r = client.get("/v1/studies", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("ApiKey")
        assert r.json()["title"] == "Unauthorized"


def test_revoked_key_is_refused(app_client: tuple[TestClient, Keys]) -> None:
    client, keys = app_client
    assert client.get("/v1/studies", headers=keys["acme_planner"]).status_code == 200
    service = client.app.state.service  # type: ignore[attr-defined]
    with service.sessions() as session:
        from api.auth import hash_key

        row = session.query(ApiKey).filter_by(key_sha256=hash_key(keys.values["acme_planner"])).one()
        revoke_key(session, row.id)
    assert client.get("/v1/studies", headers=keys["acme_planner"]).status_code == 401


def test_keys_are_stored_hashed(app_client: tuple[TestClient, Keys]) -> None:
    client, keys = app_client
    service = client.app.state.service  # type: ignore[attr-defined]
    with service.sessions() as session:
        stored = {row.key_sha256 for row in session.query(ApiKey).all()}
    assert stored and not (stored & set(keys.values.values()))
    assert all(len(h) == 64 for h in stored)


def test_organisation_isolation(world: tuple[TestClient, Keys, str, str]) -> None:
    client, keys, a, g = world

    def ids(role: str) -> set[str]:
        return {s["id"] for s in client.get("/v1/studies", headers=keys[role]).json()["items"]}

    assert ids("acme_planner") == {a}
    assert ids("acme_engineer") == {a}
    assert ids("globex_planner") == {g}
    assert ids("mutual_insurer") == {a}
    assert ids("acme_insurer") == set()
    assert ids("admin") == {a, g}
    # Another organisation's study looks exactly like one that does not exist.
    foreign = client.get(f"/v1/studies/{g}", headers=keys["acme_planner"])
    missing = client.get("/v1/studies/st_0000000000000000", headers=keys["acme_planner"])
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"].replace(g, "X") == missing.json()["detail"].replace(
        "st_0000000000000000", "X"
    )
    # Insurers never see who else a study is shared with; the owner does.
    assert client.get(f"/v1/studies/{a}", headers=keys["mutual_insurer"]).json()["shared_with"] == []
    assert client.get(f"/v1/studies/{a}", headers=keys["acme_planner"]).json()["shared_with"] == [
        "lunar-mutual"
    ]
    # Unsharing hides it again.
    client.delete(f"/v1/studies/{a}/share/lunar-mutual", headers=keys["acme_planner"])
    assert client.get(f"/v1/studies/{a}", headers=keys["mutual_insurer"]).status_code == 404
