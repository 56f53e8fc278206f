"""SQL written once for both databases: a transaction is a generator of statements.

A role of the store (``resources``, ``messages``, ``jobs``…) writes each operation once, as a
generator function that yields ``Statement`` values and receives each one's result::

    def tx() -> Tx[Endpoint]:
        r = yield fetchrow("SELECT * FROM endpoints WHERE app_id = $1 AND id = $2", a, e)
        if r is None:
            raise NotFound("endpoint", e)
        return rows.endpoint(r, box.decrypt)

    endpoint = await handle.read(tx)

A ``Handle`` runs it, and only the handle knows the driver. The SQLite handle runs the whole
generator on its writer (or reader) thread, one hop for the transaction rather than one per
statement; the PostgreSQL handle awaits each statement on one pooled connection. The function is
called afresh for each run (SQLite's group commit may run an operation again after a rollback),
so it must do nothing but yield statements and compute.

Statements use PostgreSQL's numbered marks (``$1``); the SQLite dialect rewrites them to
``?1``, which SQLite binds by the same numbers. What truly differs between the two (row locks,
array parameters) is the ``Dialect``'s to say. A unique violation is thrown into the generator
as ``Duplicate``, so the rule that turns it into a ``Conflict`` is written once too; after one,
the transaction can only raise (PostgreSQL has aborted it; ``throw_duplicate`` holds both
databases to that).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NoReturn, Protocol, TypeVar

import orjson

T = TypeVar("T")
Shape = Literal["all", "one", "value", "count", "many"]


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement, its parameters, and what its result is to be (see the makers below)."""

    sql: str
    args: tuple[Any, ...]
    shape: Shape


def fetch(sql: str, *args: Any) -> Statement:
    """All rows (each read by column name)."""
    return Statement(sql, args, "all")


def fetchrow(sql: str, *args: Any) -> Statement:
    """The first row, or None."""
    return Statement(sql, args, "one")


def fetchval(sql: str, *args: Any) -> Statement:
    """The first column of the first row, or None."""
    return Statement(sql, args, "value")


def execute(sql: str, *args: Any) -> Statement:
    """How many rows the statement changed."""
    return Statement(sql, args, "count")


def executemany(sql: str, params: Sequence[Sequence[Any]]) -> Statement:
    """The statement once per parameter row; no result."""
    return Statement(sql, (params,), "many")


Tx = Generator[Statement, Any, T]
"""A transaction: yields statements, is sent each result, returns its value."""

TxFn = Callable[[], Tx[T]]


#: SQL: a delivery still to be attempted, said as SQLite's planner can match it to the due
#: indexes (``tables``: their predicate on SQLite): it uses a partial index only for a WHERE
#: holding one of the predicate's OR terms as written, never an ``IN`` list nor a parameter
QUEUED = "status = 'pending' OR status = 'held'"


def still(column: str, value: str) -> str:
    """SQL: ``column`` still equals the literal ``value`` on the row being changed, a re-check
    after the row was picked (on PostgreSQL it may have changed while the statement waited for
    its lock). Written ``column || ''`` so that SQLite's planner does not serve the check from
    the column's index (every such row of every endpoint) instead of the primary key."""
    return f"{column} || '' = '{value}'"


class Duplicate(Exception):
    """A unique constraint refused a row (thrown into the transaction at its statement)."""


