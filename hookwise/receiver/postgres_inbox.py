"""The PostgreSQL inbox (asyncpg): several receivers and workers may share it.

Concurrent inserts are group-committed (``Batcher``): one multi-row statement per batch.
Claims use ``FOR UPDATE SKIP LOCKED``, so any number of processors split the work. Inserts wake
workers in other processes with ``NOTIFY``, sent apart from the insert and at most every
``NOTIFY_INTERVAL`` seconds: a transaction that notifies takes a cluster-wide lock through its
commit, so a ``NOTIFY`` inside every insert would serialise all commits (about 250/s here).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from hookwise.domain.ids import new_id
from hookwise.receiver.batcher import Batcher
from hookwise.receiver.errors import InboxUnavailable
from hookwise.receiver.inbox import Expectation, Failure, InboxItem, NewItem, State

NOTIFY_INTERVAL = 0.05
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")
_DRIVER_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {t} (
    id text PRIMARY KEY,
    dedupe_key text NOT NULL UNIQUE,
    event_type text NOT NULL,
    source text NOT NULL,
    body bytea NOT NULL,
    headers jsonb NOT NULL,
    state text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    received_at timestamptz NOT NULL,
    next_try_at timestamptz,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS {t}_due ON {t} (next_try_at) WHERE state IN ('received', 'processing');
CREATE INDEX IF NOT EXISTS {t}_state ON {t} (state, received_at);
CREATE TABLE IF NOT EXISTS {t}_expected (
    key text PRIMARY KEY,
    status_url text NOT NULL,
    event_type text,
    deadline timestamptz NOT NULL,
    next_poll_at timestamptz NOT NULL,
    polls integer NOT NULL DEFAULT 0,
    last_error text,
    resolved_at timestamptz,
    created_at timestamptz NOT NULL
);
"""


def _now() -> datetime:
    return datetime.now(UTC)


def _item(row: asyncpg.Record) -> InboxItem:
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
        received_at=row["received_at"],
        next_try_at=row["next_try_at"],
        updated_at=row["updated_at"],
    )


def _expectation(row: asyncpg.Record) -> Expectation:
    return Expectation(**dict(row.items()))


