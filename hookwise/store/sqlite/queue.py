"""SQLite: the delivery queue's hot path (claim, record) and the leases of gone processes.

Hand-tuned per backend: measured. A claim and a record are one operation each on the file's
writer thread, group-committed with whatever else is queued and not fsynced (``durable=False``:
at-least-once work that a power cut only makes happen again), written against ``sqlite3``
directly: a claim of 64 is a few dozen statements, and running them through the statements of
``store.sql`` would cost more than the statements themselves. What the attempts and leases mean
is decided in ``rules``; the rest of the queue is ``store.queue``'s, written once.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.domain.secretbox import SecretBox
from hookwise.store import rows
from hookwise.store.backlog import start
from hookwise.store.operational import OperationalEvents, notify
from hookwise.store.queue import Ask, claimed
from hookwise.store.roles import Turn
from hookwise.store.rules import attempts, leases, operational
from hookwise.store.rules.operational import Watch
from hookwise.store.sql import SQLITE, Tx, execute, fetchval, sqlite_marks
from hookwise.store.sqlite.handle import SqliteHandle, run
from hookwise.store.sqlite.holders import Holder

# $1 now, $2 worker, $3 its finished deliveries: each endpoint's attempts in flight, and how
# many of them other workers hold
_IN_FLIGHT = sqlite_marks(
    "SELECT d.endpoint_id, count(*), sum(d.lease_owner <> $2)"
    " FROM deliveries AS d INDEXED BY ix_deliveries_leased WHERE "
    + leases.in_flight_sql(SQLITE, "d", now="$1", worker="$2", finished="$3")
    + " GROUP BY d.endpoint_id"
)
_READY = (
    "SELECT e.id, e.max_in_flight, e.rate_limit_per_second FROM endpoints e"
    f" WHERE e.status = 'active' AND {leases.WORKERS_CLAIM} AND EXISTS"
    " (SELECT 1 FROM deliveries d WHERE d.status = 'pending' AND d.endpoint_id = e.id"
    " AND d.next_attempt_at <= ?)"
)
_DUE = (
    "SELECT next_attempt_at, app_id, id FROM deliveries WHERE status = 'pending'"
    " AND endpoint_id = ? AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?"
)
# the same deliveries read whole (``rows.claimed``), when every one of them is taken
_DUE_CLAIMED = claimed("deliveries", first="d.next_attempt_at, ") + (
    " WHERE d.status = 'pending' AND d.endpoint_id = ? AND d.next_attempt_at <= ?"
    " ORDER BY d.next_attempt_at LIMIT ?"
)
_LEASE = "UPDATE deliveries SET lease_owner = ?, next_attempt_at = ? WHERE app_id = ? AND id = ?"
_LEASED = claimed("deliveries") + (  # the chosen, by key (they read the same leased or not)
    " WHERE d.app_id = ? AND d.id IN (SELECT value FROM json_each(?))"
)

_MARKS = ",".join("?" * (attempts.ATTEMPT_COLUMNS.count(",") + 1))
_INSERT_ATTEMPTS = f"INSERT INTO attempts ({attempts.ATTEMPT_COLUMNS}) VALUES ({_MARKS})"
# $5 the outcome (``attempts.outcome``): a retry keeps the status (pending, or held meanwhile)
_MOVE = sqlite_marks(
    "UPDATE deliveries SET attempt_count = $1, last_attempt_at = $2, last_status_code = $3,"
    " updated_at = $4, lease_owner = NULL, trigger = 'scheduled',"
    " status = CASE $5 WHEN 'retry' THEN status ELSE $5 END, next_attempt_at = $6"
    " WHERE app_id = $7 AND id = $8 AND status IN ('pending', 'held')"
)
_ENDPOINT = "SELECT consecutive_failures, status, kind FROM endpoints WHERE app_id = ? AND id = ?"
_COUNT = "UPDATE endpoints SET consecutive_failures = ? WHERE app_id = ? AND id = ?"
_PAUSE = (
    "UPDATE endpoints SET consecutive_failures = ?, status = 'paused', paused_reason = ?,"
    " updated_at = ? WHERE app_id = ? AND id = ?"
)

# the earliest pending delivery of an endpoint a worker may claim: an active one, not a relay
# (its listener claims it); a paused endpoint's pending deliveries not yet held, and a deleted
# one's not yet canceled (``store.backlog``: in steps), are never claimed, so they must not
# keep the workers polling (a drain would never end)
_NEXT_DUE = (
    "SELECT d.next_attempt_at FROM deliveries d WHERE d.status = 'pending' AND EXISTS"
    " (SELECT 1 FROM endpoints e WHERE e.app_id = d.app_id AND e.id = d.endpoint_id"
    f" AND e.status = 'active' AND {leases.WORKERS_CLAIM}) ORDER BY d.next_attempt_at LIMIT 1"
)

# $1 now, $2 holder, $3 its length + 1, $4 holder + ':'
_TAKE_BACK = (
    "UPDATE deliveries SET lease_owner = NULL, next_attempt_at = $1"
    " WHERE lease_owner IS NOT NULL AND status IN ('pending', 'held')"
    " AND (lease_owner = $2 OR substr(lease_owner, 1, $3) = $4)"
)


class SqliteHotPath:
    """Claiming and recording on one SQLite file; ``holder`` is this store's lease holder."""

    #: One writer thread: a second write under way would only wait for the first.
    overlapping_writes = 1
    #: The writes run in this process: a freed slot's wait is short, and leasing ahead only
    #: adds work to a drain bound by this process's CPU (bench/README.md has the figures).
    leases_ahead = 0

    def __init__(
        self, handle: SqliteHandle, box: SecretBox, holder: Holder, told: OperationalEvents
    ) -> None:
        self._db = handle
        self._file = handle.file
        self._decrypt = box.decrypt
        self._holder = holder
        self._told = told

    @property
    def lease_holder(self) -> str | None:
        """This store's holder id (``holders``): workers that lease under ids starting with it
        and ``:`` have their leases taken back at once when this process is gone."""
        return self._holder.id

    async def claim(self, ask: Ask) -> list[ClaimedDelivery]:
        return await self._file.write(lambda c: self._claim(c, ask), durable=False)

    def _claim(self, c: sqlite3.Connection, ask: Ask) -> list[ClaimedDelivery]:
        """Per endpoint with room and due work, its oldest due deliveries, merged by due time.

        Walking endpoints (an index probe each) rather than the global due order keeps a claim
        cheap when one endpoint sits at its in-flight cap over a large backlog: its rows are
        never scanned, and everyone else's are reached at once.
        """
        now, limit = time.time(), ask.limit
        done = rows.dumps(leases.finished_ids(ask.finished))
        in_flight = {
            ep: (n, others)
            for ep, n, others in c.execute(_IN_FLIGHT, (now, ask.worker_id, done)).fetchall()
        }
        rooms = []
        for ep, cap, rate in c.execute(_READY, (now,)).fetchall():
            n, others = in_flight.get(ep, (0, 0))
            more = leases.ahead_of(
                ask.ahead, others=others, rate_limited=rate is not None, max_in_flight=cap
            )
            room = leases.room(cap, n, ahead=more)
            if room > 0:
                rooms.append((ep, room))
        if not rooms:
            return []
        share = leases.share(limit, len(rooms))
        asks = [(ep, min(room, share, limit)) for ep, room in rooms]
        out: list[Any] = []
        if sum(n for _, n in asks) <= limit:
            # every delivery read is taken (one endpoint with room, as in a drain): read them
            # whole at once rather than their keys, then again by key (~6 % of the writer's
            # time per delivery, bench/README.md)
            for ep, n in asks:
                out += c.execute(_DUE_CLAIMED, (ep, now, n)).fetchall()
            chosen = [(r[1], r[2]) for r in out]
        else:
            candidates: list[tuple[float, str, str]] = []
            for ep, n in asks:
                candidates += [(r[0], r[1], r[2]) for r in c.execute(_DUE, (ep, now, n))]
            candidates.sort()
            chosen = [(a, d) for _, a, d in candidates[:limit]]
            by_app: dict[str, list[str]] = defaultdict(list)
            for a, d in chosen:
                by_app[a].append(d)
            for app_id, ids in by_app.items():  # app_id first: the primary key's order
                out += c.execute(_LEASED, (app_id, rows.dumps(ids))).fetchall()
        until = leases.lease_end(now, ask.lease_seconds)
        c.executemany(_LEASE, [(ask.worker_id, until, a, d) for a, d in chosen])
        return rows.claimed_all(out, now, self._decrypt)

    async def record(self, results: Sequence[AttemptResult], pause_after: int) -> None:
        watch = self._told.watch
        due_now = await self._file.write(
            lambda c: _record(c, results, pause_after, watch), durable=False
        )
        if due_now:
            self._db.wake()

    async def record_and_claim(
        self, results: Sequence[AttemptResult], pause_after: int, ask: Ask, turn: Turn
    ) -> list[ClaimedDelivery]:
        # one writer thread: writes never overlap, take the whole turn first
        await turn.before_record()
        turn.recorded()
        await turn.before_claim()
        watch = self._told.watch

        def op(c: sqlite3.Connection) -> tuple[bool, list[ClaimedDelivery]]:
            due_now = bool(results) and _record(c, results, pause_after, watch)
            return due_now, (self._claim(c, ask) if ask.limit > 0 else [])

        due_now, claims = await self._file.write(op, durable=False)
        if due_now:
            self._db.wake()
        return claims

    async def next_due_at(self) -> float | None:
        """The earliest pending delivery's due time, leased or not: an endpoint at its cap over
        a backlog is looked at again soon, as this process's records wake nobody else. A
        relay's deliveries are not the workers' (``leases.WORKERS_CLAIM``)."""

        def tx() -> Tx[float | None]:
            r = yield fetchval(_NEXT_DUE)
            return None if r is None else float(r)

        return await self._db.read(tx)

    async def take_back_leases(self, holders: Sequence[str]) -> int:
        """Make due now the deliveries leased by workers of ``holders`` (gone processes, or
        this store closing, see ``holders``): their worker ids are a holder id or start with
        one and ``:``. Only those: another holder's leases are left to run (or be recorded).

        Only the lease is dropped (``rules.leases``): a leased row is due now. Scheduled retries
        and rate-limit slots handed back to later (``release``) are not leased and keep their
        time; a slot reserved for an attempt that never ran stays reserved."""

        def tx() -> Tx[int]:
            now, taken = time.time(), 0
            for h in holders:
                taken += yield execute(_TAKE_BACK, now, h, len(h) + 1, f"{h}:")
            return taken

        taken = await self._db.write(tx)
        if taken:
            self._db.wake()
        return taken


