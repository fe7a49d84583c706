"""``run_validation``: fly every section, time it, and write the report.

A section that raises is recorded as an error in the report (its message and traceback) and the others
still run: the report is the product, and one broken section must not hide the rest.
"""

from __future__ import annotations

import datetime as dt
import platform
import shlex
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from riskengine.validation import (
    checks_closed_form,
    consistency,
    convergence,
    monotonicity,
    replays,
    working_system,
)
from riskengine.validation.report import document, write_report
from riskengine.validation.section import SectionResult
from riskengine.validation.sizing import DEFAULT_SEED, Sizes

SECTIONS: tuple[ModuleType, ...] = (
    checks_closed_form,
    convergence,
    monotonicity,
    working_system,
    replays,
    consistency,
)
SECTION_KEYS: tuple[str, ...] = tuple(m.KEY for m in SECTIONS)


def reproduce_command(
    quick: bool, out_dir: Path, seed: int, samples: int | None, sections: Sequence[str] | None
) -> str:
    args = ["riskengine", "validate", *(["--quick"] if quick else []), "--out", str(out_dir)]
    if seed != DEFAULT_SEED:
        args += ["--seed", str(seed)]
    if samples is not None:
        args += ["--samples", str(samples)]
    if sections is not None:
        args += ["--sections", ",".join(sections)]
    return shlex.join(args)


def _run_section(module: ModuleType, sizes: Sizes) -> SectionResult:
    start = time.perf_counter()
    try:
        result: SectionResult = module.run(sizes)
    except Exception as exc:
        result = SectionResult(
            module.KEY,
            module.TITLE,
            error=f"{type(exc).__name__}: {exc}",
            data={"traceback": traceback.format_exc()},
        )
    return replace(result, wall_s=time.perf_counter() - start)


def _meta(sizes: Sizes, command: str, started: str) -> dict[str, Any]:
    import jax

    from riskengine.study.provenance import git_revision, package_version

    return {
        "engine_version": package_version(),
        "git_revision": git_revision(),
        "jax_version": jax.__version__,
        "jax_backend": jax.default_backend(),
        "python": platform.python_version(),
        "host": platform.node(),
        "started_utc": started,
        "seed": sizes.seed,
        "quick": sizes.quick,
        "sizes": sizes.to_json(),
        "command": command,
    }


def run_validation(
    quick: bool,
    out_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    samples: int | None = None,
    sections: Sequence[str] | None = None,
    command: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the validation sections and write ``report.html`` and ``report.json`` under ``out_dir``.

    ``samples`` replaces every Monte Carlo count; ``sections`` selects sections by key (default: all).
    Returns the JSON document, plus ``html_path`` and ``json_path``. Checks that fail do not raise.
    """
    unknown = sorted(set(sections or ()) - set(SECTION_KEYS))
    if unknown:
        raise ValueError(f"unknown validation sections {unknown}; known: {list(SECTION_KEYS)}")
    sizes = Sizes.make(quick, samples=samples, seed=seed)
    cmd = command or reproduce_command(quick, out_dir, seed, samples, sections)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    results = []
    for module in SECTIONS:
        if sections is not None and module.KEY not in sections:
            continue
        if progress is not None:
            progress(f"validate: {module.TITLE} ...")
        results.append(_run_section(module, sizes))
        if progress is not None:
            r = results[-1]
            progress(f"validate:   {r.wall_s:.1f} s" + (f", ERROR {r.error}" if r.error else ""))
    meta = _meta(sizes, cmd, started)
    meta["wall_s"] = time.perf_counter() - t0
    meta["section_wall_s"] = {r.key: r.wall_s for r in results}
    html_path, json_path = write_report(meta, results, out_dir)
    return {**document(meta, results), "html_path": str(html_path), "json_path": str(json_path)}