class PostgresInbox:
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
        if not _NAME.fullmatch(table):
            raise ValueError(f"table must match {_NAME.pattern}")
        self.dsn = dsn
        self.table = table
        self._channel = f"{table}_new"
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._batcher: Batcher[NewItem, str | None] = Batcher(self._insert_rows)
        self._wake = asyncio.Event()
        self._pending_notify = asyncio.Event()
        self._notifier: asyncio.Task[None] | None = None
        self._open_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresInbox(table={self.table!r})"

    async def open(self) -> None:
        """Create the pool and the tables (under an advisory lock, so racing opens are safe)."""
        async with self._open_lock:
            if self._pool is not None:
                return
            try:
                pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    timeout=self._timeout,
                    command_timeout=self._timeout,
                )
            except _DRIVER_ERRORS as exc:
                raise InboxUnavailable(
                    f"cannot connect to the postgres inbox: {type(exc).__name__}: {exc}"
                ) from exc
            try:
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self.table)
                    await conn.execute(_SCHEMA.format(t=self.table))
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

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._conn() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows

    async def _execute_many(self, sql: str, args: list[tuple[Any, ...]]) -> None:
        async with self._conn() as conn:
            await conn.executemany(sql, args)

    # -- items -------------------------------------------------------------------------------

    async def insert(self, item: NewItem) -> str | None:
        """Persist ``item`` (group-committed with concurrent inserts); None if a duplicate."""
        result = await self._batcher.submit(item)
        if result is not None:
            self._wake.set()
            self._notify_soon()
        return result

    async def _insert_rows(self, items: list[NewItem]) -> list[str | None]:
        """One statement for the batch; the first of several equal keys in it wins."""
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            first.setdefault(item.dedupe_key, i)
        ids = [new_id("inb") for _ in items]
        rows = [(ids[i], items[i]) for i in first.values()]
        inserted = await self._fetch(
            f"INSERT INTO {self.table} (id, dedupe_key, event_type, source, body, headers,"
            " state, attempts, received_at, next_try_at, updated_at)"
            " SELECT u.id, u.k, u.e, u.s, u.b, u.h::jsonb, 'received', 0, $7, $7, $7"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[],"
            " $6::text[]) AS u(id, k, e, s, b, h)"
            " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            [item_id for item_id, _ in rows],
            [item.dedupe_key for _, item in rows],
            [item.event_type for _, item in rows],
            [item.source for _, item in rows],
            [item.body for _, item in rows],
            [orjson.dumps(dict(item.headers)).decode() for _, item in rows],
            _now(),
        )
        stored = {r["id"] for r in inserted}
        return [
            ids[i] if first[item.dedupe_key] == i and ids[i] in stored else None
            for i, item in enumerate(items)
        ]

    def _notify_soon(self) -> None:
        """Ask the notifier to tell other processes; many inserts make one NOTIFY."""
        self._pending_notify.set()
        if self._notifier is None or self._notifier.done():
            self._notifier = asyncio.create_task(self._notify_loop())

    async def _notify_loop(self) -> None:
        while self._pool is not None:
            await self._pending_notify.wait()
            self._pending_notify.clear()
            with contextlib.suppress(InboxUnavailable):  # a hint only: workers poll anyway
                await self._fetch("SELECT pg_notify($1, '')", self._channel)
            await asyncio.sleep(NOTIFY_INTERVAL)

    async def claim(self, limit: int, lease_seconds: float) -> list[InboxItem]:
        """Lease up to ``limit`` due items, skipping rows other processors hold."""
        now = _now()
        rows = await self._fetch(
            f"UPDATE {self.table} SET state = 'processing', attempts = attempts + 1,"
            " next_try_at = $1, updated_at = $2"
            f" WHERE id IN (SELECT id FROM {self.table}"
            " WHERE state IN ('received', 'processing') AND next_try_at <= $2"
            " ORDER BY next_try_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *",
            now + timedelta(seconds=lease_seconds),
            now,
            limit,
        )
        return sorted((_item(r) for r in rows), key=lambda i: i.received_at)

    async def complete(self, done: Sequence[tuple[str, int]]) -> None:
        """Mark claimed items done (fenced by their attempt count)."""
        if done:
            now = _now()
            await self._execute_many(
                f"UPDATE {self.table} SET state = 'done', next_try_at = NULL, updated_at = $1"
                " WHERE id = $2 AND state = 'processing' AND attempts = $3",
                [(now, item_id, attempts) for item_id, attempts in done],
            )

    async def fail(self, failures: Sequence[Failure]) -> None:
        """Record failed runs: retry later, or dead when ``next_try_at`` is None."""
        if failures:
            now = _now()
            await self._execute_many(
                f"UPDATE {self.table} SET"
                " state = CASE WHEN $1::timestamptz IS NULL THEN 'dead' ELSE 'received' END,"
                " next_try_at = $1, last_error = $2, updated_at = $3"
                " WHERE id = $4 AND state = 'processing' AND attempts = $5",
                [(f.next_try_at, f.error[:4000], now, f.item_id, f.attempts) for f in failures],
            )

    async def get(self, item_id: str) -> InboxItem | None:
        """One item by id or dedupe key."""
        rows = await self._fetch(
            f"SELECT * FROM {self.table} WHERE id = $1 OR dedupe_key = $1 LIMIT 1", item_id
        )
        return _item(rows[0]) if rows else None

    async def items(self, state: State | None = None, limit: int = 100) -> list[InboxItem]:
        """Items in ``state``, oldest first."""
        rows = await self._fetch(
            f"SELECT * FROM {self.table} WHERE $1::text IS NULL OR state = $1"
            " ORDER BY received_at, id LIMIT $2",
            None if state is None else str(state),
            limit,
        )
        return [_item(r) for r in rows]

    async def counts(self) -> dict[State, int]:
        """Items per state."""
        rows = await self._fetch(f"SELECT state, COUNT(*) AS n FROM {self.table} GROUP BY state")
        out = dict.fromkeys(State, 0)
        out.update({State(r["state"]): r["n"] for r in rows})
        return out

    async def retry(self, ids: Sequence[str] | None = None) -> int:
        """Dead items back to received."""
        if ids is not None and not ids:
            return 0
        now = _now()
        rows = await self._fetch(
            f"UPDATE {self.table} SET state = 'received', attempts = 0, next_try_at = $1,"
            " updated_at = $1 WHERE state = 'dead' AND ($2::text[] IS NULL OR id = ANY($2))"
            " RETURNING id",
            now,
            None if ids is None else list(ids),
        )
        if rows:
            self._wake.set()
            self._notify_soon()
        return len(rows)

    async def prune(self, before: datetime) -> int:
        """Delete done items and settled expectations older than ``before``."""
        async with self._conn() as conn, conn.transaction():
            removed = await conn.fetch(
                f"DELETE FROM {self.table} WHERE state = 'done' AND updated_at < $1 RETURNING id",
                before,
            )
            await conn.execute(
                f"DELETE FROM {self.table}_expected e WHERE e.created_at < $1"
                " AND (e.resolved_at IS NOT NULL"
                f" OR EXISTS (SELECT 1 FROM {self.table} i WHERE i.dedupe_key = e.key))",
                before,
            )
        return len(removed)

    # -- expectations ------------------------------------------------------------------------

    async def expect(
        self, key: str, status_url: str, deadline: datetime, event_type: str | None = None
    ) -> None:
        """Register or update an expected job."""
        await self._fetch(
            f"INSERT INTO {self.table}_expected (key, status_url, event_type, deadline,"
            " next_poll_at, created_at) VALUES ($1, $2, $3, $4, $4, $5)"
            " ON CONFLICT (key) DO UPDATE SET status_url = excluded.status_url,"
            " event_type = excluded.event_type, deadline = excluded.deadline,"
            f" next_poll_at = excluded.next_poll_at WHERE {self.table}_expected.resolved_at"
            " IS NULL",
            key,
            status_url,
            event_type,
            deadline,
            _now(),
        )

    async def expectation(self, key: str) -> Expectation | None:
        """The expectation under ``key``."""
        rows = await self._fetch(f"SELECT * FROM {self.table}_expected WHERE key = $1", key)
        return _expectation(rows[0]) if rows else None

    async def claim_overdue(self, limit: int, lease_seconds: float) -> list[Expectation]:
        """Lease overdue expectations that no item has answered yet."""
        now = _now()
        rows = await self._fetch(
            f"UPDATE {self.table}_expected SET next_poll_at = $1, polls = polls + 1"
            f" WHERE key IN (SELECT e.key FROM {self.table}_expected e"
            " WHERE e.resolved_at IS NULL AND e.next_poll_at <= $2"
            f" AND NOT EXISTS (SELECT 1 FROM {self.table} i WHERE i.dedupe_key = e.key)"
            " ORDER BY e.next_poll_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *",
            now + timedelta(seconds=lease_seconds),
            now,
            limit,
        )
        return [_expectation(r) for r in rows]

    async def settle(self, key: str, *, error: str | None, resolved: bool) -> None:
        """Record the outcome of one poll."""
        await self._fetch(
            f"UPDATE {self.table}_expected SET last_error = $1,"
            " resolved_at = CASE WHEN $2 THEN $3::timestamptz ELSE NULL END WHERE key = $4",
            error,
            resolved,
            _now(),
            key,
        )

    async def wait(self, timeout: float) -> None:
        """Sleep until an insert here or a NOTIFY from any process, or ``timeout`` passes."""
        if self._pool is not None and (self._listener is None or self._listener.is_closed()):
            await self._listen()
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def _listen(self) -> None:
        self._listener = None
        try:
            conn = await asyncpg.connect(self.dsn, timeout=self._timeout)
        except _DRIVER_ERRORS:
            return  # polling still works; LISTEN is tried again on the next wait
        try:
            await conn.add_listener(self._channel, self._on_notify)
        except _DRIVER_ERRORS:
            await conn.close()
            return
        self._listener = conn

    def _on_notify(self, *_: object) -> None:
        self._wake.set()
