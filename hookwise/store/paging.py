"""Cursor pagination shared by both backends: newest first, the cursor is the last id seen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hookwise.domain.models import Page

T = TypeVar("T")

MAX_LIMIT = 1000


def newest_of(table: str, column: str) -> str:
    """The statement of one page of ``table``'s rows whose ``column`` is $1, newest first after
    the cursor $2 (``after``), $3 of them (``limit + 1``: see ``page``)."""
    return f"SELECT * FROM {table} WHERE {column} = $1 AND id < $2 ORDER BY id DESC LIMIT $3"


def after(cursor: str | None) -> str:
    """The cursor's bound: past every id when there is none."""
    return cursor or "~"


def page(rows: Sequence[Any], limit: int, convert: Callable[[Any], T], key: str = "id") -> Page[T]:
    """A Page from ``limit + 1`` fetched rows: the extra row says whether there is more."""
    more = len(rows) > limit
    kept = rows[:limit]
    cursor = str(kept[-1][key]) if more and kept else None
    return Page([convert(r) for r in kept], cursor)
