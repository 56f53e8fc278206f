"""The ``Queue`` role, written once: a backend's ``HotPath`` and the rest over a ``Handle``.

Claiming and recording, and the answer to "when could a claim next find something", are
hand-tuned per backend (``sqlite/queue.py``, ``postgres/queue.py``: measured), behind the
small ``HotPath`` protocol. Everything else is the same SQL on both databases, here: handing
leases back, taking one given delivery, the rate-limit slots, the counts and the wait for
work. What attempts and leases mean is decided in ``rules``, for both.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.domain.secretbox import SecretBox
from hookwise.store import rows
from hookwise.store.roles import FinishedIds, NoTurn, QueueStats, Turn
from hookwise.store.rules import leases
from hookwise.store.sql import (
    QUEUED,
    Handle,
    Tx,
    execute,
    executemany,
    fetch,
    fetchrow,
    fetchval,
)


def claimed(deliveries: str, *, first: str = "") -> str:
    """What a claim reads (``rows.claimed``) of ``deliveries`` (a table or a CTE, as ``d``)
    with their messages ``m`` and endpoints ``e``; ``first``: columns read before those."""
    return (
        f"SELECT {first}d.app_id, d.id, d.message_id, d.endpoint_id, d.job_id, d.attempt_count,"
        " d.retry_base, d.trigger, m.body, m.created_at AS msg_created_at, e.url, e.secret,"
        " e.previous_secrets, e.headers, e.timeout_seconds, e.retry_schedule,"
        f" e.rate_limit_per_second, e.payload_format, e.max_in_flight FROM {deliveries} d"
        " JOIN messages m ON m.app_id = d.app_id AND m.id = d.message_id"
        " JOIN endpoints e ON e.app_id = d.app_id AND e.id = d.endpoint_id"
    )


# Only the lease ends: a delivery recorded or canceled meanwhile keeps its state.
_RELEASE = (
    "UPDATE deliveries SET lease_owner = NULL, next_attempt_at = $1 WHERE app_id = $2"
    " AND id = $3 AND status IN ('pending', 'held')"
)

# $1 app, $2 delivery, $3 worker, $4 lease end, $5 now: still to be attempted, under no
# valid lease, whatever its endpoint's state and due time (a test ping)
# a relay's delivery is its listener's to send (``leases.WORKERS_CLAIM``)
_TAKE = (
    "UPDATE deliveries SET lease_owner = $3, next_attempt_at = $4 WHERE app_id = $1 AND id = $2"
    " AND status IN ('pending', 'held') AND (lease_owner IS NULL OR next_attempt_at <= $5)"
    f" AND endpoint_id NOT IN ({leases.RELAYS})"
)
_TAKEN = claimed("deliveries") + " WHERE d.app_id = $1 AND d.id = $2"

# $1 the endpoint ids (``Dialect.any``): those a claim takes deliveries of
_ACTIVE = "SELECT id FROM endpoints WHERE status = 'active' AND {ids}"

# $1 now, $2 the endpoint's slots (count / per second), $3 endpoint
_RESERVE = (
    "UPDATE endpoints SET rl_next_at = CASE WHEN rl_next_at > $1 THEN rl_next_at ELSE $1 END"
    " + $2 WHERE id = $3 RETURNING rl_next_at"
)

# $1 now; ``count(CASE …)`` rather than ``FILTER`` or ``sum(bool)``: the same on both
_STATS = (
    "SELECT count(CASE WHEN status = 'pending' THEN 1 END) AS pending,"
    " count(CASE WHEN status = 'pending' AND next_attempt_at <= $1 THEN 1 END) AS due,"
    " count(CASE WHEN status = 'held' THEN 1 END) AS held,"
    " count(CASE WHEN status = 'pending' AND lease_owner IS NOT NULL AND next_attempt_at > $1"
    " THEN 1 END) AS in_flight"
    f" FROM deliveries WHERE ({QUEUED})"
)
#: One app's part of the queue, said by its endpoints: each planner then reads only the
#: backlog through ``ix_deliveries_endpoint_due``. Said by ``app_id``, SQLite's planner (no
#: statistics) read every delivery the app ever had through ``ix_deliveries_endpoint``: the
#: app-key console home took 62 ms (p95 101 ms) at 100,000 attempts.
_APPS_ENDPOINTS = "endpoint_id IN (SELECT id FROM endpoints WHERE app_id = $2)"


@dataclass(frozen=True, slots=True)
class Ask:
    """What a claim asks for: leases for ``worker_id``, ``limit`` at most, ``lease_seconds``
    long; ``finished`` names the worker's leases whose attempts are over, and ``ahead`` how
    many past an endpoint's ``max_in_flight`` it may lease (``rules.leases``)."""

    worker_id: str
    limit: int
    lease_seconds: float
    finished: FinishedIds | None
    ahead: int = 0


