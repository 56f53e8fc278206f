"""PostgreSQL: accepting messages (message + deliveries in one statement) and reading them."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import orjson

from hookwise.domain.errors import Conflict, NotFound, StoreUnavailable
from hookwise.domain.events import matches
from hookwise.domain.ids import new_id
from hookwise.domain.models import Attempt, Delivery, DeliveryFilter, Message, NewMessage, Page
from hookwise.store import rows
from hookwise.store.filters import delivery_where
from hookwise.store.paging import page
from hookwise.store.postgres.listener import NOTIFY_SQL
from hookwise.store.postgres.pool import Connection, Pools, affected
from hookwise.store.roles import Enqueued

# One statement, hence one implicit transaction: the message, its tags and one delivery per
# target. A delivery's status comes from its endpoint row as the statement sees it
# (``held`` when paused), and a target deleted meanwhile simply gets no delivery. A repeated
# ``event_id`` inserts nothing (``created`` = 0); a concurrent twin waits for the first to commit.
_ENQUEUE = """
WITH m AS (
    INSERT INTO messages (app_id, id, event_type, event_id, body, tags, job_id, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (app_id, event_id) DO NOTHING
    RETURNING id
), t AS (
    INSERT INTO message_tags (app_id, tag, message_id)
    SELECT DISTINCT $1, tag, m.id FROM m CROSS JOIN unnest($9::text[]) AS tag
    ON CONFLICT DO NOTHING
), d AS (
    INSERT INTO deliveries (app_id, id, message_id, endpoint_id, job_id, status, attempt_count,
                            retry_base, trigger, next_attempt_at, created_at, updated_at)
    SELECT $1, x.dlv_id, m.id, e.id, $7,
           CASE WHEN e.status = 'paused' AND $12::text <> 'test' THEN 'held' ELSE 'pending' END,
           0, 0, $12::text, $8, $8, $8
    FROM m
    CROSS JOIN unnest($10::text[], $11::text[]) WITH ORDINALITY AS x(endpoint_id, dlv_id, n)
    JOIN endpoints e ON e.app_id = $1 AND e.id = x.endpoint_id
    ORDER BY x.n
    RETURNING id, status
)
SELECT (SELECT count(*) FROM m) AS created,
       ARRAY(SELECT id FROM d) AS delivery_ids,
       EXISTS (SELECT 1 FROM d WHERE status = 'pending') AS due
"""

_EXISTING = """
SELECT m.*, ARRAY(SELECT d.id FROM deliveries d WHERE d.app_id = m.app_id
                  AND d.message_id = m.id ORDER BY d.id) AS delivery_ids
FROM messages m WHERE m.app_id = $1 AND m.event_id = $2
"""


def _p(n: int) -> str:
    return f"${n}"


class PostgresMessages:
    """Messages, deliveries and attempts: accepting and reading."""

    _db: Pools

    def _wake(self) -> None:
        raise NotImplementedError

    def _notify_soon(self) -> None:
        raise NotImplementedError

    async def enqueue_message(self, new: NewMessage) -> Enqueued:
        for _ in range(3):  # a duplicate deleted between our insert and our read: try again
            async with self._db.connection() as c:
                got = await _enqueue(c, new)
            if got is not None:
                result, due = got
                if due:
                    self._wake()
                    self._notify_soon()
                return result
        raise StoreUnavailable("could not settle a duplicate event_id; try again")

    async def get_message(self, app_id: str, message_id: str) -> Message:
        r = await self._db.fetchrow(
            "SELECT * FROM messages WHERE app_id = $1 AND id = $2", app_id, message_id
        )
        if r is None:
            raise NotFound("message", message_id)
        return rows.message(r)

    async def list_messages(
        self,
        app_id: str,
        *,
        limit: int,
        cursor: str | None,
        event_type: str | None = None,
        tag: str | None = None,
        job_id: str | None = None,
    ) -> Page[Message]:
        sql, args = "SELECT * FROM messages WHERE app_id = $1", [app_id]
        if event_type:
            args.append(event_type)
            sql += f" AND event_type = ${len(args)}"
        if job_id:
            args.append(job_id)
            sql += f" AND job_id = ${len(args)}"
        if tag:
            args.append(tag)
            sql += (
                " AND id IN (SELECT message_id FROM message_tags WHERE app_id = $1"
                f" AND tag = ${len(args)})"
            )
        if cursor:
            args.append(cursor)
            sql += f" AND id < ${len(args)}"
        sql += f" ORDER BY id DESC LIMIT ${len(args) + 1}"
        return page(await self._db.fetch(sql, *args, limit + 1), limit, rows.message)

    async def resend_message(
        self, app_id: str, message_id: str, endpoint_id: str | None = None
    ) -> int:
        now = time.time()
        sql = (
            "UPDATE deliveries d SET status = CASE WHEN EXISTS (SELECT 1 FROM endpoints e"
            " WHERE e.app_id = d.app_id AND e.id = d.endpoint_id AND e.status = 'paused')"
            " THEN 'held' ELSE 'pending' END, next_attempt_at = $3, retry_base = attempt_count,"
            " trigger = 'manual', lease_owner = NULL, updated_at = $3"
            " WHERE app_id = $1 AND message_id = $2 AND status <> 'canceled'"
        )
        args: list[Any] = [app_id, message_id, now]
        if endpoint_id:
            sql += " AND endpoint_id = $4"
            args.append(endpoint_id)
        async with self._db.transaction() as c:
            if not await c.fetchval(
                "SELECT 1 FROM messages WHERE app_id = $1 AND id = $2", app_id, message_id
            ):
                raise NotFound("message", message_id)
            n = affected(await c.execute(sql, *args))
            if n:
                await c.execute(NOTIFY_SQL)
        self._wake()
        return n

    async def recover_endpoint(self, app_id: str, endpoint_id: str, since: float) -> int:
        now = time.time()
        async with self._db.transaction() as c:
            status = await c.fetchval(
                "SELECT status FROM endpoints WHERE app_id = $1 AND id = $2", app_id, endpoint_id
            )
            if status is None:
                raise NotFound("endpoint", endpoint_id)
            status_now = "held" if status == "paused" else "pending"
            n = affected(
                await c.execute(
                    "UPDATE deliveries SET status = $3, next_attempt_at = $4, retry_base ="
                    " attempt_count, trigger = 'manual', updated_at = $4 WHERE app_id = $1 AND"
                    " endpoint_id = $2 AND status = 'failed' AND created_at >= $5",
                    app_id,
                    endpoint_id,
                    status_now,
                    now,
                    since,
                )
            )
            if n and status != "paused":
                await c.execute(NOTIFY_SQL)
        self._wake()
        return n

    async def get_delivery(self, app_id: str, delivery_id: str) -> Delivery:
        r = await self._db.fetchrow(
            "SELECT * FROM deliveries WHERE app_id = $1 AND id = $2", app_id, delivery_id
        )
        if r is None:
            raise NotFound("delivery", delivery_id)
        return rows.delivery(r)

    async def list_deliveries(
        self, app_id: str, f: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Delivery]:
        where, args = delivery_where(app_id, f, cursor, _p)
        sql = f"SELECT * FROM deliveries WHERE {where} ORDER BY id DESC LIMIT ${len(args) + 1}"
        return page(await self._db.fetch(sql, *args, limit + 1), limit, rows.delivery)

    async def list_attempts(
        self, app_id: str, f: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Attempt]:
        where, args = delivery_where(app_id, f, cursor, _p)
        sql = f"SELECT * FROM attempts WHERE {where} ORDER BY id DESC LIMIT ${len(args) + 1}"
        return page(await self._db.fetch(sql, *args, limit + 1), limit, rows.attempt)

    async def get_attempt(self, app_id: str, attempt_id: str) -> Attempt:
        r = await self._db.fetchrow(
            "SELECT * FROM attempts WHERE app_id = $1 AND id = $2", app_id, attempt_id
        )
        if r is None:
            raise NotFound("attempt", attempt_id)
        return rows.attempt(r)


async def _targets(c: Connection, new: NewMessage) -> list[str]:
    """The endpoints a new message goes to (their status is read by the insert itself)."""
    if new.only_endpoint_id is not None:
        return [new.only_endpoint_id]
    candidates = await c.fetch(
        "SELECT id, events FROM endpoints WHERE app_id = $1 AND kind = 'endpoint'", new.app_id
    )
    ids = [r["id"] for r in candidates if matches(orjson.loads(r["events"]), new.event_type)]
    return ids + [x for x in new.extra_endpoint_ids if x not in ids]


async def _enqueue(c: Connection, new: NewMessage) -> tuple[Enqueued, bool] | None:
    """Insert the message; whether a delivery is due now. None when it was a duplicate that
    has vanished since.

    Two round trips: the app's endpoints (matched here, in Python, like SQLite), then the
    insert. A duplicate costs a third, to read the first message back.
    """
    now = time.time() if new.created_at is None else new.created_at.timestamp()
    msg_id = new.message_id or new_id("msg")
    targets = await _targets(c, new)
    try:
        r = await c.fetchrow(
            _ENQUEUE,
            new.app_id, msg_id, new.event_type, new.event_id, new.body,
            rows.dumps(list(new.tags)), new.job_id, now, list(new.tags), targets,
            [new_id("dlv") for _ in targets], new.trigger,
        )  # fmt: skip
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"message {msg_id!r} exists already") from exc
    if not r["created"]:
        dup = await c.fetchrow(_EXISTING, new.app_id, new.event_id)
        if dup is None:
            return None
        return Enqueued(rows.message(dup), False, tuple(dup["delivery_ids"])), False
    message = Message(
        msg_id, new.app_id, new.event_type, new.event_id, new.body, new.tags, new.job_id,
        rows.ts(now),
    )  # fmt: skip
    return Enqueued(message, True, tuple(r["delivery_ids"])), bool(r["due"])
