"""The inbox's rules, written once as SQL over two dialects.

What claim, complete, fail, retry, prune, expect and settle do to the rows (the states, the
lease, the attempt fence, the retry and dead-letter transitions, the error length) lives here
only. A ``Dialect`` says what truly differs between SQLite and PostgreSQL (parameter marks,
column types, how a time is stored, ``SKIP LOCKED``); a ``Driver`` runs the statements (one
writer thread over a file, or an asyncpg pool) and owns the one hot path each tunes on its own:
the group-committed insert.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import orjson

from hookwise.receiver.inbox import Expectation, Failure, InboxItem, NewItem, State

MAX_ERROR = 4000
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")
_DUE = "state IN ('received', 'processing')"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {t} (
    id text PRIMARY KEY,
    dedupe_key text NOT NULL UNIQUE,
    event_type text NOT NULL,
    source text NOT NULL,
    body {blob} NOT NULL,
    headers {json} NOT NULL,
    state text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    received_at {time} NOT NULL,
    next_try_at {time},
    updated_at {time} NOT NULL
);
CREATE INDEX IF NOT EXISTS {t}_due ON {t} (next_try_at) WHERE {due};
CREATE INDEX IF NOT EXISTS {t}_state ON {t} (state, received_at);
CREATE TABLE IF NOT EXISTS {t}_expected (
    key text PRIMARY KEY,
    status_url text NOT NULL,
    event_type text,
    deadline {time} NOT NULL,
    next_poll_at {time} NOT NULL,
    polls integer NOT NULL DEFAULT 0,
    last_error text,
    resolved_at {time},
    created_at {time} NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the two databases; everything else is the same SQL."""

    mark: str  # numbered parameters: ``?1`` (SQLite) or ``$1`` (PostgreSQL)
    blob: str
    json: str
    time: str  # the column type of a time
    lock: str  # appended to a claim's inner SELECT
    store_time: Callable[[datetime | None], Any]
    load_time: Callable[[Any], datetime | None]


Row = Any  # sqlite3.Row or asyncpg.Record: both are read by column name
D = TypeVar("D", InboxItem, Expectation)
_DECODE: dict[str, Callable[[Any], Any]] = {"body": bytes, "headers": orjson.loads, "state": State}


def _decode(cls: type[D], row: Row, load_time: Callable[[Any], datetime | None]) -> D:
    """An ``InboxItem`` or ``Expectation`` from its row (times as aware UTC datetimes)."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        convert = load_time if "datetime" in str(f.type) else _DECODE.get(f.name)
        values[f.name] = row[f.name] if convert is None else convert(row[f.name])
    return cls(**values)


class Driver(Protocol):
    """Runs an inbox's statements on one database; driver errors come out as InboxUnavailable."""

    async def open(self) -> None:
        """Connect and create the tables (idempotent)."""

    async def close(self) -> None:
        """Release connections and threads."""

    async def insert(self, item: NewItem) -> str | None:
        """Insert durably, group-committed with concurrent inserts; None for a known key."""

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Rows of a query."""

    async def write(self, sql: str, params: Sequence[Any] = (), durable: bool = False) -> list[Row]:
        """One statement in its own transaction; its rows (for ``RETURNING``)."""

    async def write_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        """One statement per parameter row, all in one transaction."""

    async def transaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Row]:
        """Statements in one transaction; the rows of the first."""

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` when another process inserts (or do nothing where none can tell)."""

    def notify(self) -> None:
        """Tell other processes that items may be due (a hint: they poll anyway)."""


def table_name(table: str) -> str:
    """``table`` when it is a safe SQL name (it is formatted into statements)."""
    if not _NAME.fullmatch(table):
        raise ValueError(f"table must match {_NAME.pattern}")
    return table


def schema(table: str, dialect: Dialect) -> str:
    """The DDL of the inbox's two tables in ``dialect``."""
    d = dialect
    return _SCHEMA.format(t=table, blob=d.blob, json=d.json, time=d.time, due=_DUE)


def insert_params(item: NewItem, item_id: str) -> tuple[Any, ...]:
    """The values of a new item's row, in ``INSERT_COLUMNS`` order (times aside)."""
    headers = orjson.dumps(dict(item.headers)).decode()
    return item_id, item.dedupe_key, item.event_type, item.source, item.body, headers


