"""PostgreSQL: recording a batch of attempts, in one statement (two when a counter changes).

Hand-tuned per backend: measured (the plans these statements are shaped for are described
next to them; ``bench/README.md`` has the figures).

One statement locks the endpoints whose failure counter may change (sorted, so concurrent
recorders cannot deadlock), inserts every attempt and moves every delivery on (``unnest`` of one
array of ``recorded_attempt``, a tuple per attempt), and reads the locked endpoints' counters.
What the batch does to them is decided in ``rules.attempts``; a second statement writes the
counters that change and pauses the endpoints that reach the threshold (whose pending deliveries
are then held in bounded steps, ``store.backlog``: rare, one endpoint's death). A batch of
successes to healthy endpoints locks no endpoint row at all, and takes one round trip. With an
operations app, a batch that pauses, warns of or exhausts something commits its operational
events too (``store.operational``): a few more statements, for that batch only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from hookwise.domain.models import AttemptResult
from hookwise.store.backlog import start
from hookwise.store.operational import notify
from hookwise.store.postgres.handle import run
from hookwise.store.postgres.listener import NOTIFY_SQL
from hookwise.store.postgres.pool import Connection, Record
from hookwise.store.rules import attempts, operational
from hookwise.store.rules.operational import Watch
from hookwise.store.sql import POSTGRES

# A delivery still to be attempted (pending or held), said as "not finished": a condition the
# planner cannot serve from the status indexes, so the batch is always found by primary key.
# Said as ``IN ('pending', 'held')``, right after a burst (statistics not yet analyzed, too few
# pending rows estimated) it hashed every pending delivery instead (bench/README.md: figures).
_FINISHED = "'succeeded', 'failed', 'canceled'"

# Lock the endpoints whose counter may change ($2-$5: failing, or reset from non-zero), insert
# the attempts and move the deliveries on ($1: one ``recorded_attempt`` per attempt, migration
# 0020; $6 now), in one statement (one round trip). An attempt id already stored means this
# very batch was committed before (the connection was lost while COMMIT was answered): then
# ``inserted`` is 0, no delivery moves and the batch is not applied twice. ``backlog``: these
# endpoints have due deliveries waiting, which the room this batch frees lets someone claim
# now; one index probe per endpoint (``LATERAL … LIMIT 1``, which the planner cannot turn into
# hashing every due delivery when statistics lag behind a burst).
_RECORD = f"""
WITH lk AS (
    SELECT e.app_id, e.id, e.consecutive_failures, e.status, e.kind FROM endpoints e
    JOIN unnest($2::text[], $3::text[], $4::bool[], $5::bool[])
      AS u(app_id, id, failing, reset)
      ON e.app_id = u.app_id AND e.id = u.id
    WHERE u.failing OR (u.reset AND e.consecutive_failures <> 0)
    ORDER BY e.id
    FOR NO KEY UPDATE OF e
), ins AS (
    INSERT INTO attempts ({attempts.ATTEMPT_COLUMNS})
    SELECT {attempts.ATTEMPT_COLUMNS} FROM unnest($1::recorded_attempt[])
    ON CONFLICT DO NOTHING
    RETURNING 1
), mv AS (
    UPDATE deliveries d SET attempt_count = u.attempt_number, last_attempt_at = u.started_at,
        last_status_code = u.response_status_code, updated_at = $6, lease_owner = NULL,
        trigger = 'scheduled',
        status = CASE u.outcome WHEN 'retry' THEN d.status ELSE u.outcome END,
        next_attempt_at = u.next_attempt_at
    FROM unnest($1::recorded_attempt[]) AS u
    WHERE d.app_id = u.app_id AND d.id = u.delivery_id AND d.status NOT IN ({_FINISHED})
      AND EXISTS (SELECT 1 FROM ins)
)
SELECT (SELECT count(*) FROM ins) AS inserted, l.app_ids, l.ids, l.counters, l.statuses, l.kinds,
       EXISTS (
           SELECT 1 FROM unnest($3::text[]) AS u(id) CROSS JOIN LATERAL (
               SELECT 1 FROM deliveries d
               WHERE d.status = 'pending' AND d.endpoint_id = u.id AND d.next_attempt_at <= $6
               LIMIT 1) due)
       AS backlog
