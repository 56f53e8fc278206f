"""The PostgreSQL inbox (asyncpg): several receivers and workers may share it.

Concurrent inserts are group-committed (``Batcher``): one multi-row statement per batch.
Claims use ``FOR UPDATE SKIP LOCKED``, so any number of processors split the work. Inserts wake
workers in other processes with ``NOTIFY``, sent apart from the insert and at most every
``NOTIFY_INTERVAL`` seconds: a transaction that notifies takes a cluster-wide lock through its
commit, so a ``NOTIFY`` inside every insert would serialise all commits (about 250/s here).
The rules are ``inbox_sql``'s; this module only runs them on a pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg

from hookwise.domain.ids import new_id
from hookwise.receiver import inbox_sql
from hookwise.receiver.batcher import Batcher
from hookwise.receiver.errors import InboxUnavailable
from hookwise.receiver.inbox import NewItem
from hookwise.receiver.inbox_sql import Dialect, SqlInbox

NOTIFY_INTERVAL = 0.05
_DRIVER_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)

POSTGRES = Dialect(
    mark="$",
    blob="bytea",
    json="jsonb",
    time="timestamptz",
    lock=" FOR UPDATE SKIP LOCKED",
    store_time=lambda when: when,
    load_time=lambda value: value,
)


class _PoolDriver:
    """Runs statements on an asyncpg pool; LISTENs on a connection of its own."""

    def __init__(self, dsn: str, table: str, min_size: int, max_size: int, timeout: float):
        self.dsn = dsn
        self._table = table
        self._channel = f"{table}_new"
        self._sizes = (min_size, max_size)
        self._timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._batcher: Batcher[NewItem, str | None] = Batcher(self._insert_rows)
        self._pending_notify = asyncio.Event()
        self._notifier: asyncio.Task[None] | None = None
        self._open_lock = asyncio.Lock()

    async def open(self) -> None:
        """Create the pool and the tables (under an advisory lock, so racing opens are safe)."""
        async with self._open_lock:
            if self._pool is not None:
                return
            try:
                pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=self._sizes[0],
                    max_size=self._sizes[1],
                    timeout=self._timeout,
                    command_timeout=self._timeout,
                )
            except _DRIVER_ERRORS as exc:
                raise InboxUnavailable(
                    f"cannot connect to the postgres inbox: {type(exc).__name__}: {exc}"
                ) from exc
            try:
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self._table)
                    await conn.execute(inbox_sql.schema(self._table, POSTGRES))
            except _DRIVER_ERRORS as exc:
                await pool.close()
                raise InboxUnavailable(f"cannot create the inbox tables: {exc}") from exc
            self._pool = pool

    async def close(self) -> None:
        """Close the notifier, the listener and the pool."""
        notifier, self._notifier = self._notifier, None
        if notifier is not None:
            notifier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await notifier
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[asyncpg.Connection]:
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        try:
            async with self._pool.acquire(timeout=self._timeout) as conn:
                yield conn
        except _DRIVER_ERRORS as exc:
            raise InboxUnavailable(f"postgres inbox: {type(exc).__name__}: {exc}") from exc

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        async with self._conn() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *params)
            return rows

    async def write(
        self, sql: str, params: Sequence[Any] = (), durable: bool = False
    ) -> list[asyncpg.Record]:
        return await self.read(sql, params)  # every commit is durable here

    async def write_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        async with self._conn() as conn:
            await conn.executemany(sql, params)

    async def transaction(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[asyncpg.Record]:
        async with self._conn() as conn, conn.transaction():
            results: list[list[asyncpg.Record]] = [
                await conn.fetch(sql, *params) for sql, params in statements
            ]
        return results[0]

    async def insert(self, item: NewItem) -> str | None:
        return await self._batcher.submit(item)

    async def _insert_rows(self, items: list[NewItem]) -> list[str | None]:
        """One statement for the batch; the first of several equal keys in it wins."""
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            first.setdefault(item.dedupe_key, i)
        ids = [new_id("inb") for _ in items]
        rows = (inbox_sql.insert_params(items[i], ids[i]) for i in first.values())
        columns = zip(*rows, strict=True)
        inserted = await self.read(
            f"INSERT INTO {self._table} ({inbox_sql.INSERT_COLUMNS})"
            " SELECT u.id, u.k, u.e, u.s, u.b, u.h::jsonb, 'received', 0, $7, $7, $7"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[],"
            " $6::text[]) AS u(id, k, e, s, b, h)"
            " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            (*(list(c) for c in columns), datetime.now(UTC)),
        )
        stored = {r["id"] for r in inserted}
        return [
            ids[i] if first[item.dedupe_key] == i and ids[i] in stored else None
            for i, item in enumerate(items)
        ]

    def notify(self) -> None:
        """Ask the notifier to tell other processes; many inserts make one NOTIFY."""
        self._pending_notify.set()
        if self._notifier is None or self._notifier.done():
            self._notifier = asyncio.create_task(self._notify_loop())

    async def _notify_loop(self) -> None:
        while self._pool is not None:
            await self._pending_notify.wait()
            self._pending_notify.clear()
            with contextlib.suppress(InboxUnavailable):  # a hint only: workers poll anyway
                await self.read("SELECT pg_notify($1, '')", (self._channel,))
            await asyncio.sleep(NOTIFY_INTERVAL)

    async def listen(self, wake: Callable[[], None]) -> None:
        """LISTEN on a connection of its own (again, when it was lost); polling covers a gap."""
        if self._pool is None or (self._listener is not None and not self._listener.is_closed()):
            return
        self._listener = None
        try:
            conn = await asyncpg.connect(self.dsn, timeout=self._timeout)
        except _DRIVER_ERRORS:
            return  # polling still works; LISTEN is tried again on the next wait
        try:
            await conn.add_listener(self._channel, lambda *_: wake())
        except _DRIVER_ERRORS:
            await conn.close()
            return
        self._listener = conn


class PostgresInbox(SqlInbox):
    """An ``Inbox`` in PostgreSQL; ``table`` names its tables (one per receiver if you like)."""

    def __init__(
        self,
        dsn: str,
        *,
        table: str = "hookwise_inbox",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 5.0,
    ) -> None:
        self.dsn = dsn
        driver = _PoolDriver(dsn, inbox_sql.table_name(table), min_size, max_size, timeout)
        super().__init__(driver, POSTGRES, table)

    def __repr__(self) -> str:
        return f"PostgresInbox(table={self.table!r})"
