"""Validation: the engine against closed form, its own convergence, statistical properties and replays.

Public API::

    doc = run_validation(quick=True, out_dir=Path("out/validation"))       # writes report.html, report.json
    doc["summary"]                                                         # every check with its verdict

Sections (one module each): ``checks_closed_form``, ``convergence``, ``monotonicity``, ``working_system``,
``replays``, ``consistency``. They call the engine's public API only (config, core, replay, study spec).
"""

from riskengine.validation.runner import SECTION_KEYS, run_validation
from riskengine.validation.sizing import DEFAULT_SEED, Sizes

__all__ = ["DEFAULT_SEED", "SECTION_KEYS", "Sizes", "run_validation"]
