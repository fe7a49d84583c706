"""Checks of a spec against an engine: sites and parameters exist, values are physically possible."""

from __future__ import annotations

import difflib

from riskengine.errors import ConfigError
from riskengine.study.kernel import Kernel
from riskengine.study.spec import StudySpec


def _hint(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_spec(spec: StudySpec, kernel: Kernel) -> None:
    """Raise ``ConfigError`` naming the field, the value and what is allowed."""
    sites = list(kernel.site_names())
    for i, site in enumerate(spec.sites):
        if site not in sites:
            raise ConfigError(
                f"sites[{i}]: unknown site {site!r}{_hint(site, sites)}; allowed: {sites}",
                field=f"sites.{i}",
                value=site,
            )
    params = kernel.parameters()
    known = sorted(params)
    seen: dict[str, str] = {}
    for section, names in (("grid", list(spec.grid)), ("dispersions", list(spec.dispersions))):
        for name in names:
            field = f"{section}.{name}"
            if name not in params:
                raise ConfigError(
                    f"{field}: unknown parameter {name!r}{_hint(name, known)}; allowed: {known}",
                    field=field,
                    value=name,
                )
            canon = kernel.canonical_name(name)
            if canon in seen:
                raise ConfigError(
                    f"{field}: {name!r} is the same parameter as {seen[canon]!r}; name it once",
                    field=field,
                    value=name,
                )
            seen[canon] = field
    for axis, values in spec.grid.items():
        info = params[axis]
        for v in values:
            if not info.low <= v <= info.high:
                raise ConfigError(
                    f"grid.{axis}: value {v} is outside the physical range [{info.low}, {info.high}] {info.unit}",
                    field=f"grid.{axis}",
                    value=v,
                )
    kernel.check_dispersions(spec)
