"""Comparing a delivered body with a seed's documented example: the same keys at the same
levels, the same JSON types (list items compared with the example's first item)."""

from __future__ import annotations

from typing import Any


def shape(value: Any) -> Any:
    """The keys and JSON types of ``value``, recursively."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__
