"""The benchmark's model inputs: the smoke study's scenario and dispersions at one site and fuel margin."""

from __future__ import annotations

from riskengine.config import build_dispersion, build_params
from riskengine.config.distributions import Uniform
from riskengine.core import Dispersion, Params
from riskengine.study import load_study_spec

SITE = "mare_frigoris"
FUEL_MARGIN_PCT = 10.0


def study_inputs(
    site: str = SITE, fuel_margin_pct: float = FUEL_MARGIN_PCT, spread_latency: bool = False
) -> tuple[Params, Dispersion]:
    """Parameters and dispersion of the smoke study at ``site``. ``spread_latency``: also disperse the
    altimeter's acquisition delay over the studies' 0-60 s range, so run lengths vary as in a study."""
    spec = load_study_spec("smoke")
    dists = dict(spec.dispersions)
    if spread_latency:
        dists["sensor_latency_s"] = Uniform(low=0.0, high=60.0)
    params = build_params(spec.scenario, site, {"fuel_margin_pct": fuel_margin_pct})
    return params, build_dispersion(dists)
