"""One SQLite connection on one dedicated thread, with group commit for durable writes.

Every statement runs on the writer's thread, so the event loop never blocks on the file. A
durable write (an insert that must be on disk before its ACK) goes through a ``Batcher``, so
``synchronous=FULL`` costs one fsync per batch of concurrent requests, not one per request.
Other writes use ``synchronous=NORMAL`` (see ``_begin``). Driver errors come out as
``InboxUnavailable``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Generic, TypeVar

from hookwise.receiver.batcher import Batcher
from hookwise.receiver.errors import InboxUnavailable

T = TypeVar("T")
V = TypeVar("V")
R = TypeVar("R")
Batch = Callable[[sqlite3.Connection, list[V]], list[R]]


class SqliteWriter(Generic[V, R]):
    """The connection to ``path``; ``batch`` writes a group of durable items in one transaction."""

    def __init__(self, path: Path, *, synchronous: str, schema: str, batch: Batch[V, R]) -> None:
        if synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("synchronous must be FULL, NORMAL or EXTRA")
        self.path = path
        self._synchronous = synchronous.upper()
        self._schema = schema
        self._batch = batch
        self._level = ""
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._batcher: Batcher[V, R] = Batcher(self._flush)
        self._open_lock = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            self._level = self._synchronous
            conn.executescript(self._schema)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    async def open(self) -> None:
        """Start the thread, open the file (created if missing) and create the schema."""
        async with self._open_lock:
            if self._executor is not None:
                return
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookwise-inbox")
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(executor, self._connect)
            except (sqlite3.Error, OSError) as exc:
                executor.shutdown(wait=False)
                raise InboxUnavailable(f"cannot open sqlite inbox {self.path}: {exc}") from exc
            self._executor = executor

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return

        def _close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(executor, _close)
        executor.shutdown(wait=True)

    # -- on the writer thread ----------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("inbox is closed")
        return self._conn

    def _begin(self, *, durable: bool) -> sqlite3.Connection:
        """Start a write; only durable ones wait for an fsync.

        Processing state (claims, outcomes) is written with ``synchronous=NORMAL``: WAL keeps
        it consistent, and a power cut can at worst lose a recent outcome, so a handler runs
        again. The next durable commit syncs everything written before it too.
        """
        db = self._db()
        level = self._synchronous if durable else "NORMAL"
        if level != self._level:
            db.execute(f"PRAGMA synchronous = {level}")
            self._level = level
        db.execute("BEGIN IMMEDIATE")
        return db

    def transaction(self, work: Callable[[sqlite3.Connection], T], durable: bool) -> T:
        """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction (on the writer thread)."""
        db = self._begin(durable=durable)
        try:
            result = work(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    # -- from the event loop -----------------------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the writer thread."""
        if self._executor is None:
            await self.open()
        assert self._executor is not None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except (sqlite3.Error, OSError) as exc:
            raise InboxUnavailable(f"sqlite inbox {self.path}: {exc}") from exc

    async def write(
        self, sql: str, params: Sequence[Any] = (), *, durable: bool = False
    ) -> list[sqlite3.Row]:
        """One statement in its own transaction; its rows (for ``RETURNING``)."""
        return await self.run(
            self.transaction, lambda db: db.execute(sql, params).fetchall(), durable
        )

    async def write_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        """One statement per parameter row, all in one transaction."""
        await self.run(self.transaction, lambda db: db.executemany(sql, params), False)

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a query."""
        return await self.run(lambda: self._db().execute(sql, params).fetchall())

    async def durable(self, item: V) -> R:
        """Write ``item`` with ``batch``, durably, together with whatever else is waiting."""
        return await self._batcher.submit(item)

    async def _flush(self, items: list[V]) -> list[R]:
        return await self.run(self.transaction, lambda db: self._batch(db, items), True)