FROM (SELECT array_agg(app_id) AS app_ids, array_agg(id) AS ids,
             array_agg(consecutive_failures) AS counters, array_agg(status) AS statuses,
             array_agg(kind) AS kinds FROM lk) l
"""

# The counters that change, and the pauses ($4 the reason, NULL: no pause); $5 now
_COUNT = """
UPDATE endpoints e SET consecutive_failures = u.n,
    status = CASE WHEN u.reason IS NULL THEN e.status ELSE 'paused' END,
    paused_reason = CASE WHEN u.reason IS NULL THEN e.paused_reason ELSE u.reason END,
    updated_at = CASE WHEN u.reason IS NULL THEN e.updated_at ELSE $5 END
FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS u(app_id, id, n, reason)
WHERE e.app_id = u.app_id AND e.id = u.id
"""


def _columns(values: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows of values as ``width`` column arrays (``unnest``'s parameters)."""
    return [list(col) for col in zip(*values, strict=True)] if values else [[]] * width


def _recorded(res: AttemptResult) -> tuple[Any, ...]:
    """The ``recorded_attempt`` of ``res``: its attempts row, then its delivery's outcome."""
    return (*attempts.attempt_row(res), *attempts.outcome(res))


async def record(
    c: Connection, results: Sequence[AttemptResult], pause_after: int, watch: Watch | None
) -> tuple[bool, bool]:
    """Record ``results`` in ``c``'s transaction (``Queue.record_attempts``), with the
    operational events of it when ``watch``. Whether a retry (or an event) is due at once
    (then the transaction also notifies), and whether the endpoints have a backlog."""
    now = time.time()
    per_ep = attempts.streaks(results)
    keys = sorted(per_ep)
    r = await c.fetchrow(
        _RECORD,
        [_recorded(res) for res in results],
        [a for a, _ in keys],
        [e for _, e in keys],
        [per_ep[k].failing for k in keys],
        [per_ep[k].reset for k in keys],
        now,
    )
    if r["inserted"] == 0:
        return False, False  # recorded already
    counted = await _count(c, r, per_ep, pause_after, now) if r["ids"] else []
    earliest = attempts.earliest_retry(results)
    due_now = earliest is not None and earliest <= now
    if watch is not None:
        notices = operational.recorded(watch, results, counted, pause_after)
        due_now = await run(c, notify(POSTGRES, watch, notices, now)) or due_now
    if due_now:
        await c.execute(NOTIFY_SQL)
    return due_now, bool(r["backlog"])


async def _count(
    c: Connection,
    locked: Record,
    per_ep: dict[tuple[str, str], attempts.Streak],
    pause_after: int,
    now: float,
) -> list[operational.Counted]:
    """Each locked endpoint's streak on its counter; write what changes, pause what pauses.
    What the batch did to each locked endpoint's counter."""
    changed: list[tuple[str, str, int, str | None]] = []
    counted = []
    for app_id, ep_id, current, status, kind in zip(
        locked["app_ids"], locked["ids"], locked["counters"], locked["statuses"],
        locked["kinds"], strict=True,
    ):  # fmt: skip
        streak = per_ep[(app_id, ep_id)]
        n = attempts.counter(streak, current)
        why = attempts.pause(streak, failures=n, status=status, kind=kind, pause_after=pause_after)
        if n != current or why is not None:
            changed.append((app_id, ep_id, n, why))
        counted.append(operational.Counted(app_id, ep_id, streak, current, n, status, kind, why))
    if changed:
        await c.execute(_COUNT, *_columns(changed, 4), now)
    # a paused endpoint's pending deliveries are held in bounded steps, as a PATCH's pause
    # does: none is claimed from here on, and the stepper finds the rest within its poll
    for app_id, ep_id, _, why in changed:
        if why is not None:
            await run(c, start("hold", app_id, ep_id, now))
    return counted
