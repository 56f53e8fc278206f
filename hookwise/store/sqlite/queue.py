"""SQLite: the delivery queue's hot path (claim, record, release) and retention."""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.domain.secretbox import SecretBox
from hookwise.sqlite.writer import SqliteFile
from hookwise.store import rows
from hookwise.store.roles import FinishedIds, QueueStats, Turn

_CLAIMED_COLUMNS = (
    "d.app_id, d.id, d.message_id, d.endpoint_id, d.job_id, d.attempt_count, d.retry_base,"
    " d.trigger, m.body, m.created_at AS msg_created_at, e.url, e.secret, e.previous_secrets,"
    " e.headers, e.timeout_seconds, e.retry_schedule, e.rate_limit_per_second"
)


class SqliteQueue:
    """Claiming, recording and releasing deliveries."""

    _db: SqliteFile
    _box: SecretBox

    def _wake(self) -> None:
        raise NotImplementedError

    def _dec(self, stored: str) -> str:
        raise NotImplementedError

    async def claim_due(
        self,
        *,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None = None,
    ) -> list[ClaimedDelivery]:
        return await self._db.write(
            lambda c: self._claim(c, worker_id, limit, lease_seconds, finished), durable=False
        )

    def _claim(
        self,
        c: sqlite3.Connection,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None,
    ) -> list[ClaimedDelivery]:
        """Per endpoint with room and due work, its oldest due deliveries, merged by due time.

        Walking endpoints (an index probe each) rather than the global due order keeps a claim
        cheap when one endpoint sits at its in-flight cap over a large backlog: its rows are
        never scanned, and everyone else's are reached at once. An endpoint's attempts in
        flight are its valid leases less those the worker says are finished, not yet recorded.
        """
        now = time.time()
        done = rows.dumps(list(finished())) if finished is not None else "[]"
        in_flight = dict(
            c.execute(
                "SELECT endpoint_id, count(*) FROM deliveries INDEXED BY ix_deliveries_leased"
                " WHERE lease_owner IS NOT NULL AND next_attempt_at > ? AND NOT (lease_owner = ?"
                " AND id IN (SELECT value FROM json_each(?))) GROUP BY endpoint_id",
                (now, worker_id, done),
            ).fetchall()
        )
        ready = c.execute(
            "SELECT e.id, e.max_in_flight FROM endpoints e WHERE e.status = 'active' AND EXISTS"
            " (SELECT 1 FROM deliveries d WHERE d.status = 'pending' AND d.endpoint_id = e.id"
            " AND d.next_attempt_at <= ?)",
            (now,),
        ).fetchall()
        rooms = [(r[0], r[1] - in_flight.get(r[0], 0)) for r in ready]
        rooms = [(ep, room) for ep, room in rooms if room > 0]
        if not rooms:
            return []
        share = max(1, -(-limit * 2 // len(rooms)))  # twice a fair share: room to merge
        candidates: list[tuple[float, str, str]] = []
        for ep, room in rooms:
            candidates += [
                (r[0], r[1], r[2])
                for r in c.execute(
                    "SELECT next_attempt_at, app_id, id FROM deliveries WHERE status = 'pending'"
                    " AND endpoint_id = ? AND next_attempt_at <= ? ORDER BY next_attempt_at"
                    " LIMIT ?",
                    (ep, now, min(room, share, limit)),
                )
            ]
        candidates.sort()
        chosen = [(a, d) for _, a, d in candidates[:limit]]
        return self._lease(c, chosen, worker_id, now, lease_seconds)

    def _lease(
        self,
        c: sqlite3.Connection,
        chosen: list[tuple[str, str]],
        worker_id: str,
        now: float,
        lease_seconds: float,
    ) -> list[ClaimedDelivery]:
        until = now + lease_seconds
        c.executemany(
            "UPDATE deliveries SET lease_owner = ?, next_attempt_at = ? WHERE app_id = ?"
            " AND id = ?",
            [(worker_id, until, a, d) for a, d in chosen],
        )
        by_app: dict[str, list[str]] = defaultdict(list)
        for a, d in chosen:
            by_app[a].append(d)
        out: list[Any] = []
        for app_id, ids in by_app.items():  # app_id first: the primary key's order
            out += c.execute(
                f"SELECT {_CLAIMED_COLUMNS} FROM deliveries d"
                " JOIN messages m ON m.app_id = d.app_id AND m.id = d.message_id"
                " JOIN endpoints e ON e.id = d.endpoint_id"
                " WHERE d.app_id = ? AND d.id IN (SELECT value FROM json_each(?))",
                (app_id, rows.dumps(ids)),
            ).fetchall()
        return rows.claimed_all(out, now, self._dec)

    async def claim_delivery(
        self, app_id: str, delivery_id: str, *, worker_id: str, lease_seconds: float
    ) -> ClaimedDelivery | None:
        def op(c: sqlite3.Connection) -> ClaimedDelivery | None:
            now = time.time()
            r = c.execute(
                "SELECT 1 FROM deliveries WHERE app_id = ? AND id = ? AND status IN"
                " ('pending', 'held') AND (lease_owner IS NULL OR next_attempt_at <= ?)",
                (app_id, delivery_id, now),
            ).fetchone()
            if r is None:
                return None
            got = self._lease(c, [(app_id, delivery_id)], worker_id, now, lease_seconds)
            return got[0] if got else None

        return await self._db.write(op)

    async def record_attempts(self, results: Sequence[AttemptResult], *, pause_after: int) -> None:
        if results:
            resumed = await self._db.write(
                lambda c: _record(c, results, pause_after), durable=False
            )
            if resumed:
                self._wake()

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
        if turn is not None:  # one writer thread: writes never overlap, take the turn first
            await turn.before_record()
            turn.recorded()
            await turn.before_claim()

        def op(c: sqlite3.Connection) -> tuple[bool, list[ClaimedDelivery]]:
            resumed = bool(results) and _record(c, results, pause_after)
            if limit <= 0:
                return resumed, []
            return resumed, self._claim(c, worker_id, limit, lease_seconds, finished)

        resumed, claims = await self._db.write(op, durable=False)
        if resumed:
            self._wake()
        return claims

    async def release(self, claims: Sequence[ClaimedDelivery], *, at: float) -> None:
        if not claims:
            return

        def op(c: sqlite3.Connection) -> None:
            c.executemany(
                "UPDATE deliveries SET lease_owner = NULL, next_attempt_at = ? WHERE app_id = ?"
                " AND id = ? AND status IN ('pending', 'held')",
                [(at, x.app_id, x.delivery_id) for x in claims],
            )

        await self._db.write(op, durable=False)
        self._wake()

    async def take_back_leases(self, holders: Sequence[str]) -> int:
        """Make due now the deliveries leased by workers of ``holders`` (gone processes, or
        this store closing, see ``holders.py``): their worker ids are a holder id or start
        with one and ``:``. Only those: another holder's leases are left to run (or be
        recorded).

        Only the lease is dropped: a leased row's ``next_attempt_at`` is its lease's expiry
        (the time it was due, at most its claim's time, is overwritten by the claim), so
        "now" is max(its due time, now). Scheduled retries and rate-limit slots handed back
        to later (``release``) are not leased and keep their time; a slot reserved for an
        attempt that never ran stays reserved in the endpoint's ``rl_next_at``."""

        def op(c: sqlite3.Connection) -> int:
            now = time.time()
            return sum(
                c.execute(
                    "UPDATE deliveries SET lease_owner = NULL, next_attempt_at = ?"
                    " WHERE lease_owner IS NOT NULL AND status IN ('pending', 'held')"
                    " AND (lease_owner = ? OR substr(lease_owner, 1, ?) = ?)",
                    (now, h, len(h) + 1, f"{h}:"),
                ).rowcount
                for h in holders
            )

        taken = await self._db.write(op)
        if taken:
            self._wake()
        return taken

    async def reserve_send_slots(self, endpoint_id: str, count: int, per_second: float) -> float:
        interval = 1.0 / per_second

        def op(c: sqlite3.Connection) -> float:
            now = time.time()
            r = c.execute(
                "UPDATE endpoints SET rl_next_at = max(rl_next_at, ?) + ? WHERE id = ?"
                " RETURNING rl_next_at",
                (now, count * interval, endpoint_id),
            ).fetchone()
            return now if r is None else float(r[0]) - count * interval

        return await self._db.write(op, durable=False)

    async def next_due_at(self) -> float | None:
        def op(c: sqlite3.Connection) -> float | None:
            r = c.execute(
                "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"
            ).fetchone()
            return None if r is None or r[0] is None else float(r[0])

        return await self._db.read(op)

    async def queue_stats(self, app_id: str | None = None) -> QueueStats:
        def op(c: sqlite3.Connection) -> QueueStats:
            now = time.time()
            one_app = "" if app_id is None else " AND app_id = ?"
            r = c.execute(
                "SELECT"
                " sum(status = 'pending'),"
                " sum(status = 'pending' AND next_attempt_at <= ?),"
                " sum(status = 'held'),"
                " sum(status = 'pending' AND lease_owner IS NOT NULL AND next_attempt_at > ?)"
                " FROM deliveries WHERE status IN ('pending', 'held')" + one_app,
                (now, now) if app_id is None else (now, now, app_id),
            ).fetchone()
            return QueueStats(*(int(x or 0) for x in r))

        return await self._db.read(op)

    async def prune(self, *, older_than: float, batch: int = 5000) -> int:
        def op(c: sqlite3.Connection) -> int:
            n = c.execute(
                "DELETE FROM attempts WHERE rowid IN (SELECT rowid FROM attempts"
                " WHERE started_at < ? LIMIT ?)",
                (older_than, batch),
            ).rowcount
            old = c.execute(
                "SELECT app_id, id FROM messages m WHERE created_at < ? AND NOT EXISTS"
                " (SELECT 1 FROM deliveries d WHERE d.app_id = m.app_id AND d.message_id = m.id"
                " AND d.status IN ('pending', 'held')) LIMIT ?",
                (older_than, batch),
            ).fetchall()
            pairs = [(r[0], r[1]) for r in old]
            c.executemany("DELETE FROM deliveries WHERE app_id = ? AND message_id = ?", pairs)
            c.executemany("DELETE FROM message_tags WHERE app_id = ? AND message_id = ?", pairs)
            c.executemany("DELETE FROM messages WHERE app_id = ? AND id = ?", pairs)
            return n + len(pairs)

        total = 0
        while True:
            n = await self._db.write(op)
            total += n
            if n == 0:
                return total


def _record(c: sqlite3.Connection, results: Sequence[AttemptResult], pause_after: int) -> bool:
    """Insert the attempts, move deliveries on, count endpoint failures. True if anything is due
    again at once (a failure whose retry is already due)."""
    now = time.time()
    attempt_rows = []
    done, retry, failed = [], [], []
    for res in results:
        cl = res.claimed
        number = cl.attempt_count + 1
        started = res.started_at.timestamp()
        attempt_rows.append(
            (cl.app_id, res.attempt_id, cl.delivery_id, cl.message_id, cl.endpoint_id,
             cl.job_id, number, "succeeded" if res.succeeded else "failed", res.status_code,
             res.response_body, res.error_message, res.duration_ms, started, cl.url, cl.trigger)
        )  # fmt: skip
        key = (number, started, res.status_code, now)
        if res.succeeded:
            done.append((*key, cl.app_id, cl.delivery_id))
        elif res.next_attempt_at is not None:
            retry.append((*key, res.next_attempt_at.timestamp(), cl.app_id, cl.delivery_id))
        else:
            failed.append((*key, cl.app_id, cl.delivery_id))
    c.executemany(
        "INSERT INTO attempts (app_id, id, delivery_id, message_id, endpoint_id, job_id,"
        " attempt_number, status, response_status_code, response_body, error_message,"
        " duration_ms, started_at, url, trigger) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        attempt_rows,
    )
    base = (
        "UPDATE deliveries SET attempt_count = ?, last_attempt_at = ?, last_status_code = ?,"
        " updated_at = ?, lease_owner = NULL, trigger = 'scheduled', "
    )
    c.executemany(
        base + "status = 'succeeded', next_attempt_at = NULL WHERE app_id = ? AND id = ?"
        " AND status IN ('pending', 'held')",
        done,
    )
    c.executemany(
        base + "next_attempt_at = ? WHERE app_id = ? AND id = ? AND status IN ('pending','held')",
        retry,
    )
    c.executemany(
        base + "status = 'failed', next_attempt_at = NULL WHERE app_id = ? AND id = ?"
        " AND status IN ('pending', 'held')",
        failed,
    )
    _count_failures(c, results, pause_after, now)
    return bool(retry) and min(r[4] for r in retry) <= now


def _count_failures(
    c: sqlite3.Connection, results: Sequence[AttemptResult], pause_after: int, now: float
) -> None:
    """Per endpoint: reset the counter on success, add failures, pause at the threshold."""
    per_ep: dict[tuple[str, str], tuple[bool, int, str | None]] = {}
    for res in results:
        key = (res.claimed.app_id, res.claimed.endpoint_id)
        reset, n, reason = per_ep.get(key, (False, 0, None))
        if res.succeeded:
            per_ep[key] = (True, 0, reason)
        elif res.counts_as_failure or res.pause_reason:
            per_ep[key] = (reset, n + 1, res.pause_reason or reason)
    for (app_id, ep_id), (reset, n, reason) in per_ep.items():
        r = c.execute(
            "UPDATE endpoints SET consecutive_failures = CASE WHEN ? THEN ? ELSE"
            " consecutive_failures + ? END WHERE app_id = ? AND id = ?"
            " RETURNING consecutive_failures, status, kind",
            (reset, n, n, app_id, ep_id),
        ).fetchone()
        if r is None or r["status"] != "active" or r["kind"] != "endpoint":
            continue
        if reason is None and (n == 0 or r["consecutive_failures"] < pause_after):
            continue
        why = reason or f"{r['consecutive_failures']} consecutive failed attempts"
        c.execute(
            "UPDATE endpoints SET status = 'paused', paused_reason = ?, updated_at = ?"
            " WHERE app_id = ? AND id = ?",
            (why, now, app_id, ep_id),
        )
        c.execute(
            "UPDATE deliveries SET status = 'held', updated_at = ? WHERE app_id = ?"
            " AND endpoint_id = ? AND status = 'pending'",
            (now, app_id, ep_id),
        )
