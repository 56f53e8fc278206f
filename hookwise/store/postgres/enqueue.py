"""PostgreSQL's enqueue: hand-tuned per backend (measured, see bench/README.md's cluster ingest).

Two round trips on one pooled connection, no explicit transaction: the app's endpoints (the
shared ``Draft``'s), then one statement, hence one implicit transaction, that inserts the
message, its tags and one delivery per target. Each delivery's status is read from its
endpoint row by that statement (``held_or_pending``), and a target deleted meanwhile simply
gets no delivery. A repeated ``event_id`` inserts nothing; a concurrent twin waits for the first
to commit, then the shared ``Draft.repeated`` answers. The statement does not ``NOTIFY``: a
transaction that notifies takes a cluster-wide lock while it commits, which would put every
accepted message in one line; ``Messages`` wakes the workers after the commit instead, by
the coalesced ``NOTIFY`` of ``listener.Notifier``.
"""

from __future__ import annotations

import asyncpg

from hookwise.domain.errors import StoreUnavailable
from hookwise.domain.ids import new_id
from hookwise.store import rows
from hookwise.store.enqueue import Accepted, Draft, held_or_pending
from hookwise.store.postgres.handle import run
from hookwise.store.postgres.pool import Connection, Pools
from hookwise.store.sql import POSTGRES

_ENQUEUE = f"""
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
    SELECT $1, x.dlv_id, m.id, e.id, $7, {held_or_pending("e", "$12")},
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


class PostgresEnqueue:
    """Commits messages on ``pools``' connections (the ``Enqueue`` of ``Messages``)."""

    def __init__(self, pools: Pools) -> None:
        self._pools = pools

    async def __call__(self, draft: Draft) -> Accepted:
        for _ in range(3):  # a duplicate deleted between our insert and our read: try again
            async with self._pools.connection() as c:
                got = await _enqueue(c, draft)
            if got is not None:
                return got
        raise StoreUnavailable("could not settle a duplicate event_id; try again")


async def _enqueue(c: Connection, d: Draft) -> Accepted | None:
    """``d`` committed, or the first message of its ``event_id``; None when that first one was
    deleted since."""
    new = d.new
    sql, args = d.endpoints(POSTGRES)
    ids = [t["id"] for t in d.targets(await c.fetch(sql, *args))]
    try:
        r = await c.fetchrow(
            _ENQUEUE,
            new.app_id, d.id, new.event_type, new.event_id, new.body,
            rows.dumps(list(new.tags)), new.job_id, d.at, list(new.tags), ids,
            [new_id("dlv") for _ in ids], new.trigger,
        )  # fmt: skip
    except asyncpg.UniqueViolationError as exc:
        raise d.taken() from exc
    if r["created"]:
        return d.accepted(tuple(r["delivery_ids"]), bool(r["due"]))
    first = await run(c, d.repeated())
    return None if first is None else Accepted(first, due=False)
