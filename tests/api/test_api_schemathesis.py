"""Schemathesis over the OpenAPI schema: generated requests (valid and invalid) never get a 5xx, and
responses conform to the documented status codes and content types."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from api_helpers import Keys, make_keys, make_test_app
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

# Built at import (schemathesis reads the schema then), but nothing happens before the lifespan runs:
# the data dir is only a path until the module fixture below starts the app.
DATA_DIR = Path(tempfile.gettempdir()) / f"riskengine-schemathesis-{os.getpid()}"
APP = make_test_app(DATA_DIR, max_cells=8, max_samples_per_cell=64)
# Flying a replay runs the full descent engine (a JAX compile of several seconds per name): that route is
# covered by the role matrix and by the real-server test instead.
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path="/v1/replays/{name}")
_keys: dict[str, Keys] = {}


@pytest.fixture(scope="module", autouse=True)
def running() -> Iterator[None]:
    with TestClient(APP):  # runs the lifespan: database, migrations, runner
        _keys["keys"] = make_keys(APP)
        yield
    shutil.rmtree(DATA_DIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers=_keys["keys"]["admin"],
        checks=[not_a_server_error, status_code_conformance, content_type_conformance],
    )


def test_schema_is_written(tmp_path: Path) -> None:
    schema = make_test_app(tmp_path).openapi()
    assert schema["info"]["title"] == "riskengine"
    for path, item in schema["paths"].items():
        for method, op in item.items():
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
