"""The SQLite ``Handle``: transactions written once (``store.sql``) run on the file's threads.

A whole transaction runs on one thread in one go (the writer thread for writes, group-committed
with whatever else is queued; the reader thread for reads), so a cold-path operation costs one
hop from the event loop however many statements it holds. Wake-ups are in-process futures: an
embedded store has no other process to tell.
"""

from __future__ import annotations

import sqlite3
from typing import Any, TypeVar

from hookwise.sqlite.writer import SqliteFile
from hookwise.store.sql import SQLITE, Statement, Tx, TxFn, sqlite_marks, throw_duplicate
from hookwise.store.wakeups import Waiters

T = TypeVar("T")


def is_duplicate(exc: sqlite3.IntegrityError) -> bool:
    """Whether SQLite refused a row for a unique constraint (or primary key), not another
    constraint (NOT NULL, CHECK)."""
    text = str(exc)
    return "UNIQUE" in text or "PRIMARY KEY" in text


def run(conn: sqlite3.Connection, tx: Tx[T]) -> T:
    """Run the transaction ``tx`` to its end on ``conn`` (the caller owns BEGIN/COMMIT)."""
    try:
        stmt = next(tx)
        while True:
            try:
                result = _one(conn, stmt)
            except sqlite3.IntegrityError as exc:
                if not is_duplicate(exc):
                    raise
                throw_duplicate(tx, exc)
            stmt = tx.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        tx.close()


def _one(conn: sqlite3.Connection, stmt: Statement) -> Any:
    sql = sqlite_marks(stmt.sql)
    if stmt.shape == "many":
        conn.executemany(sql, stmt.args[0])
        return None
    cur = conn.execute(sql, stmt.args)
    if stmt.shape == "all":
        return cur.fetchall()
    if stmt.shape == "count":
        return cur.rowcount
    row = cur.fetchone()
    if stmt.shape == "one":
        return row
    return None if row is None else row[0]


class SqliteHandle:
    """One store file: transactions, and the wake-ups of this process's workers."""

    dialect = SQLITE

    def __init__(self, file: SqliteFile) -> None:
        self.file = file
        self._waiters = Waiters()

    async def read(self, tx: TxFn[T]) -> T:
        return await self.file.read(lambda c: run(c, tx()))

    async def write(self, tx: TxFn[T], *, durable: bool = True) -> T:
        return await self.file.write(lambda c: run(c, tx()), durable=durable)

    def wake(self) -> None:
        self._waiters.wake()

    async def wait_for_wake(self, timeout: float) -> None:
        """Return at the next ``wake`` or after ``timeout`` seconds."""
        await self._waiters.wait(timeout)
