from __future__ import annotations

import pytest

from riskengine.config import ScenarioSpec, build_params
from riskengine.core import Params


@pytest.fixture(scope="session")
def frigoris_params() -> Params:
    return build_params(ScenarioSpec(), "mare_frigoris", {"fuel_margin_pct": 10.0})
