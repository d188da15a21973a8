"""Settings dataclasses filled from a notebook's parameters.

A stage's settings dataclass names its fields exactly as the notebook names its parameters, and
holds the defaults (a test keeps the notebook's parameter cell equal to them); a notebook then
builds its settings in one line instead of repeating every name.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

Settings = TypeVar("Settings")


def settings_from(cls: type[Settings], parameters: dict[str, Any], **overrides: Any) -> Settings:
    """`cls` with every field that `parameters` has by the same name, then `overrides`."""
    names = {f.name for f in fields(cls)} - set(overrides)
    return cls(**{name: parameters[name] for name in names if name in parameters}, **overrides)
