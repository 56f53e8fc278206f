"""The PostgreSQL ``Handle``: transactions written once (``store.sql``) run on a pooled
connection, each statement awaited in turn; wake-ups go to this process's workers at once and
to the others by a coalesced ``NOTIFY`` after the commit (``listener``)."""

from __future__ import annotations

from typing import Any, TypeVar

import asyncpg

from hookwise.store.postgres.listener import Listener, Notifier
from hookwise.store.postgres.pool import Connection, Pools, affected
from hookwise.store.sql import POSTGRES, Statement, Tx, TxFn, throw_duplicate

T = TypeVar("T")


async def run(conn: Connection, tx: Tx[T]) -> T:
    """Run the transaction ``tx`` to its end on ``conn`` (the caller owns the transaction)."""
    try:
        stmt = next(tx)
        while True:
            try:
                result = await _one(conn, stmt)
            except asyncpg.UniqueViolationError as exc:
                throw_duplicate(tx, exc)
            stmt = tx.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        tx.close()


async def _one(conn: Connection, stmt: Statement) -> Any:
    if stmt.shape == "all":
        return await conn.fetch(stmt.sql, *stmt.args)
    if stmt.shape == "one":
        return await conn.fetchrow(stmt.sql, *stmt.args)
    if stmt.shape == "value":
        return await conn.fetchval(stmt.sql, *stmt.args)
    if stmt.shape == "count":
        return affected(await conn.execute(stmt.sql, *stmt.args))
    await conn.executemany(stmt.sql, stmt.args[0])
    return None


class PostgresHandle:
    """One database's pools and wake-ups."""

    dialect = POSTGRES

    def __init__(self, pools: Pools, listener: Listener, notifier: Notifier) -> None:
        self.pools = pools
        self.listener = listener
        self.notifier = notifier

    async def read(self, tx: TxFn[T]) -> T:
        async with self.pools.connection() as c:
            return await run(c, tx())

    async def write(self, tx: TxFn[T], *, durable: bool = True) -> T:
        async with self.pools.transaction() as c:
            return await run(c, tx())

    def wake(self) -> None:
        self.listener.wake()
        self.notifier.poke()

    async def wait_for_wake(self, timeout: float) -> None:
        """Return at the next wake-up (this process's, or a NOTIFY) or after ``timeout``;
        the first call starts the LISTEN connection."""
        await self.listener.wait(timeout)
