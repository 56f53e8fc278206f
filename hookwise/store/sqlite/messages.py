"""SQLite: accepting messages (message + deliveries in one transaction) and reading them."""

from __future__ import annotations

import sqlite3
import time

import orjson

from hookwise.domain.errors import NotFound
from hookwise.domain.events import matches
from hookwise.domain.ids import new_id
from hookwise.domain.models import Attempt, Delivery, DeliveryFilter, Message, NewMessage, Page
from hookwise.sqlite.writer import SqliteFile
from hookwise.store import rows
from hookwise.store.filters import delivery_where
from hookwise.store.paging import page
from hookwise.store.roles import Enqueued


def _q(_: int) -> str:
    return "?"


class SqliteMessages:
    """Messages, deliveries and attempts: accepting and reading."""

    _db: SqliteFile

    def _wake(self) -> None:
        raise NotImplementedError

    async def enqueue_message(self, new: NewMessage) -> Enqueued:
        result = await self._db.write(lambda c: _enqueue(c, new))
        if result.created and result.delivery_ids:
            self._wake()
        return result

    async def get_message(self, app_id: str, message_id: str) -> Message:
        def op(c: sqlite3.Connection) -> Message:
            r = c.execute(
                "SELECT * FROM messages WHERE app_id = ? AND id = ?", (app_id, message_id)
            ).fetchone()
            if r is None:
                raise NotFound("message", message_id)
            return rows.message(r)

        return await self._db.read(op)

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
        sql, args = "SELECT * FROM messages WHERE app_id = ?", [app_id]
        if event_type:
            sql += " AND event_type = ?"
            args.append(event_type)
        if job_id:
            sql += " AND job_id = ?"
            args.append(job_id)
        if tag:
            sql += " AND id IN (SELECT message_id FROM message_tags WHERE app_id = ? AND tag = ?)"
            args += [app_id, tag]
        if cursor:
            sql += " AND id < ?"
            args.append(cursor)
        sql += " ORDER BY id DESC LIMIT ?"
        return await self._db.read(
            lambda c: page(c.execute(sql, (*args, limit + 1)).fetchall(), limit, rows.message)
        )

    async def resend_message(
        self, app_id: str, message_id: str, endpoint_id: str | None = None
    ) -> int:
        now = time.time()

        def op(c: sqlite3.Connection) -> int:
            if not c.execute(
                "SELECT 1 FROM messages WHERE app_id = ? AND id = ?", (app_id, message_id)
            ).fetchone():
                raise NotFound("message", message_id)
            sql = (
                "UPDATE deliveries SET status = CASE WHEN EXISTS (SELECT 1 FROM endpoints e"
                " WHERE e.id = deliveries.endpoint_id AND e.status = 'paused') THEN 'held'"
                " ELSE 'pending' END, next_attempt_at = ?, retry_base = attempt_count,"
                " trigger = 'manual', lease_owner = NULL, updated_at = ?"
                " WHERE app_id = ? AND message_id = ? AND status != 'canceled'"
            )
            args: list[object] = [now, now, app_id, message_id]
            if endpoint_id:
                sql += " AND endpoint_id = ?"
                args.append(endpoint_id)
            return c.execute(sql, args).rowcount

        n = await self._db.write(op)
        self._wake()
        return n

    async def recover_endpoint(self, app_id: str, endpoint_id: str, since: float) -> int:
        now = time.time()

        def op(c: sqlite3.Connection) -> int:
            ep = c.execute(
                "SELECT status FROM endpoints WHERE app_id = ? AND id = ?", (app_id, endpoint_id)
            ).fetchone()
            if ep is None:
                raise NotFound("endpoint", endpoint_id)
            status = "held" if ep["status"] == "paused" else "pending"
            return c.execute(
                "UPDATE deliveries SET status = ?, next_attempt_at = ?, retry_base ="
                " attempt_count, trigger = 'manual', updated_at = ? WHERE app_id = ? AND"
                " endpoint_id = ? AND status = 'failed' AND created_at >= ?",
                (status, now, now, app_id, endpoint_id, since),
            ).rowcount

        n = await self._db.write(op)
        self._wake()
        return n

    async def get_delivery(self, app_id: str, delivery_id: str) -> Delivery:
        def op(c: sqlite3.Connection) -> Delivery:
            r = c.execute(
                "SELECT * FROM deliveries WHERE app_id = ? AND id = ?", (app_id, delivery_id)
            ).fetchone()
            if r is None:
                raise NotFound("delivery", delivery_id)
            return rows.delivery(r)

        return await self._db.read(op)

    async def list_deliveries(
        self, app_id: str, f: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Delivery]:
        where, args = delivery_where(app_id, f, cursor, _q)
        sql = f"SELECT * FROM deliveries WHERE {where} ORDER BY id DESC LIMIT ?"
        return await self._db.read(
            lambda c: page(c.execute(sql, (*args, limit + 1)).fetchall(), limit, rows.delivery)
        )

    async def list_attempts(
        self, app_id: str, f: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Attempt]:
        where, args = delivery_where(app_id, f, cursor, _q)
        sql = f"SELECT * FROM attempts WHERE {where} ORDER BY id DESC LIMIT ?"
        return await self._db.read(
            lambda c: page(c.execute(sql, (*args, limit + 1)).fetchall(), limit, rows.attempt)
        )

    async def get_attempt(self, app_id: str, attempt_id: str) -> Attempt:
        def op(c: sqlite3.Connection) -> Attempt:
            r = c.execute(
                "SELECT * FROM attempts WHERE app_id = ? AND id = ?", (app_id, attempt_id)
            ).fetchone()
            if r is None:
                raise NotFound("attempt", attempt_id)
            return rows.attempt(r)

        return await self._db.read(op)


