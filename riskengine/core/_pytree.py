"""Frozen dataclasses registered as JAX PyTrees (the diffrax/brax pattern, without a dependency)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, dataclass_transform

import jax

T = TypeVar("T")
Self = TypeVar("Self", bound="PyTree")


class PyTree:
    """Base of the project's PyTree dataclasses: ``replace`` is the only way to "update" one."""

    def replace(self: Self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def static_field(**kwargs: Any) -> Any:
    """A dataclass field carried as PyTree metadata (hashable, never traced)."""
    return dataclasses.field(metadata={"static": True}, **kwargs)


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, static_field))
def pytree_dataclass(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen dataclass and register it with JAX.

    Fields declared with :func:`static_field` become meta fields; all others are leaves.
    Classes derive from :class:`PyTree` for ``replace``.
    """
    dc = dataclasses.dataclass(frozen=True)(cls)
    fields = dataclasses.fields(dc)  # type: ignore[arg-type]
    meta = [f.name for f in fields if f.metadata.get("static", False)]
    data = [f.name for f in fields if not f.metadata.get("static", False)]
    jax.tree_util.register_dataclass(dc, data_fields=data, meta_fields=meta)
    return dc
