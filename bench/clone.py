"""Large set-ups in seconds: rows cloned, in SQL, from rows hookwise itself wrote through its API.

A million messages through the API take minutes; the figures need them in place, not the time
it took to put them there. So one row of each table, written by hookwise, is copied ``n`` times
by one ``INSERT … SELECT`` per table, with the columns that must differ (ids, times, status)
given as SQL expressions of the clone's number ``g``. Columns are read from the catalog, so a
column added to the schema is copied as it is; columns named ``lease…`` are cleared.

The same statements run on PostgreSQL (``generate_series``) and SQLite (a recursive CTE).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    """How a dialect numbers the clones ``g`` = 1..n and names its two parameters."""

    prefix: str  # written before ``INSERT`` (SQLite's CTE)
    source: str  # the FROM item giving ``g``
    key: str  # the parameter holding the seed's key (the other one holds n)
    pad: str  # ``g`` as 26 characters (ids keep the prefix_ + 26 characters shape)


PG = Series("", "generate_series(1, $2::int) g", "$1", "lpad(g::text, 26, '0')")
SQLITE = Series(
    "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ?2) ",
    "s",
    "?1",
    "printf('%026d', g)",
)


def ident(series: Series, prefix: str) -> str:
    """The SQL expression of clone ``g``'s id with type ``prefix`` (``msg``, ``dlv``, ``att``)."""
    return f"'{prefix}_' || {series.pad}"


@dataclass(frozen=True)
class Clone:
    """Copy the rows of ``table`` whose column ``key`` holds the seed's key, with ``overrides``
    (column → SQL expression of the clone's number ``g``)."""

    table: str
    key: str
    overrides: dict[str, str]


def clone_sql(series: Series, c: Clone, cols: list[str]) -> str:
    """The ``INSERT`` of n copies of ``c``'s rows, ``cols`` being its table's columns."""

    def expr(col: str) -> str:
        if col in c.overrides:
            return c.overrides[col]
        if col.startswith("lease"):
            return "NULL"
        return f't."{col}"'

    names = ", ".join(f'"{c}"' for c in cols)
    select = ", ".join(expr(c) for c in cols)
    return (
        f'{series.prefix}INSERT INTO "{c.table}" ({names}) SELECT {select} '
        f'FROM "{c.table}" t, {series.source} WHERE t."{c.key}" = {series.key}'
    )


def message_overrides(series: Series, created: str) -> dict[str, str]:
    """Clone ``g`` of a message: its own id, no event id, created at ``created``."""
    return {"id": ident(series, "msg"), "event_id": "NULL", "created_at": created}


def delivery_overrides(series: Series, status: str, at: str, **more: str) -> dict[str, str]:
    """Clone ``g`` of a delivery, of clone ``g`` of the message, in ``status``, created at
    ``at`` (and due then, unless ``more`` says otherwise)."""
    return {
        "id": ident(series, "dlv"),
        "message_id": ident(series, "msg"),
        "status": f"'{status}'",
        "attempt_count": "0",
        "retry_base": "0",
        "next_attempt_at": at,
        "created_at": at,
        "updated_at": at,
        "last_attempt_at": "NULL",
        "last_status_code": "NULL",
        **more,
    }


def attempt_overrides(series: Series, at: str) -> dict[str, str]:
    """Clone ``g`` of an attempt, of clone ``g`` of the delivery and message, started ``at``."""
    return {
        "id": ident(series, "att"),
        "delivery_id": ident(series, "dlv"),
        "message_id": ident(series, "msg"),
        "started_at": at,
    }
