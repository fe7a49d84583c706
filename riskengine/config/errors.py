"""Turn pydantic validation errors into ConfigErrors that name the field, the value and what is allowed."""

from __future__ import annotations

from typing import Any

import pydantic

from riskengine.errors import ConfigError

_CONSTRAINTS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def describe(error: Any, prefix: str = "") -> str:
    loc = ".".join(str(p) for p in error.get("loc", ()))
    field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
    ctx = error.get("ctx") or {}
    allowed = ", ".join(f"{_CONSTRAINTS[k]} {v}" for k, v in ctx.items() if k in _CONSTRAINTS)
    msg = error.get("msg", "invalid")
    if error.get("type") == "missing":
        return f"field '{field}' is required"
    if error.get("type") == "extra_forbidden":
        return f"field '{field}' is not a known field"
    value = error.get("input")
    text = f"field '{field}' = {value!r}: {msg}"
    return f"{text} (allowed: {allowed})" if allowed else text


def config_error(exc: pydantic.ValidationError, where: str, prefix: str = "") -> ConfigError:
    errors = exc.errors()
    lines = [describe(e, prefix) for e in errors]
    first: Any = errors[0] if errors else {}
    loc = ".".join(str(p) for p in first.get("loc", ()))
    field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
    return ConfigError(f"{where}: " + "; ".join(lines), field=field or None, value=first.get("input"))
