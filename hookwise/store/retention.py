"""The ``Retention`` role, written once for both databases: old history goes in small batches.

Each batch is its own short transaction, sized and spaced like a bulk operation's step, that
deletes at most ``batch`` attempts and ``batch`` messages (with their deliveries and tags) by
primary key, skipping rows someone else holds locked (PostgreSQL), so pruning a large history
never holds long locks or blocks the workers, and its cost stays flat however long the history
grows. A message goes only once every one of its deliveries is finished.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import defaultdict
from collections.abc import Callable

import orjson

from hookwise.store.rules import operations as steps
from hookwise.store.sql import Handle, Tx, execute, fetch

_ATTEMPTS = (
    "DELETE FROM attempts WHERE (app_id, id) IN"
    " (SELECT app_id, id FROM attempts WHERE started_at < $1 LIMIT $2{skip_locked})"
)
_MESSAGES = (
    "SELECT m.app_id, m.id, m.tags FROM messages m WHERE m.created_at < $1 AND NOT EXISTS"
    " (SELECT 1 FROM deliveries d WHERE d.app_id = m.app_id AND d.message_id = m.id"
    " AND d.status IN ('pending', 'held')) LIMIT $2{skip_locked}"
)
# $1 app, $2 its messages' ids (``Dialect.array``)
_DELIVERIES = "DELETE FROM deliveries WHERE app_id = $1 AND {any}"
_MESSAGES_GONE = "DELETE FROM messages WHERE app_id = $1 AND {any}"
# finished bulk operations (done or canceled): their record is history too
_OPERATIONS = (
    "DELETE FROM operations WHERE (app_id, id) IN (SELECT app_id, id FROM operations"
    " WHERE status <> 'running' AND updated_at < $1 LIMIT $2{skip_locked})"
)
# by the tags' full primary key ($2 the tag), read from the message's own ``tags`` column
_TAGS = "DELETE FROM message_tags WHERE app_id = $1 AND tag = $2 AND {any}"


class Retention:
    """Pruning old history over one database ``Handle``."""

    def __init__(self, db: Handle) -> None:
        self._db = db
        d = db.dialect
        self._attempts = _ATTEMPTS.format(skip_locked=d.skip_locked)
        self._messages = _MESSAGES.format(skip_locked=d.skip_locked)
        self._operations = _OPERATIONS.format(skip_locked=d.skip_locked)
        self._deliveries = _DELIVERIES.format(any=d.any("message_id", "$2"))
        self._gone = _MESSAGES_GONE.format(any=d.any("id", "$2"))
        self._tags = _TAGS.format(any=d.any("message_id", "$3"))

    async def prune(
        self,
        *,
        older_than: float,
        batch: int | None = None,
        on_batch: Callable[[int], object] | None = None,
    ) -> int:
        """Delete attempts, messages whose deliveries are all finished, and finished bulk
        operations, older than ``older_than``; return how many rows went. ``on_batch`` hears
        how many rows each batch deleted (a progress display).

        In batches sized and spaced as the bulk operations' steps (``rules.operations``): each
        about 20 ms of database time, then as long a rest, so a prune of millions of rows gets
        at most half of the database and other apps' writes go between its batches. A fixed
        ``batch`` size keeps the rests."""
        array = self._db.dialect.array

        def tx(batch: int) -> Tx[tuple[int, int, float]]:
            began = time.perf_counter()
            attempts = yield execute(self._attempts, older_than, batch)
            attempts += yield execute(self._operations, older_than, batch)
            old = yield fetch(self._messages, older_than, batch)
            # one statement per app (and tag) of the batch, not per message
            ids: dict[str, list[str]] = defaultdict(list)
            tagged: dict[tuple[str, str], list[str]] = defaultdict(list)
            for r in old:
                ids[r["app_id"]].append(r["id"])
                for tag in orjson.loads(r["tags"]):
                    tagged[(r["app_id"], tag)].append(r["id"])
            for app_id, messages in ids.items():
                yield execute(self._deliveries, app_id, array(messages))
                yield execute(self._gone, app_id, array(messages))
            for (app_id, tag), messages in tagged.items():
                yield execute(self._tags, app_id, tag, array(messages))
            return attempts, len(old), time.perf_counter() - began

        total, size = 0, batch or steps.FIRST
        while True:
            attempts, messages, took = await self._db.write(functools.partial(tx, size))
            total += attempts + messages
            if on_batch is not None:
                on_batch(attempts + messages)
            if attempts < size and messages < size:
                return total
            if batch is None:
                size = steps.next_size(size, took)
            await asyncio.sleep(steps.rest(took))