INSERT_COLUMNS = (
    "id, dedupe_key, event_type, source, body, headers,"
    " state, attempts, received_at, next_try_at, updated_at"
)


class SqlInbox:
    """An ``Inbox`` over one ``Driver`` and its ``Dialect``; ``table`` names its tables."""

    def __init__(self, driver: Driver, dialect: Dialect, table: str) -> None:
        self.table = table_name(table)
        self._db = driver
        self._d = dialect
        self._wake = asyncio.Event()

    def _p(self, n: int) -> str:
        return f"{self._d.mark}{n}"

    def _item(self, row: Row) -> InboxItem:
        return _decode(InboxItem, row, self._d.load_time)

    def _expectation(self, row: Row) -> Expectation:
        return _decode(Expectation, row, self._d.load_time)

    def _now(self, seconds: float = 0.0) -> Any:
        return self._d.store_time(datetime.now(UTC) + timedelta(seconds=seconds))

    async def open(self) -> None:
        """Connect and create the tables if they do not exist yet."""
        await self._db.open()

    async def close(self) -> None:
        """Release connections and threads."""
        await self._db.close()

    def _woken(self) -> None:
        self._wake.set()
        self._db.notify()

    # -- items -------------------------------------------------------------------------------

    async def insert(self, item: NewItem) -> str | None:
        """Persist ``item`` durably; None when its dedupe key is already stored."""
        result = await self._db.insert(item)
        if result is not None:
            self._woken()
        return result

    async def claim(self, limit: int, lease_seconds: float) -> list[InboxItem]:
        """Lease up to ``limit`` due items (``attempts`` + 1), skipping rows others hold."""
        p, t, now = self._p, self.table, self._now()
        rows = await self._db.write(
            f"UPDATE {t} SET state = 'processing', attempts = attempts + 1,"
            f" next_try_at = {p(1)}, updated_at = {p(2)}"
            f" WHERE id IN (SELECT id FROM {t} WHERE {_DUE} AND next_try_at <= {p(2)}"
            f" ORDER BY next_try_at LIMIT {p(3)}{self._d.lock}) RETURNING *",
            (self._now(lease_seconds), now, limit),
        )
        return sorted((self._item(r) for r in rows), key=lambda i: i.received_at)

    async def complete(self, done: Sequence[tuple[str, int]]) -> None:
        """Mark claimed items done (fenced by their attempt count)."""
        if done:
            await self._outcome([(State.DONE, None, None, i, n) for i, n in done])

    async def fail(self, failures: Sequence[Failure]) -> None:
        """Failed runs: back to ``received`` at ``next_try_at``, or ``dead`` when it is None."""
        await self._outcome(
            [
                (
                    State.RECEIVED if f.next_try_at else State.DEAD,
                    self._d.store_time(f.next_try_at),
                    f.error[:MAX_ERROR],
                    f.item_id,
                    f.attempts,
                )
                for f in failures
            ]
        )

    async def _outcome(self, rows: list[tuple[State, Any, str | None, str, int]]) -> None:
        """Settle claimed items; a row whose lease was taken over (attempts moved) is left."""
        if not rows:
            return
        p, now = self._p, self._now()
        await self._db.write_many(
            f"UPDATE {self.table} SET state = {p(1)}, next_try_at = {p(2)},"
            f" last_error = COALESCE({p(3)}, last_error), updated_at = {p(6)}"
            f" WHERE id = {p(4)} AND state = 'processing' AND attempts = {p(5)}",
            [(str(state), *rest, now) for state, *rest in rows],
        )

    async def get(self, item_id: str) -> InboxItem | None:
        """One item by id or dedupe key."""
        rows = await self._db.read(
            f"SELECT * FROM {self.table} WHERE id = {self._p(1)} OR dedupe_key = {self._p(1)}"
            " LIMIT 1",
            (item_id,),
        )
        return self._item(rows[0]) if rows else None

    async def items(self, state: State | None = None, limit: int = 100) -> list[InboxItem]:
        """Items in ``state`` (all when None), oldest first."""
        where, params = (f"WHERE state = {self._p(2)}", [str(state)]) if state else ("", [])
        rows = await self._db.read(
            f"SELECT * FROM {self.table} {where} ORDER BY received_at, id LIMIT {self._p(1)}",
            (limit, *params),
        )
        return [self._item(r) for r in rows]

    async def counts(self) -> dict[State, int]:
        """Items per state."""
        rows = await self._db.read(f"SELECT state, COUNT(*) AS n FROM {self.table} GROUP BY state")
        out = dict.fromkeys(State, 0)
        out.update({State(r["state"]): r["n"] for r in rows})
        return out

    async def retry(self, ids: Sequence[str] | None = None) -> int:
        """Dead items (``ids``, or all) back to received with zero attempts."""
        if ids is not None and not ids:
            return 0
        sql = (
            f"UPDATE {self.table} SET state = 'received', attempts = 0,"
            f" next_try_at = {self._p(1)}, updated_at = {self._p(1)} WHERE state = 'dead'"
        )
        if ids is not None:
            sql += f" AND id IN ({', '.join(self._p(n) for n in range(2, len(ids) + 2))})"
        rows = await self._db.write(sql + " RETURNING id", (self._now(), *(ids or ())))
        if rows:
            self._woken()
        return len(rows)

    async def prune(self, before: datetime) -> int:
        """Delete done items and settled expectations older than ``before``."""
        t, cutoff = self.table, self._d.store_time(before)
        removed = await self._db.transaction(
            [
                (
                    f"DELETE FROM {t} WHERE state = 'done' AND updated_at < {self._p(1)}"
                    " RETURNING id",
                    (cutoff,),
                ),
                (
                    f"DELETE FROM {t}_expected WHERE created_at < {self._p(1)} AND (resolved_at"
                    f" IS NOT NULL OR key IN (SELECT dedupe_key FROM {t}))",
                    (cutoff,),
                ),
            ]
        )
        return len(removed)

    # -- expectations ------------------------------------------------------------------------

    async def expect(
        self, key: str, status_url: str, deadline: datetime, event_type: str | None = None
    ) -> None:
        """Register or update an expected job (a resolved one is left as it is)."""
        p, t = self._p, self.table
        await self._db.write(
            f"INSERT INTO {t}_expected (key, status_url, event_type, deadline, next_poll_at,"
            f" created_at) VALUES ({p(1)}, {p(2)}, {p(3)}, {p(4)}, {p(4)}, {p(5)})"
            " ON CONFLICT (key) DO UPDATE SET status_url = excluded.status_url,"
            " event_type = excluded.event_type, deadline = excluded.deadline,"
            f" next_poll_at = excluded.next_poll_at WHERE {t}_expected.resolved_at IS NULL",
            (key, status_url, event_type, self._d.store_time(deadline), self._now()),
            durable=True,
        )

    async def expectation(self, key: str) -> Expectation | None:
        """The expectation under ``key``."""
        rows = await self._db.read(
            f"SELECT * FROM {self.table}_expected WHERE key = {self._p(1)}", (key,)
        )
        return self._expectation(rows[0]) if rows else None

    async def claim_overdue(self, limit: int, lease_seconds: float) -> list[Expectation]:
        """Lease overdue expectations that no item has answered yet."""
        p, t, now = self._p, self.table, self._now()
        rows = await self._db.write(
            f"UPDATE {t}_expected SET next_poll_at = {p(1)}, polls = polls + 1"
            f" WHERE key IN (SELECT e.key FROM {t}_expected e"
            f" WHERE e.resolved_at IS NULL AND e.next_poll_at <= {p(2)}"
            f" AND NOT EXISTS (SELECT 1 FROM {t} i WHERE i.dedupe_key = e.key)"
            f" ORDER BY e.next_poll_at LIMIT {p(3)}{self._d.lock}) RETURNING *",
            (self._now(lease_seconds), now, limit),
        )
        return [self._expectation(r) for r in rows]

    async def settle(self, key: str, *, error: str | None, resolved: bool) -> None:
        """Record a poll: resolved now, or still pending with ``error``."""
        await self._db.write(
            f"UPDATE {self.table}_expected SET last_error = {self._p(1)},"
            f" resolved_at = {self._p(2)} WHERE key = {self._p(3)}",
            (error, self._now() if resolved else None, key),
        )

    async def wait(self, timeout: float) -> None:
        """Return when an item may have arrived (here, or notified by another process)."""
        await self._db.listen(self._wake.set)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()
