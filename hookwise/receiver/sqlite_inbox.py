"""The SQLite inbox: one file in WAL mode, written by one dedicated thread (``SqliteWriter``).

Inserts are group-committed with ``synchronous=FULL``: durable before the ACK, one fsync per
batch of concurrent requests. Other processes (``hookwise receive dead list``, a ``--worker``)
may open the same file at the same time; WAL and a busy timeout keep them out of each other's way.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from hookwise.domain.ids import new_id
from hookwise.receiver.inbox import (
    Expectation,
    Failure,
    InboxItem,
    NewItem,
    State,
    to_datetime,
)
from hookwise.receiver.sqlite_writer import SqliteWriter

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {t} (
    id TEXT PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    source TEXT NOT NULL,
    body BLOB NOT NULL,
    headers TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    received_at REAL NOT NULL,
    next_try_at REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS {t}_due ON {t} (next_try_at) WHERE state IN ('received', 'processing');
CREATE INDEX IF NOT EXISTS {t}_state ON {t} (state, received_at);
CREATE TABLE IF NOT EXISTS {t}_expected (
    key TEXT PRIMARY KEY,
    status_url TEXT NOT NULL,
    event_type TEXT,
    deadline REAL NOT NULL,
    next_poll_at REAL NOT NULL,
    polls INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    resolved_at REAL,
    created_at REAL NOT NULL
);
"""

_DUE = "state IN ('received', 'processing') AND next_try_at <= ?"