def _record(
    c: sqlite3.Connection, results: Sequence[AttemptResult], pause_after: int, watch: Watch | None
) -> bool:
    """Insert the attempts, move their deliveries on, count endpoint failures, and commit the
    operational events of it all when ``watch``. True if a retry (or an event) is due at once."""
    now = time.time()
    c.executemany(_INSERT_ATTEMPTS, [attempts.attempt_row(r) for r in results])
    moves = []
    for res in results:
        cl, (what, next_at) = res.claimed, attempts.outcome(res)
        moves.append((cl.attempt_count + 1, res.started_at.timestamp(), res.status_code, now,
                      what, next_at, cl.app_id, cl.delivery_id))  # fmt: skip
    c.executemany(_MOVE, moves)
    counted = _count_failures(c, results, pause_after, now)
    earliest = attempts.earliest_retry(results)
    due_now = earliest is not None and earliest <= now
    if watch is not None:
        notices = operational.recorded(watch, results, counted, pause_after)
        due_now = run(c, notify(SQLITE, watch, notices, now)) or due_now
    return due_now


def _count_failures(
    c: sqlite3.Connection, results: Sequence[AttemptResult], pause_after: int, now: float
) -> list[operational.Counted]:
    """Each endpoint's streak (``rules.attempts``) on its counter; pause those it pauses.
    What it did to each counter that may have changed."""
    counted = []
    for (app_id, ep_id), streak in attempts.streaks(results).items():
        if not streak.counts:
            continue
        r = c.execute(_ENDPOINT, (app_id, ep_id)).fetchone()
        if r is None:
            continue
        n = attempts.counter(streak, r[0])
        why = attempts.pause(streak, failures=n, status=r[1], kind=r[2], pause_after=pause_after)
        if why is not None:
            c.execute(_PAUSE, (n, why, now, app_id, ep_id))
            # its pending deliveries held in bounded steps, as a PATCH's pause does: none is
            # claimed from here on, and the stepper finds the rest within its poll interval
            run(c, start("hold", app_id, ep_id, now))
        elif n != r[0]:
            c.execute(_COUNT, (n, app_id, ep_id))
        counted.append(operational.Counted(app_id, ep_id, streak, r[0], n, r[1], r[2], why))
    return counted
