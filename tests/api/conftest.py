"""Fixtures for the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import Keys, running_app
from fastapi.testclient import TestClient


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[tuple[TestClient, Keys]]:
    """An in-process app (closed-form kernel, chunks run in the service process) and keys by name."""
    with running_app(tmp_path) as pair:
        yield pair