def _epoch(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


def _item(row: sqlite3.Row) -> InboxItem:
    return InboxItem(
        id=row["id"],
        dedupe_key=row["dedupe_key"],
        event_type=row["event_type"],
        source=row["source"],
        body=bytes(row["body"]),
        headers=orjson.loads(row["headers"]),
        state=State(row["state"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        received_at=to_datetime(row["received_at"]),  # type: ignore[arg-type]
        next_try_at=to_datetime(row["next_try_at"]),
        updated_at=to_datetime(row["updated_at"]),  # type: ignore[arg-type]
    )


def _expectation(row: sqlite3.Row) -> Expectation:
    return Expectation(
        key=row["key"],
        status_url=row["status_url"],
        event_type=row["event_type"],
        deadline=to_datetime(row["deadline"]),  # type: ignore[arg-type]
        next_poll_at=to_datetime(row["next_poll_at"]),  # type: ignore[arg-type]
        polls=row["polls"],
        last_error=row["last_error"],
        resolved_at=to_datetime(row["resolved_at"]),
        created_at=to_datetime(row["created_at"]),  # type: ignore[arg-type]
    )


class SqliteInbox:
    """An ``Inbox`` in one SQLite file (WAL); ``table`` names its tables.

    ``synchronous`` is the level of the writes that must be durable before the ACK (inserts,
    expectations): ``FULL`` by default, ``EXTRA`` for more, ``NORMAL`` to trade durability on
    power loss for latency.
    """

    def __init__(
        self, path: str | Path, *, table: str = "hookwise_inbox", synchronous: str = "FULL"
    ) -> None:
        if not _NAME.fullmatch(table):
            raise ValueError(f"table must match {_NAME.pattern}")
        self.path = Path(path)
        self.table = table
        self._writer: SqliteWriter[NewItem, str | None] = SqliteWriter(
            self.path,
            synchronous=synchronous,
            schema=_SCHEMA.format(t=table),
            batch=self._insert_rows,
        )
        self._wake = asyncio.Event()

    def __repr__(self) -> str:
        return f"SqliteInbox({str(self.path)!r}, table={self.table!r})"

    async def open(self) -> None:
        """Open the file (created if missing) and its tables."""
        await self._writer.open()

    async def close(self) -> None:
        """Close the connection and stop the writer thread."""
        await self._writer.close()

    # -- items -------------------------------------------------------------------------------

    async def insert(self, item: NewItem) -> str | None:
        """Persist ``item`` durably; None when its dedupe key is already stored."""
        result = await self._writer.durable(item)
        if result is not None:
            self._wake.set()
        return result

    def _insert_rows(self, db: sqlite3.Connection, items: list[NewItem]) -> list[str | None]:
        now = time.time()
        ids: list[str | None] = []
        for item in items:
            item_id = new_id("inb")
            cur = db.execute(
                f"INSERT INTO {self.table} (id, dedupe_key, event_type, source, body, headers,"
                " state, attempts, received_at, next_try_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'received', 0, ?, ?, ?)"
                " ON CONFLICT (dedupe_key) DO NOTHING",
                (
                    item_id,
                    item.dedupe_key,
                    item.event_type,
                    item.source,
                    item.body,
                    orjson.dumps(dict(item.headers)).decode(),
                    now,
                    now,
                    now,
                ),
            )
            ids.append(item_id if cur.rowcount == 1 else None)
        return ids

    async def claim(self, limit: int, lease_seconds: float) -> list[InboxItem]:
        """Lease up to ``limit`` due items."""
        now = time.time()
        rows = await self._writer.write(
            f"UPDATE {self.table} SET state = 'processing', attempts = attempts + 1,"
            " next_try_at = ?, updated_at = ?"
            f" WHERE id IN (SELECT id FROM {self.table} WHERE {_DUE}"
            " ORDER BY next_try_at LIMIT ?) RETURNING *",
            (now + lease_seconds, now, now, limit),
        )
        return sorted((_item(r) for r in rows), key=lambda i: i.received_at)

    async def complete(self, done: Sequence[tuple[str, int]]) -> None:
        """Mark claimed items done (fenced by their attempt count)."""
        if not done:
            return
        now = time.time()
        await self._writer.write_many(
            f"UPDATE {self.table} SET state = 'done', next_try_at = NULL, updated_at = ?"
            " WHERE id = ? AND state = 'processing' AND attempts = ?",
            [(now, item_id, attempts) for item_id, attempts in done],
        )

    async def fail(self, failures: Sequence[Failure]) -> None:
        """Record failed runs: retry later, or dead when ``next_try_at`` is None."""
        if not failures:
            return
        now = time.time()
        await self._writer.write_many(
            f"UPDATE {self.table} SET"
            " state = CASE WHEN ? IS NULL THEN 'dead' ELSE 'received' END,"
            " next_try_at = ?, last_error = ?, updated_at = ?"
            " WHERE id = ? AND state = 'processing' AND attempts = ?",
            [
                (
                    _epoch(f.next_try_at),
                    _epoch(f.next_try_at),
                    f.error[:4000],
                    now,
                    f.item_id,
                    f.attempts,
                )
                for f in failures
            ],
        )

    async def get(self, item_id: str) -> InboxItem | None:
        """One item by id or dedupe key."""
        rows = await self._writer.read(
            f"SELECT * FROM {self.table} WHERE id = ? OR dedupe_key = ? LIMIT 1",
            (item_id, item_id),
        )
        return _item(rows[0]) if rows else None

    async def items(self, state: State | None = None, limit: int = 100) -> list[InboxItem]:
        """Items in ``state``, oldest first."""
        where, params = ("WHERE state = ?", [str(state)]) if state else ("", [])
        rows = await self._writer.read(
            f"SELECT * FROM {self.table} {where} ORDER BY received_at, id LIMIT ?",
            (*params, limit),
        )
        return [_item(r) for r in rows]

    async def counts(self) -> dict[State, int]:
        """Items per state."""
        rows = await self._writer.read(
            f"SELECT state, COUNT(*) AS n FROM {self.table} GROUP BY state"
        )
        out = dict.fromkeys(State, 0)
        out.update({State(r["state"]): r["n"] for r in rows})
        return out

    async def retry(self, ids: Sequence[str] | None = None) -> int:
        """Dead items back to received."""
        sql = (
            f"UPDATE {self.table} SET state = 'received', attempts = 0, next_try_at = ?,"
            " updated_at = ? WHERE state = 'dead'"
        )
        now = time.time()
        params: list[Any] = [now, now]
        if ids is not None:
            if not ids:
                return 0
            sql += f" AND id IN ({', '.join('?' * len(ids))})"
            params.extend(ids)
        rows = await self._writer.write(sql + " RETURNING id", params)
        if rows:
            self._wake.set()
        return len(rows)

    async def prune(self, before: datetime) -> int:
        """Delete done items and settled expectations older than ``before``."""
        cutoff = before.timestamp()

        def _prune(db: sqlite3.Connection) -> int:
            removed = db.execute(
                f"DELETE FROM {self.table} WHERE state = 'done' AND updated_at < ? RETURNING id",
                (cutoff,),
            ).fetchall()
            db.execute(
                f"DELETE FROM {self.table}_expected WHERE created_at < ? AND (resolved_at"
                f" IS NOT NULL OR key IN (SELECT dedupe_key FROM {self.table}))",
                (cutoff,),
            )
            return len(removed)

        return await self._writer.run(self._writer.transaction, _prune, False)

    # -- expectations ------------------------------------------------------------------------

    async def expect(
        self, key: str, status_url: str, deadline: datetime, event_type: str | None = None
    ) -> None:
        """Register or update an expected job."""
        due = deadline.timestamp()
        await self._writer.write(
            f"INSERT INTO {self.table}_expected (key, status_url, event_type, deadline,"
            " next_poll_at, created_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET status_url = excluded.status_url,"
            " event_type = excluded.event_type, deadline = excluded.deadline,"
            " next_poll_at = excluded.next_poll_at WHERE resolved_at IS NULL",
            (key, status_url, event_type, due, due, time.time()),
            durable=True,
        )

    async def expectation(self, key: str) -> Expectation | None:
        """The expectation under ``key``."""
        rows = await self._writer.read(f"SELECT * FROM {self.table}_expected WHERE key = ?", (key,))
        return _expectation(rows[0]) if rows else None

    async def claim_overdue(self, limit: int, lease_seconds: float) -> list[Expectation]:
        """Lease overdue expectations that no item has answered yet."""
        now = time.time()
        rows = await self._writer.write(
            f"UPDATE {self.table}_expected SET next_poll_at = ?, polls = polls + 1"
            f" WHERE key IN (SELECT e.key FROM {self.table}_expected e"
            " WHERE e.resolved_at IS NULL AND e.next_poll_at <= ?"
            f" AND NOT EXISTS (SELECT 1 FROM {self.table} i WHERE i.dedupe_key = e.key)"
            " ORDER BY e.next_poll_at LIMIT ?) RETURNING *",
            (now + lease_seconds, now, limit),
        )
        return [_expectation(r) for r in rows]

    async def settle(self, key: str, *, error: str | None, resolved: bool) -> None:
        """Record the outcome of one poll."""
        await self._writer.write(
            f"UPDATE {self.table}_expected SET last_error = ?,"
            " resolved_at = CASE WHEN ? THEN ? ELSE NULL END WHERE key = ?",
            (error, resolved, time.time(), key),
        )

    async def wait(self, timeout: float) -> None:
        """Sleep until this process inserts or retries an item, or ``timeout`` passes."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()
