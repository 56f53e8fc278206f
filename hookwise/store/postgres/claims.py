"""PostgreSQL: claiming due deliveries, in two statements on one transaction.

Hand-tuned per backend: measured (the plans these statements are shaped for are described
next to them; ``bench/README.md`` has the figures).

1. *Lock endpoints.* Walk the active endpoints that have room under their ``max_in_flight``
   (and the worker's ``ahead`` past it where no other worker leases them: ``leases.ahead_of``)
   and a due delivery (one probe of ``ix_deliveries_endpoint_due`` each), oldest due first, and
   lock up to ``limit`` of them ``FOR NO KEY UPDATE SKIP LOCKED``. An endpoint another worker
   is claiming right now is skipped, never waited for; a saturated endpoint's backlog is never
   scanned, so one slow endpoint costs the others nothing.
2. *Claim.* With those locks held, one statement recounts each endpoint's valid leases (and
   how many other workers hold), takes its oldest due deliveries up to its room (and a share
   of the batch, ``leases.share``), merges them by due time, locks them ``FOR UPDATE SKIP
   LOCKED``, writes the lease (``lease_owner`` + ``next_attempt_at`` = lease end) and returns
   them joined with message and endpoint.

The second statement takes its snapshot after the endpoint locks are granted, so it sees every
lease committed by whoever held them before: the in-flight cap holds across all workers, not
just within one claim. Nothing is waited for on either side, so a claim never queues behind a
record. An expired lease is simply due again and is claimed like any other due delivery.
"""

from __future__ import annotations

import time

from hookwise.domain.models import ClaimedDelivery
from hookwise.store import rows
from hookwise.store.postgres.pool import Connection
from hookwise.store.queue import Ask, claimed
from hookwise.store.rows import Decrypt
from hookwise.store.rules import leases
from hookwise.store.sql import POSTGRES


def _leases(now: str, worker: str, finished: str) -> str:
    """Endpoint e's attempts in flight (``leases.in_flight``: ``n``) and how many of them
    other workers hold (``others``), in one walk of its valid leases."""
    leased = leases.in_flight_sql(POSTGRES, "b", now=now, worker=worker, finished=finished)
    return (
        f"(SELECT count(*) AS n, count(*) FILTER (WHERE b.lease_owner <> {worker}) AS others"
        f" FROM deliveries b WHERE b.endpoint_id = e.id AND {leased}) fl"
    )


def _cap(ahead: str) -> str:
    """Endpoint e's cap on leases for this claim: ``max_in_flight``, plus ``ahead`` where no
    other worker leases it (``leases.ahead_of``; ``fl`` from ``_leases``)."""
    more = leases.ahead_sql(
        ahead, others="fl.others", rate="e.rate_limit_per_second", cap="e.max_in_flight"
    )
    return f"e.max_in_flight + {more}"


# $1 now, $2 how many endpoints at most, $3 worker, $4 its finished deliveries, $5 ahead
_LOCK_ENDPOINTS = f"""
SELECT e.id FROM endpoints e
CROSS JOIN LATERAL (
    SELECT min(d.next_attempt_at) AS at FROM deliveries d
    WHERE d.status = 'pending' AND d.endpoint_id = e.id AND d.next_attempt_at <= $1
) oldest
CROSS JOIN LATERAL {_leases("$1", "$3", "$4")}
WHERE e.status = 'active' AND {leases.WORKERS_CLAIM} AND oldest.at IS NOT NULL
  AND {_cap("$5")} > fl.n
ORDER BY oldest.at LIMIT $2
FOR NO KEY UPDATE OF e SKIP LOCKED
"""

# The claim re-checks its picked rows by primary key, with a condition the planner cannot
# serve from the status indexes: said as ``= 'pending'``, right after a burst (statistics not
# yet analyzed) it joined them against a scan of every due delivery (bench/README.md: figures).
_NOT_PENDING = "'held', 'succeeded', 'failed', 'canceled'"

# $1 now, $2 locked endpoint ids, $3 share per endpoint, $4 limit, $5 worker, $6 lease end,
# $7 the worker's finished deliveries, $8 ahead
_CLAIM = f"""
WITH eps AS MATERIALIZED (
    SELECT e.id, {_cap("$8")} - fl.n AS room
    FROM endpoints e CROSS JOIN LATERAL {_leases("$1", "$5", "$7")}
    WHERE e.id = ANY($2::text[]) AND e.status = 'active' AND {leases.WORKERS_CLAIM}
), candidates AS (
    SELECT c.app_id, c.id, c.next_attempt_at FROM eps CROSS JOIN LATERAL (
        SELECT d.app_id, d.id, d.next_attempt_at FROM deliveries d
        WHERE d.status = 'pending' AND d.endpoint_id = eps.id AND d.next_attempt_at <= $1
        ORDER BY d.next_attempt_at LIMIT greatest(least(eps.room, $3), 0)
    ) c
), picked AS (
    SELECT app_id, id FROM candidates ORDER BY next_attempt_at LIMIT $4
), locked AS (
    SELECT d.app_id, d.id FROM deliveries d JOIN picked p ON d.app_id = p.app_id AND d.id = p.id
    WHERE d.status NOT IN ({_NOT_PENDING}) AND d.next_attempt_at <= $1
    FOR UPDATE OF d SKIP LOCKED
), leased AS (
    UPDATE deliveries d SET lease_owner = $5, next_attempt_at = $6
    FROM locked l WHERE d.app_id = l.app_id AND d.id = l.id
    RETURNING d.app_id, d.id, d.message_id, d.endpoint_id, d.job_id, d.attempt_count,
              d.retry_base, d.trigger
)
{claimed("leased")}
ORDER BY d.id
"""


# $1 now: when a claim could next find something. For an endpoint with room, its earliest
# pending delivery; for one at its in-flight cap, its earliest lease to run out (a record that
# frees room sooner notifies). An endpoint at its cap over a backlog thus does not keep idle
# workers polling; a paused one does not count at all.
NEXT_DUE = f"""
SELECT min(CASE
    WHEN e.max_in_flight > fl.n
    THEN (SELECT min(d.next_attempt_at) FROM deliveries d
          WHERE d.status = 'pending' AND d.endpoint_id = e.id)
    ELSE (SELECT min(d.next_attempt_at) FROM deliveries d
          WHERE d.status = 'pending' AND d.endpoint_id = e.id AND d.next_attempt_at > $1)
END)
FROM endpoints e CROSS JOIN LATERAL {_leases("$1", "''", "ARRAY[]")}
WHERE e.status = 'active' AND {leases.WORKERS_CLAIM}
"""


async def claim(c: Connection, ask: Ask, decrypt: Decrypt) -> list[ClaimedDelivery]:
    """Lease what ``ask`` asks for in ``c``'s transaction (``Queue.claim_due``)."""
    now, limit, worker = time.time(), ask.limit, ask.worker_id
    done = leases.finished_ids(ask.finished)
    ahead = ask.ahead
    eps = [r["id"] for r in await c.fetch(_LOCK_ENDPOINTS, now, limit, worker, done, ahead)]
    if not eps:
        return []
    share = leases.share(limit, len(eps))
    until = leases.lease_end(now, ask.lease_seconds)
    out = await c.fetch(_CLAIM, now, eps, share, limit, worker, until, done, ahead)
    return rows.claimed_all(out, now, decrypt)
