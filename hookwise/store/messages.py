"""The ``Messages`` role, written once for both databases: accepting messages, reading them with
their deliveries and attempts, and making a message's deliveries due again (a resend; an
endpoint's recover runs in steps, as an ``operations`` one).

Accepting is the ingest hot path: each database commits a message with its own hand-tuned
``Enqueue`` (``sqlite.enqueue``, ``postgres.enqueue``; what they share is in ``store.enqueue``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from hookwise.domain.errors import InvalidInput, NotFound
from hookwise.domain.health import EndpointHealth
from hookwise.domain.ids import id_floor, new_id
from hookwise.domain.models import (
    DELIVERY_STATUSES,
    Attempt,
    Delivery,
    DeliveryFilter,
    Message,
    NewMessage,
    Page,
)
from hookwise.store import rows
from hookwise.store.enqueue import Draft, Enqueue
from hookwise.store.filters import ID_SLACK, TAGGED, WITH_DELIVERY, Where, delivery_where
from hookwise.store.health import endpoint_health
from hookwise.store.paging import page
from hookwise.store.requeue import requeue
from hookwise.store.roles import Enqueued
from hookwise.store.sql import Handle, Tx, fetch, fetchrow, fetchval

T = TypeVar("T")

SCAN = 2000  # messages looked at, at most, for one page of a delivery-status filter


class Messages:
    """Messages, deliveries and attempts over one database ``Handle``; ``enqueue`` is the
    database's own way of committing a message."""

    def __init__(self, db: Handle, enqueue: Enqueue) -> None:
        self._db = db
        self._enqueue = enqueue

    async def enqueue_message(self, new: NewMessage) -> Enqueued:
        """Commit the message and one delivery per matching endpoint in one transaction.

        Deduplicates on ``(app_id, event_id)``: a repeat returns the first message with
        ``created=False``. Deliveries to paused endpoints are created ``held``.
        """
        at = time.time() if new.created_at is None else new.created_at.timestamp()
        got = await self._enqueue(Draft(new, new.message_id or new_id("msg"), at))
        if got.due:
            self._db.wake()
        return got.enqueued

    async def get_message(self, app_id: str, message_id: str) -> Message:
        return await self._get("messages", "message", app_id, message_id, rows.message)

    async def list_messages(
        self,
        app_id: str,
        *,
        limit: int,
        cursor: str | None,
        event_type: str | None = None,
        tag: str | None = None,
        job_id: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        newer: str | None = None,
    ) -> Page[Message]:
        """The app's messages, newest first: of ``event_type``, ``tag``, ``job_id``, with a
        delivery in ``status``, created between ``since`` and ``until`` (seconds), older than
        ``cursor``; or, with ``newer`` (a message id), the ``limit`` just newer than it
        (still newest first; ``next_cursor`` then says there are newer still)."""
        w = Where(app_id)
        if event_type:
            w.add("event_type = {}", event_type)
        if job_id:
            w.add("job_id = {}", job_id)
        if tag:
            w.add(f"id IN ({TAGGED})", tag)
        # ids begin with their creation time: the id range bounds the rows read, created_at
        # is the exact condition
        if since is not None:
            w.add("id >= {}", id_floor("msg", since - ID_SLACK))
            w.add("created_at >= {}", since)
        if until is not None:
            w.add("id < {}", id_floor("msg", until + ID_SLACK))
            w.add("created_at <= {}", until)
        if status:
            return await self._scanned(w, status, cursor, limit, newer)
        return await self._page(w, "messages", cursor, limit, rows.message, newer)

    async def _scanned(
        self, w: Where, status: str, cursor: str | None, limit: int, newer: str | None
    ) -> Page[Message]:
        """A page of the messages ``w`` selects that have a delivery in ``status``, looking
        at ``SCAN`` of them at most: a status that is rare (or absent) must not probe every
        message of the app for one page. When the page is short but messages beyond the ones
        looked at remain, ``next_cursor`` is the last looked at: the next page goes on from
        there (a page may be short, even empty, with a ``next_cursor``)."""
        down = newer is None
        if down and cursor:
            w.add("id < {}", cursor)
        elif not down:
            w.add("id > {}", newer)
        order = "DESC" if down else "ASC"
        reach = (
            f"SELECT id FROM messages WHERE {w.condition}"
            f" ORDER BY id {order} LIMIT 2 OFFSET {SCAN - 1}"
        )
        reach_args = list(w.args)
        # the status is written in, not bound: PostgreSQL plans each status for itself (a
        # generic plan for a bound one probed message after message: 79 ms for a status no
        # delivery has among 100,000, against 0.2 ms planned for it)
        if status not in DELIVERY_STATUSES:
            raise InvalidInput("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
        w.add_literal(WITH_DELIVERY.format(f"'{status}'"))
        w.add("id >= {}" if down else "id <= {}", None)  # the edge: the SCAN-th looked at
        edge_at = len(w.args) - 1
        sql = (
            f"SELECT * FROM messages WHERE {w.condition}"
            f" ORDER BY id {order} LIMIT ${len(w.args) + 1}"
        )

        def tx() -> Tx[Page[Message]]:
            ends = yield fetch(reach, *reach_args)
            edge = ends[0]["id"] if len(ends) == 2 else ("" if down else "~")
            args = list(w.args)
            args[edge_at] = edge
            got = page((yield fetch(sql, *args, limit + 1)), limit, rows.message)
            if got.next_cursor is None and len(ends) == 2:
                got = Page(got.data, edge)
            return got

        got = await self._db.read(tx)
        return got if down else Page(got.data[::-1], got.next_cursor)

    async def resend_message(
        self, app_id: str, message_id: str, endpoint_id: str | None = None
    ) -> int:
        """Make the message's deliveries due now with a fresh schedule (trigger ``manual``)."""
        which, args = "app_id = $2 AND message_id = $3 AND status <> 'canceled'", [message_id]
        if endpoint_id:
            which += " AND endpoint_id = $4"
            args.append(endpoint_id)
        return await self._requeue(app_id, "messages", "message", message_id, which, args)

    async def get_delivery(self, app_id: str, delivery_id: str) -> Delivery:
        return await self._get("deliveries", "delivery", app_id, delivery_id, rows.delivery)

    async def list_deliveries(
        self, app_id: str, f: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Delivery]:
        return await self._page(
            delivery_where(app_id, f), "deliveries", cursor, limit, rows.delivery
        )

    async def list_attempts(
        self,
        app_id: str,
        f: DeliveryFilter,
        *,
        limit: int,
        cursor: str | None,
        newer: str | None = None,
    ) -> Page[Attempt]:
        """The attempts ``f`` selects, newest first; ``newer``: as for ``list_messages``."""
        w = delivery_where(app_id, f)
        return await self._page(w, "attempts", cursor, limit, rows.attempt, newer)

    async def get_attempt(self, app_id: str, attempt_id: str) -> Attempt:
        return await self._get("attempts", "attempt", app_id, attempt_id, rows.attempt)

    async def endpoint_health(self, app_id: str, endpoint_id: str, now: float) -> EndpointHealth:
        """How the endpoint's attempts went up to ``now``: success rate and latency over the
        last hour and day, last success and failure, attempts per minute of the last hour
        (``store.health``). An unknown endpoint has no attempts: the caller checks it exists."""
        d = self._db.dialect
        return await self._db.read(lambda: endpoint_health(d, app_id, endpoint_id, now))

    async def _requeue(
        self, app_id: str, table: str, what: str, key: str, which: str, args: list[Any]
    ) -> int:
        """Make the deliveries ``which`` selects (marks from $3: ``args``) due again, once the
        ``what`` they belong to is found in ``table``; wake the workers when any changed."""
        now = time.time()

        def tx() -> Tx[int]:
            found = yield fetchval(
                f"SELECT 1 FROM {table} WHERE app_id = $1 AND id = $2", app_id, key
            )
            if not found:
                raise NotFound(what, key)
            n = yield from requeue(app_id, which, args, now)
            return n

        n = await self._db.write(tx)
        if n:
            self._db.wake()
        return n

    async def _get(
        self, table: str, what: str, app_id: str, key: str, convert: Callable[[Any], T]
    ) -> T:
        def tx() -> Tx[T]:
            r = yield fetchrow(f"SELECT * FROM {table} WHERE app_id = $1 AND id = $2", app_id, key)
            if r is None:
                raise NotFound(what, key)
            return convert(r)

        return await self._db.read(tx)

    async def _page(
        self,
        w: Where,
        table: str,
        cursor: str | None,
        limit: int,
        convert: Callable[[Any], T],
        newer: str | None = None,
    ) -> Page[T]:
        """A page of ``table`` newest first: older than ``cursor``; or the ``limit`` rows just
        newer than ``newer``, whose ``next_cursor`` then says there are newer ones still."""
        sql = w.page(table, cursor) if newer is None else w.newer_page(table, newer)

        def tx() -> Tx[Page[T]]:
            return page((yield fetch(sql, *w.args, limit + 1)), limit, convert)

        got = await self._db.read(tx)
        return got if newer is None else Page(got.data[::-1], got.next_cursor)
