"""PostgreSQL: the delivery queue's hot path (claim, record, release) and queue figures.

Claiming is one transaction of two statements on the claim pool:

1. *Lock endpoints.* Walk the active endpoints that have room under their ``max_in_flight`` and
   a due delivery (one probe of ``ix_deliveries_endpoint_due`` each), oldest due first, and
   lock up to ``limit`` of them ``FOR NO KEY UPDATE SKIP LOCKED``. An endpoint another worker
   is claiming right now is skipped, never waited for; a saturated endpoint's backlog is never
   scanned, so one slow endpoint costs the others nothing.
2. *Claim.* With those locks held, one statement recounts each endpoint's valid leases, takes
   its oldest due deliveries up to its room (and a fair share of the batch), merges them by due
   time, locks them ``FOR UPDATE SKIP LOCKED``, writes the lease (``lease_owner`` +
   ``next_attempt_at`` = lease expiry) and returns them joined with message and endpoint.

The second statement takes its snapshot after the endpoint locks are granted, so it sees every
lease committed by whoever held them before: the in-flight cap holds across all workers, not
just within one claim. Nothing is waited for on either side, so a claim never queues behind a
record. An expired lease is simply due again and is claimed like any other due delivery.

Recording is one transaction on the record pool: lock the endpoints whose failure counter may
change (sorted, so concurrent recorders cannot deadlock), insert every attempt and move every
delivery on, all in one statement (``unnest`` of arrays), then add the failures atomically
and pause the endpoints that reached the threshold. A batch of successes to healthy endpoints
locks no endpoint row at all.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.store import rows
from hookwise.store.postgres.listener import NOTIFY_SQL
from hookwise.store.postgres.pool import Connection, Pools, Record
from hookwise.store.roles import FinishedIds, NoTurn, QueueStats, Turn

_CLAIMED = """
SELECT l.app_id, l.id, l.message_id, l.endpoint_id, l.job_id, l.attempt_count, l.retry_base,
       l.trigger, m.body, m.created_at AS msg_created_at, e.url, e.secret, e.previous_secrets,
       e.headers, e.timeout_seconds, e.retry_schedule, e.rate_limit_per_second
FROM leased l
JOIN messages m ON m.app_id = l.app_id AND m.id = l.message_id
JOIN endpoints e ON e.app_id = l.app_id AND e.id = l.endpoint_id
ORDER BY l.id
"""
_LEASED_COLUMNS = (
    "d.app_id, d.id, d.message_id, d.endpoint_id, d.job_id, d.attempt_count, d.retry_base,"
    " d.trigger"
)


# Endpoint e's attempts in flight at $1 (now): its valid leases, less those the claiming worker
# says are finished, not yet recorded (``{worker}`` its id, ``{finished}`` their ids).
_IN_FLIGHT = """(
    SELECT count(*) FROM deliveries b
    WHERE b.endpoint_id = e.id AND b.lease_owner IS NOT NULL AND b.next_attempt_at > $1
      AND NOT (b.lease_owner = {worker} AND b.id = ANY({finished}::text[]))
)"""

# $1 now, $2 how many endpoints at most, $3 worker, $4 its finished deliveries
_LOCK_ENDPOINTS = f"""
SELECT e.id FROM endpoints e
CROSS JOIN LATERAL (
    SELECT min(d.next_attempt_at) AS at FROM deliveries d
    WHERE d.status = 'pending' AND d.endpoint_id = e.id AND d.next_attempt_at <= $1
) oldest
WHERE e.status = 'active' AND oldest.at IS NOT NULL
  AND e.max_in_flight > {_IN_FLIGHT.format(worker="$3", finished="$4")}