def throw_duplicate(tx: Tx[Any], cause: Exception) -> NoReturn:
    """Throw ``Duplicate`` into ``tx``, which must end by raising: PostgreSQL has aborted the
    transaction, so a statement after it would fail, and a normal end would commit nothing
    there while SQLite commits the statements before it. Use ``ON CONFLICT`` to go on."""
    with contextlib.suppress(StopIteration):
        tx.throw(Duplicate(str(cause)))
    raise RuntimeError("a transaction went on after a Duplicate instead of raising") from cause


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between SQLite and PostgreSQL in the statements written once."""

    name: Literal["sqlite", "postgresql"]
    for_update: str  # appended to a SELECT that locks the rows it reads until the commit
    skip_locked: str  # the same, passing over rows that others hold locked (batches of cleanup)

    def any(self, column: str, mark: str) -> str:
        """``column`` is one of the values of the array parameter ``mark`` (see ``array``)."""
        if self.name == "postgresql":
            return f"{column} = ANY({mark}::text[])"
        return f"{column} IN (SELECT value FROM json_each({mark}))"

    def among(self, column: str, mark: str) -> str:
        """``any``, for a test that many rows of one statement make: PostgreSQL hashes the
        values once, where ``= ANY`` of a parameter (a generic plan) compares each row with
        each value in turn (bench/README.md has the figures); SQLite's ``IN`` of a subquery
        builds its lookup once already."""
        if self.name == "postgresql":
            return f"{column} IN (SELECT unnest({mark}::text[]))"
        return self.any(column, mark)

    def key_in(self, table: str, app_mark: str, ids_mark: str) -> str:
        """``table``'s rows of app ``app_mark`` whose id is one of the array ``ids_mark``,
        said so that each planner takes them by primary key. SQLite's, with no statistics,
        reads a whole app through any index that holds ``app_id`` and the columns a
        statement checks (a re-queue step over 1,000,000 failed deliveries went ~290
        rows/s): on it the ids are looked up first and the rows taken by ``rowid``."""
        if self.name == "postgresql":
            return f"app_id = {app_mark} AND id = ANY({ids_mark}::text[])"
        return (
            f"rowid IN (SELECT t.rowid FROM json_each({ids_mark}) j CROSS JOIN {table} t"
            f" ON t.app_id = {app_mark} AND t.id = j.value)"
        )

    def joined(self, text: str) -> str:
        """The aggregate of the ``text`` values of a group, joined by commas (one value
        read back, where a row each would allocate a row each)."""
        if self.name == "postgresql":
            return f"string_agg({text}, ',')"
        return f"group_concat({text}, ',')"

    def array(self, values: Sequence[str]) -> Any:
        """The parameter that ``any`` reads: a list for asyncpg, JSON text for SQLite."""
        if self.name == "postgresql":
            return list(values)
        return orjson.dumps(list(values)).decode()

    def insert_rows(
        self, into: str, values: str, types: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> Statement:
        """``INSERT INTO {into} VALUES ({values})`` for each of ``rows`` (``$n``: the row's
        n-th field, of PostgreSQL type ``types[n - 1]``). SQLite runs it once per row, in
        process; PostgreSQL sends each field as one array and unnests them: one statement,
        where asyncpg's ``executemany`` pays for every row (measured). No result."""
        if self.name == "sqlite":
            return executemany(f"INSERT INTO {into} VALUES ({values})", rows)
        arrays = ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, 1))
        names = ", ".join(f"c{n}" for n in range(1, len(types) + 1))
        select = _MARK.sub(r"x.c\1", values)
        fields = [list(f) for f in zip(*rows, strict=True)] if rows else [[] for _ in types]
        return execute(
            f"INSERT INTO {into} SELECT {select} FROM unnest({arrays}) AS x({names})", *fields
        )


SQLITE = Dialect(name="sqlite", for_update="", skip_locked="")
POSTGRES = Dialect(
    name="postgresql", for_update=" FOR UPDATE", skip_locked=" FOR UPDATE SKIP LOCKED"
)

_MARK = re.compile(r"\$(\d+)")


@lru_cache(maxsize=1024)
def sqlite_marks(sql: str) -> str:
    """``sql`` with ``$1`` marks rewritten to SQLite's ``?1`` (statements are few: cached)."""
    return _MARK.sub(r"?\1", sql)


class Handle(Protocol):
    """One database, as the store's roles use it: run transactions, and say work is due."""

    dialect: Dialect

    async def read(self, tx: TxFn[T]) -> T:
        """Run ``tx`` for its reads (SQLite: on the reader connection, off the writer)."""

    async def write(self, tx: TxFn[T], *, durable: bool = True) -> T:
        """Run ``tx`` in a transaction; its value once committed. ``durable=False`` may skip
        SQLite's fsync (at-least-once work that a power cut only makes happen again)."""

    def wake(self) -> None:
        """Work may be due now: wake this process's waiting workers, and other processes'."""

    async def wait_for_wake(self, timeout: float) -> None:
        """Return at the next wake-up (of any process) or after ``timeout`` seconds."""


__all__ = [
    "POSTGRES",
    "SQLITE",
    "Dialect",
    "Duplicate",
    "Handle",
    "Statement",
    "Tx",
    "TxFn",
    "execute",
    "executemany",
    "fetch",
    "fetchrow",
    "fetchval",
    "sqlite_marks",
    "still",
    "throw_duplicate",
]