def _enqueue(c: sqlite3.Connection, new: NewMessage) -> Enqueued:
    if new.event_id is not None:
        r = c.execute(
            "SELECT * FROM messages WHERE app_id = ? AND event_id = ?", (new.app_id, new.event_id)
        ).fetchone()
        if r is not None:
            ids = c.execute(
                "SELECT id FROM deliveries WHERE app_id = ? AND message_id = ?",
                (new.app_id, r["id"]),
            ).fetchall()
            return Enqueued(rows.message(r), False, tuple(x["id"] for x in ids))
    now = time.time() if new.created_at is None else new.created_at.timestamp()
    msg_id = new.message_id or new_id("msg")
    if new.only_endpoint_id is not None:
        targets = c.execute(
            "SELECT id, status FROM endpoints WHERE app_id = ? AND id = ?",
            (new.app_id, new.only_endpoint_id),
        ).fetchall()
    else:
        candidates = c.execute(
            "SELECT id, events, status FROM endpoints WHERE app_id = ? AND kind = 'endpoint'",
            (new.app_id,),
        ).fetchall()
        targets = [t for t in candidates if matches(orjson.loads(t["events"]), new.event_type)]
        if new.extra_endpoint_ids:
            marks = ",".join("?" * len(new.extra_endpoint_ids))
            targets += c.execute(
                f"SELECT id, status FROM endpoints WHERE app_id = ? AND id IN ({marks})",
                (new.app_id, *new.extra_endpoint_ids),
            ).fetchall()
    c.execute(
        "INSERT INTO messages (app_id, id, event_type, event_id, body, tags, job_id, created_at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (new.app_id, msg_id, new.event_type, new.event_id, new.body,
         rows.dumps(list(new.tags)), new.job_id, now),
    )  # fmt: skip
    if new.tags:
        c.executemany(
            "INSERT OR IGNORE INTO message_tags (app_id, tag, message_id) VALUES (?,?,?)",
            [(new.app_id, t, msg_id) for t in new.tags],
        )
    dlv = []
    for t in targets:
        status = "held" if t["status"] == "paused" and new.trigger != "test" else "pending"
        dlv.append(
            (new.app_id, new_id("dlv"), msg_id, t["id"], new.job_id, status,
             new.trigger, now, now, now)
        )  # fmt: skip
    c.executemany(
        "INSERT INTO deliveries (app_id, id, message_id, endpoint_id, job_id, status,"
        " attempt_count, retry_base, trigger, next_attempt_at, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,0,0,?,?,?,?)",
        dlv,
    )
    message = Message(
        msg_id, new.app_id, new.event_type, new.event_id, new.body, new.tags, new.job_id,
        rows.ts(now),
    )  # fmt: skip
    return Enqueued(message, True, tuple(d[1] for d in dlv))