ORDER BY oldest.at LIMIT $2
FOR NO KEY UPDATE OF e SKIP LOCKED
"""

# A delivery still to be attempted (pending or held), said as "not finished": a condition the
# planner cannot serve from the status indexes, so the batch is always found by primary key.
# Said as ``IN ('pending', 'held')``, right after a burst (statistics not yet analyzed, too few
# pending rows estimated) it hashed every pending delivery instead: 8-16 ms per batch of 60.
_FINISHED = "'succeeded', 'failed', 'canceled'"
# The claim re-checks its picked rows the same way, by primary key: said as ``= 'pending'``,
# right after a burst it joined them against a scan of every due delivery (~70 ms per claim of
# 3,000 rows analyzed while they were held).
_NOT_PENDING = f"'held', {_FINISHED}"

# $1 now, $2 locked endpoint ids, $3 share per endpoint, $4 limit, $5 worker, $6 lease end,
# $7 the worker's finished deliveries
_CLAIM = f"""
WITH eps AS MATERIALIZED (
    SELECT e.id, e.max_in_flight - {_IN_FLIGHT.format(worker="$5", finished="$7")} AS room
    FROM endpoints e WHERE e.id = ANY($2::text[]) AND e.status = 'active'
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
    RETURNING {_LEASED_COLUMNS}
)
{_CLAIMED}
"""

# $1 app, $2 delivery, $3 now, $4 worker, $5 lease end
_CLAIM_ONE = f"""
WITH leased AS (
    UPDATE deliveries d SET lease_owner = $4, next_attempt_at = $5
    WHERE d.app_id = $1 AND d.id = $2 AND d.status IN ('pending', 'held')
      AND (d.lease_owner IS NULL OR d.next_attempt_at <= $3)
    RETURNING {_LEASED_COLUMNS}
)
{_CLAIMED}
"""

# $1 now
_NEXT_DUE = f"""
SELECT min(CASE
    WHEN e.max_in_flight > {_IN_FLIGHT.format(worker="''", finished="ARRAY[]")}
    THEN (SELECT min(d.next_attempt_at) FROM deliveries d
          WHERE d.status = 'pending' AND d.endpoint_id = e.id)
    ELSE (SELECT min(d.next_attempt_at) FROM deliveries d
          WHERE d.status = 'pending' AND d.endpoint_id = e.id AND d.next_attempt_at > $1)
END)
FROM endpoints e WHERE e.status = 'active'
"""

_ATTEMPT_COLUMNS = (
    "app_id, id, delivery_id, message_id, endpoint_id, job_id, attempt_number, status,"
    " response_status_code, response_body, error_message, duration_ms, started_at, url, trigger"
)
_ATTEMPT_TYPES = (
    "text[]", "text[]", "text[]", "text[]", "text[]", "text[]", "int[]", "text[]", "int[]",
    "text[]", "text[]", "float8[]", "float8[]", "text[]", "text[]",
)  # fmt: skip


# Lock the endpoints whose counter may change ($16-$18), insert the attempts ($1-$15) and move
# the deliveries on ($20-$26), in one statement (one round trip). An attempt id already stored
# means this very batch was committed before (the connection was lost while COMMIT was
# answered): then ``inserted`` is 0, no delivery moves and the batch is not applied twice.
# ``backlog``: these endpoints have due deliveries waiting, which the room this batch frees
# lets someone claim now ($19 = now); one index probe per endpoint (``LATERAL … LIMIT 1``, which
# the planner cannot turn into hashing every due delivery when statistics lag behind a burst).
_RECORD_ATTEMPTS = f"""
WITH lk AS (
    SELECT e.app_id, e.id FROM endpoints e
    JOIN unnest($16::text[], $17::text[], $18::bool[]) AS u(app_id, id, failing)
      ON e.app_id = u.app_id AND e.id = u.id
    WHERE u.failing OR e.consecutive_failures <> 0
    ORDER BY e.id
    FOR NO KEY UPDATE OF e
), ins AS (
    INSERT INTO attempts ({_ATTEMPT_COLUMNS})
    SELECT * FROM unnest({", ".join(f"${i}::{t}" for i, t in enumerate(_ATTEMPT_TYPES, 1))})
    ON CONFLICT DO NOTHING
    RETURNING 1
), mv AS (
    UPDATE deliveries d SET attempt_count = u.n, last_attempt_at = u.started,
        last_status_code = u.code, updated_at = $19, lease_owner = NULL, trigger = 'scheduled',
        status = CASE u.outcome WHEN 's' THEN 'succeeded' WHEN 'f' THEN 'failed'
                 ELSE d.status END,
        next_attempt_at = u.next_at
    FROM unnest($20::text[], $21::text[], $22::int[], $23::float8[], $24::int[], $25::text[],
                $26::float8[]) AS u(app_id, id, n, started, code, outcome, next_at)
    WHERE d.app_id = u.app_id AND d.id = u.id AND d.status NOT IN ({_FINISHED})
      AND EXISTS (SELECT 1 FROM ins)
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM mv) AS moved,
       ARRAY(SELECT app_id FROM lk) AS app_ids, ARRAY(SELECT id FROM lk) AS ids,
       EXISTS (
           SELECT 1 FROM unnest($17::text[]) AS u(id) CROSS JOIN LATERAL (
               SELECT 1 FROM deliveries d
               WHERE d.status = 'pending' AND d.endpoint_id = u.id AND d.next_attempt_at <= $19
               LIMIT 1) due)
       AS backlog