class HotPath(Protocol):
    """The queue's part hand-tuned per backend: claiming and recording (``Queue``'s
    ``claim_due``, ``record_attempts`` and ``record_and_claim``, whose docstrings say what
    they do), and when a claim could next find something."""

    #: ``Queue.overlapping_writes``
    overlapping_writes: int
    #: ``Queue.leases_ahead``
    leases_ahead: int

    @property
    def lease_holder(self) -> str | None:
        """``Queue.lease_holder``"""

    async def claim(self, ask: Ask) -> list[ClaimedDelivery]: ...

    async def record(self, results: Sequence[AttemptResult], pause_after: int) -> None: ...

    async def record_and_claim(
        self, results: Sequence[AttemptResult], pause_after: int, ask: Ask, turn: Turn
    ) -> list[ClaimedDelivery]: ...

    async def next_due_at(self) -> float | None: ...


class SqlQueue:
    """The delivery queue: ``hot`` claims and records, ``db`` runs the rest, ``box`` opens the
    endpoint secrets a claim carries."""

    def __init__(self, db: Handle, box: SecretBox, hot: HotPath) -> None:
        self._db = db
        self._box = box
        self._hot = hot
        self.overlapping_writes = hot.overlapping_writes
        self.leases_ahead = hot.leases_ahead

    @property
    def lease_holder(self) -> str | None:
        return self._hot.lease_holder

    async def claim_due(
        self,
        *,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None = None,
        ahead: int = 0,
    ) -> list[ClaimedDelivery]:
        if limit <= 0:
            return []
        return await self._hot.claim(Ask(worker_id, limit, lease_seconds, finished, ahead))

    async def record_attempts(self, results: Sequence[AttemptResult], *, pause_after: int) -> None:
        if results:
            await self._hot.record(results, pause_after)

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
        ahead: int = 0,
    ) -> list[ClaimedDelivery]:
        ask = Ask(worker_id, limit, lease_seconds, finished, ahead)
        return await self._hot.record_and_claim(results, pause_after, ask, turn or NoTurn())

    async def next_due_at(self) -> float | None:
        return await self._hot.next_due_at()

    async def release(self, claims: Sequence[ClaimedDelivery], *, at: float) -> None:
        if not claims:
            return

        def tx() -> Tx[None]:
            yield executemany(_RELEASE, [(at, c.app_id, c.delivery_id) for c in claims])

        await self._db.write(tx, durable=False)
        self._db.wake()

    async def inactive_endpoints(self, endpoint_ids: Collection[str]) -> set[str]:
        asked = set(endpoint_ids)
        if not asked:
            return set()
        dialect = self._db.dialect
        sql = _ACTIVE.format(ids=dialect.any("id", "$1"))

        def tx() -> Tx[set[str]]:
            active = yield fetch(sql, dialect.array(sorted(asked)))
            return asked - {r["id"] for r in active}

        return await self._db.read(tx)

    async def claim_delivery(
        self, app_id: str, delivery_id: str, *, worker_id: str, lease_seconds: float
    ) -> ClaimedDelivery | None:
        def tx() -> Tx[ClaimedDelivery | None]:
            now = time.time()
            end = leases.lease_end(now, lease_seconds)
            if not (yield execute(_TAKE, app_id, delivery_id, worker_id, end, now)):
                return None
            r = yield fetchrow(_TAKEN, app_id, delivery_id)
            return rows.claimed(r, now, self._box.decrypt)

        return await self._db.write(tx)

    async def reserve_send_slots(self, endpoint_id: str, count: int, per_second: float) -> float:
        span = count / per_second

        def tx() -> Tx[float]:
            now = time.time()
            end = yield fetchval(_RESERVE, now, span, endpoint_id)
            return now if end is None else float(end) - span

        return await self._db.write(tx, durable=False)

    async def queue_stats(self, app_id: str | None = None) -> QueueStats:
        now = time.time()
        sql = _STATS if app_id is None else f"{_STATS} AND {_APPS_ENDPOINTS}"
        args = (now,) if app_id is None else (now, app_id)

        def tx() -> Tx[QueueStats]:
            r = yield fetchrow(sql, *args)
            return QueueStats(int(r["pending"]), int(r["due"]), int(r["held"]), int(r["in_flight"]))

        return await self._db.read(tx)

    async def wait_for_work(self, timeout: float) -> None:
        await self._db.wait_for_wake(timeout)


__all__ = ["Ask", "HotPath", "SqlQueue", "claimed"]
