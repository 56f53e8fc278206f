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

from hookwise.domain.errors import NotFound
from hookwise.domain.health import EndpointHealth
from hookwise.domain.ids import new_id
from hookwise.domain.models import Attempt, Delivery, DeliveryFilter, Message, NewMessage, Page
from hookwise.store import rows
from hookwise.store.enqueue import Draft, Enqueue
from hookwise.store.filters import TAGGED, Where, delivery_where
from hookwise.store.health import endpoint_health
from hookwise.store.paging import page
from hookwise.store.requeue import requeue
from hookwise.store.roles import Enqueued
from hookwise.store.sql import Handle, Tx, fetch, fetchrow, fetchval

T = TypeVar("T")


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
    ) -> Page[Message]:
        w = Where(app_id)
        if event_type:
            w.add("event_type = {}", event_type)
        if job_id:
            w.add("job_id = {}", job_id)
        if tag:
            w.add(f"id IN ({TAGGED})", tag)
        return await self._page(w, "messages", cursor, limit, rows.message)

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
        self, app_id: str, f: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Attempt]:
        return await self._page(delivery_where(app_id, f), "attempts", cursor, limit, rows.attempt)

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
        self, w: Where, table: str, cursor: str | None, limit: int, convert: Callable[[Any], T]
    ) -> Page[T]:
        sql = w.page(table, cursor)

        def tx() -> Tx[Page[T]]:
            return page((yield fetch(sql, *w.args, limit + 1)), limit, convert)

        return await self._db.read(tx)
