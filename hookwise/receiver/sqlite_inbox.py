"""The SQLite inbox: one file in WAL mode, written by the shared group-commit writer thread.

Inserts are group-committed with ``synchronous=FULL``: durable before the ACK, one fsync per
group of concurrent requests (``hookwise.sqlite.writer``; claims and outcomes skip the fsync
when nothing durable shares their group). Other processes (``hookwise receive dead list``, a
``--worker``) may open the same file at the same time; WAL and a busy timeout keep them out of
each other's way. The rules are ``inbox_sql``'s; this module only runs them on the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from hookwise.domain.ids import new_id
from hookwise.receiver import inbox_sql
from hookwise.receiver.errors import InboxUnavailable
from hookwise.receiver.inbox import NewItem, to_datetime
from hookwise.receiver.inbox_sql import Dialect, SqlInbox
from hookwise.sqlite.writer import SqliteFile


def _epoch(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


SQLITE = Dialect(
    mark="?",
    blob="BLOB",
    json="TEXT",
    time="REAL",
    lock="",
    store_time=_epoch,
    load_time=to_datetime,
)


class _FileDriver:
    """Runs statements on the shared writer (writes) and its reader connection (reads)."""

    def __init__(self, path: Path, table: str, synchronous: str) -> None:
        self._db = SqliteFile(
            str(path), synchronous=synchronous, error=InboxUnavailable, make_dirs=False, busy=5.0
        )
        self._schema = inbox_sql.schema(table, SQLITE)
        self._insert = (
            f"INSERT INTO {table} ({inbox_sql.INSERT_COLUMNS})"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'received', 0, ?7, ?7, ?7)"
            " ON CONFLICT (dedupe_key) DO NOTHING"
        )
        self._open_lock = asyncio.Lock()

    async def open(self) -> None:
        async with self._open_lock:
            if self._db.started:
                return
            await asyncio.to_thread(self._db.start)
            try:
                await self._run(self._create, durable=True)
            except BaseException:
                await self.close()
                raise

    async def close(self) -> None:
        await asyncio.to_thread(self._db.stop)

    def _create(self, db: sqlite3.Connection) -> None:
        for statement in self._schema.split(";"):  # not executescript: it would COMMIT
            if statement.strip():
                db.execute(statement)

    async def _run(self, op: Callable[[sqlite3.Connection], Any], durable: bool = False) -> Any:
        if not self._db.started:
            await self.open()
        try:
            return await self._db.write(op, durable=durable)
        except sqlite3.Error as exc:
            raise InboxUnavailable(f"sqlite inbox {self._db.path}: {exc}") from exc

    async def insert(self, item: NewItem) -> str | None:
        item_id = new_id("inb")
        params = (*inbox_sql.insert_params(item, item_id), time.time())
        inserted = await self._run(lambda db: db.execute(self._insert, params).rowcount, True)
        return item_id if inserted == 1 else None

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        if not self._db.started:
            await self.open()
        return await self._db.read(lambda db: db.execute(sql, params).fetchall())

    async def write(
        self, sql: str, params: Sequence[Any] = (), durable: bool = False
    ) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = await self._run(
            lambda db: db.execute(sql, params).fetchall(), durable
        )
        return rows

    async def write_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        await self._run(lambda db: db.executemany(sql, params))

    async def transaction(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[sqlite3.Row]:
        def _all(db: sqlite3.Connection) -> list[sqlite3.Row]:
            results = [db.execute(sql, params).fetchall() for sql, params in statements]
            return results[0]

        rows: list[sqlite3.Row] = await self._run(_all)
        return rows

    async def listen(self, wake: Callable[[], None]) -> None:
        """Nothing to listen to: another process's inserts are found by polling."""

    def notify(self) -> None:
        """Nobody to tell: workers of other processes poll the file."""


class SqliteInbox(SqlInbox):
    """An ``Inbox`` in one SQLite file (WAL); ``table`` names its tables.

    ``synchronous`` is the level of the writes that must be durable before the ACK (inserts,
    expectations): ``FULL`` by default, ``EXTRA`` for more, ``NORMAL`` to trade durability on
    power loss for latency.
    """

    def __init__(
        self, path: str | Path, *, table: str = "hookwise_inbox", synchronous: str = "FULL"
    ) -> None:
        if synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("synchronous must be FULL, NORMAL or EXTRA")
        self.path = Path(path)
        driver = _FileDriver(self.path, inbox_sql.table_name(table), synchronous.upper())
        super().__init__(driver, SQLITE, table)

    def __repr__(self) -> str:
        return f"SqliteInbox({str(self.path)!r}, table={self.table!r})"
