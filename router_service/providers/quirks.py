"""Reads a provider's config `quirks` into the adapter's own frozen dataclass, at start-up.

Each adapter declares its switches as a dataclass with defaults; an unknown switch or a value of the
wrong type stops start-up with the provider and switch named, instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from router_service.config import ConfigError

Q = TypeVar("Q")


def apply_quirks(provider: str, defaults: Q, options: Mapping[str, Any]) -> Q:
    """`defaults` with `options` applied; each option must name a field and match its declared type."""
    hints = typing.get_type_hints(type(defaults))
    names = {f.name for f in dataclasses.fields(defaults)}  # type: ignore[arg-type]
    for key, value in options.items():
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"providers.{provider}.quirks.{key}: unknown switch (known: {known})")
        if not _matches(value, hints[key]):
            raise ConfigError(f"providers.{provider}.quirks.{key}: expected {hints[key]}, got {value!r}")
    return dataclasses.replace(defaults, **options)  # type: ignore[type-var]


def _matches(value: Any, hint: Any) -> bool:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is typing.Literal:
        return value in typing.get_args(hint)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)
