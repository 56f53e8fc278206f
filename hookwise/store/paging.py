"""Cursor pagination shared by both backends: newest first, the cursor is the last id seen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hookwise.domain.models import Page

T = TypeVar("T")

MAX_LIMIT = 1000


def page(rows: Sequence[Any], limit: int, convert: Callable[[Any], T], key: str = "id") -> Page[T]:
    """A Page from ``limit + 1`` fetched rows: the extra row says whether there is more."""
    more = len(rows) > limit
    kept = rows[:limit]
    cursor = str(kept[-1][key]) if more and kept else None
    return Page([convert(r) for r in kept], cursor)
