"""Presets and specs: YAML under ``configs/`` validated into the core's parameter PyTrees.

Validation errors name the field, the value and the allowed range (:class:`riskengine.errors.ConfigError`).
"""

from riskengine.config.distributions import DistributionSpec, build_dispersion
from riskengine.config.parameters import PARAMETERS, ParameterInfo, resolve_path
from riskengine.config.presets import load_preset, preset_names, site_names
from riskengine.config.scenario import ScenarioSpec, build_params, nominal_propellant_need_kg

__all__ = [
    "PARAMETERS",
    "DistributionSpec",
    "ParameterInfo",
    "ScenarioSpec",
    "build_dispersion",
    "build_params",
    "load_preset",
    "nominal_propellant_need_kg",
    "preset_names",
    "resolve_path",
    "site_names",
]