"""

_COUNT_FAILURES = """
UPDATE endpoints e SET consecutive_failures =
    CASE WHEN u.reset THEN u.n ELSE e.consecutive_failures + u.n END
FROM unnest($1::text[], $2::text[], $3::bool[], $4::int[]) AS u(app_id, id, reset, n)
WHERE e.app_id = u.app_id AND e.id = u.id
RETURNING e.app_id, e.id, e.consecutive_failures, e.status, e.kind
"""

_PAUSE = """
WITH p AS (
    UPDATE endpoints e SET status = 'paused', paused_reason = u.reason, updated_at = $4
    FROM unnest($1::text[], $2::text[], $3::text[]) AS u(app_id, id, reason)
    WHERE e.app_id = u.app_id AND e.id = u.id AND e.status = 'active'
    RETURNING e.app_id, e.id
)
UPDATE deliveries d SET status = 'held', updated_at = $4
FROM p WHERE d.app_id = p.app_id AND d.endpoint_id = p.id AND d.status = 'pending'
"""


class PostgresQueue:
    """Claiming, recording and releasing deliveries."""

    _db: Pools

    def _wake(self) -> None:
        raise NotImplementedError

    def _dec(self, stored: str) -> str:
        raise NotImplementedError

    def _notify_soon(self) -> None:
        raise NotImplementedError

    async def claim_due(
        self,
        *,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None = None,
    ) -> list[ClaimedDelivery]:
        if limit <= 0:
            return []
        async with self._db.transaction("claim") as c:
            return await self._claim(c, worker_id, limit, lease_seconds, finished)

    async def _claim(
        self,
        c: Connection,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None,
    ) -> list[ClaimedDelivery]:
        now = time.time()
        done = list(finished()) if finished is not None else []
        eps = [r["id"] for r in await c.fetch(_LOCK_ENDPOINTS, now, limit, worker_id, done)]
        if not eps:
            return []
        share = max(1, -(-limit * 2 // len(eps)))  # twice a fair share: room to merge
        out = await c.fetch(_CLAIM, now, eps, share, limit, worker_id, now + lease_seconds, done)
        return rows.claimed_all(out, now, self._dec)

    async def record_and_claim(
        self,
        results: Sequence[AttemptResult],
        *,
        pause_after: int,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None = None,
        turn: Turn | None = None,
    ) -> list[ClaimedDelivery]:
        # On the record pool: the claim statements run after the record's, in its transaction,
        # so their snapshots see the leases it ended (and the endpoint rows it locked are its own).
        # With a turn, this record overlaps only the previous transaction's claim and commit,
        # which wait for no lock (claims skip locked rows): no wait can go round in a circle.
        due_now = backlog = False
        turn = turn or NoTurn()
        async with self._db.transaction("record") as c:
            await turn.before_record()
            try:
                if results:
                    due_now, backlog = await _record(c, results, pause_after)
            finally:
                turn.recorded()
            await turn.before_claim()
            claims = (
                await self._claim(c, worker_id, limit, lease_seconds, finished) if limit > 0 else []
            )
        self._after_record(due_now, backlog and len(claims) == limit)
        return claims

    async def claim_delivery(
        self, app_id: str, delivery_id: str, *, worker_id: str, lease_seconds: float
    ) -> ClaimedDelivery | None:
        now = time.time()
        r = await self._db.fetchrow(
            _CLAIM_ONE, app_id, delivery_id, now, worker_id, now + lease_seconds, which="claim"
        )
        return rows.claimed(r, now, self._dec) if r else None

    async def record_attempts(self, results: Sequence[AttemptResult], *, pause_after: int) -> None:
        if not results:
            return
        async with self._db.transaction("record") as c:
            due_now, backlog = await _record(c, results, pause_after)
        self._after_record(due_now, backlog)

    def _after_record(self, due_now: bool, backlog: bool) -> None:
        if due_now or backlog:
            self._wake()
        if backlog:
            # room freed on an endpoint with work waiting (at its cap): wake the other
            # processes, which otherwise would not look again before their next poll
            self._notify_soon()

    async def release(self, claims: Sequence[ClaimedDelivery], *, at: float) -> None:
        if not claims:
            return
        async with self._db.transaction() as c:
            await c.execute(
                "UPDATE deliveries d SET lease_owner = NULL, next_attempt_at = $3"
                " FROM unnest($1::text[], $2::text[]) AS u(app_id, id)"
                " WHERE d.app_id = u.app_id AND d.id = u.id AND d.status IN ('pending', 'held')",
                [x.app_id for x in claims],
                [x.delivery_id for x in claims],
                at,
            )
            await c.execute(NOTIFY_SQL)
        self._wake()

    async def reserve_send_slots(self, endpoint_id: str, count: int, per_second: float) -> float:
        interval = 1.0 / per_second
        now = time.time()
        end = await self._db.fetchval(
            "UPDATE endpoints SET rl_next_at = greatest(rl_next_at, $2) + $3 WHERE id = $1"
            " RETURNING rl_next_at",
            endpoint_id,
            now,
            count * interval,
        )
        return now if end is None else float(end) - count * interval

    async def next_due_at(self) -> float | None:
        # When a claim could next find something: for an endpoint with room, its earliest
        # pending delivery; for one at its in-flight cap, its earliest lease to run out (a
        # record that frees room sooner notifies). An endpoint at its cap over a backlog thus
        # does not keep idle workers polling; a paused one does not count at all.
        r = await self._db.fetchval(_NEXT_DUE, time.time())
        return None if r is None else float(r)

    async def queue_stats(self, app_id: str | None = None) -> QueueStats:
        now = time.time()
        one_app = "" if app_id is None else " AND app_id = $2"
        r = await self._db.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'pending') AS pending,"
            " count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= $1) AS due,"
            " count(*) FILTER (WHERE status = 'held') AS held,"
            " count(*) FILTER (WHERE status = 'pending' AND lease_owner IS NOT NULL"
            " AND next_attempt_at > $1) AS in_flight"
            " FROM deliveries WHERE status IN ('pending', 'held')" + one_app,
            now,
            *(() if app_id is None else (app_id,)),
        )
        assert r is not None
        return QueueStats(int(r["pending"]), int(r["due"]), int(r["held"]), int(r["in_flight"]))


def _attempt_arrays(results: Sequence[AttemptResult]) -> list[list[Any]]:
    cols: list[list[Any]] = [[] for _ in _ATTEMPT_TYPES]
    for res in results:
        cl = res.claimed
        values = (
            cl.app_id, res.attempt_id, cl.delivery_id, cl.message_id, cl.endpoint_id,
            cl.job_id, cl.attempt_count + 1, "succeeded" if res.succeeded else "failed",
            res.status_code, res.response_body, res.error_message, float(res.duration_ms),
            res.started_at.timestamp(), cl.url, cl.trigger,
        )  # fmt: skip
        for col, v in zip(cols, values, strict=True):
            col.append(v)
    return cols


def _delivery_arrays(results: Sequence[AttemptResult]) -> tuple[list[list[Any]], float | None]:
    """The per-delivery arrays of the move statement, and the earliest retry."""
    cols: list[list[Any]] = [[] for _ in range(7)]
    earliest: float | None = None
    for res in results:
        cl = res.claimed
        if res.succeeded:
            outcome, next_at = "s", None
        elif res.next_attempt_at is not None:
            outcome, next_at = "r", res.next_attempt_at.timestamp()
            earliest = next_at if earliest is None else min(earliest, next_at)
        else:
            outcome, next_at = "f", None
        values = (
            cl.app_id, cl.delivery_id, cl.attempt_count + 1, res.started_at.timestamp(),
            res.status_code, outcome, next_at,
        )  # fmt: skip
        for col, v in zip(cols, values, strict=True):
            col.append(v)
    return cols, earliest


def _per_endpoint(
    results: Sequence[AttemptResult],
) -> dict[tuple[str, str], tuple[bool, int, str | None]]:
    """Per endpoint, in order: (a success reset the counter, failures since, pause reason)."""
    per_ep: dict[tuple[str, str], tuple[bool, int, str | None]] = {}
    for res in results:
        key = (res.claimed.app_id, res.claimed.endpoint_id)
        reset, n, reason = per_ep.get(key, (False, 0, None))
        if res.succeeded:
            per_ep[key] = (True, 0, reason)
        elif res.counts_as_failure or res.pause_reason:
            per_ep[key] = (reset, n + 1, res.pause_reason or reason)
        else:
            per_ep[key] = (reset, n, reason)
    return per_ep


async def _record(
    c: Connection, results: Sequence[AttemptResult], pause_after: int
) -> tuple[bool, bool]:
    """Insert the attempts, move deliveries on, count endpoint failures. Whether a retry is
    already due (then the transaction also notifies), and whether the endpoints have a backlog."""
    now = time.time()
    per_ep = _per_endpoint(results)
    keys = sorted(per_ep)
    moves, earliest = _delivery_arrays(results)
    r = await c.fetchrow(
        _RECORD_ATTEMPTS,
        *_attempt_arrays(results),
        [a for a, _ in keys],
        [e for _, e in keys],
        [per_ep[k][1] > 0 or per_ep[k][2] is not None for k in keys],
        now,
        *moves,
    )
    if r["inserted"] == 0:
        return False, False  # recorded already
    if r["ids"]:
        await _count_failures(
            c, list(zip(r["app_ids"], r["ids"], strict=True)), per_ep, pause_after
        )
    due_now = earliest is not None and earliest <= now
    if due_now:
        await c.execute(NOTIFY_SQL)
    return due_now, bool(r["backlog"])


async def _count_failures(
    c: Connection,
    locked: list[tuple[str, str]],
    per_ep: dict[tuple[str, str], tuple[bool, int, str | None]],
    pause_after: int,
) -> None:
    """Reset or add to the counters of the locked endpoints; pause those at the threshold."""
    counted: list[Record] = await c.fetch(
        _COUNT_FAILURES,
        [a for a, _ in locked],
        [e for _, e in locked],
        [per_ep[k][0] for k in locked],
        [per_ep[k][1] for k in locked],
    )
    pause: list[tuple[str, str, str]] = []
    for r in counted:
        _, n, reason = per_ep[(r["app_id"], r["id"])]
        if r["status"] != "active" or r["kind"] != "endpoint":
            continue
        if reason is None and (n == 0 or r["consecutive_failures"] < pause_after):
            continue
        why = reason or f"{r['consecutive_failures']} consecutive failed attempts"
        pause.append((r["app_id"], r["id"], why))
    if pause:
        await c.execute(
            _PAUSE,
            [p[0] for p in pause],
            [p[1] for p in pause],
            [p[2] for p in pause],
            time.time(),
        )
