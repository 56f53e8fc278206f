"""The ``Operations`` role, written once for both databases: bulk changes in bounded steps.

Releasing an endpoint's held backlog touches as many rows as were held (300,000 froze every
tenant's ingest on SQLite for ~2 s when done in one statement); so do holding a paused
endpoint's pending deliveries, canceling a deleted one's (``store.backlog``), recovering an
endpoint's failed deliveries (``store.recover``) and resending an app's (``store.resend``). So
the API call only writes the change and an ``operations`` row (and runs a first step inline,
which is all of a small one); a ``Stepper`` in a process that runs workers does the rest, step
after step, each its own short transaction (SQLite: one writer-thread operation, so the API's
writes go between steps; PostgreSQL: a few thousand row locks at most, for milliseconds).

A step changes deliveries (``held`` to ``pending``, say) and adds their number to the
operation's ``done`` in the same transaction, so a step lost in a crash is simply done again and
none is changed twice; the operation's lease keeps two processes from stepping it at once, and runs
out when its holder dies, so whichever process runs next finishes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hookwise.domain.errors import NotFound
from hookwise.domain.ids import new_id
from hookwise.domain.models import Page
from hookwise.store.backlog import backlog_step, left
from hookwise.store.paging import after, newest_of, page
from hookwise.store.recover import Window, recover_step, remaining
from hookwise.store.resend import Resend, resend_step
from hookwise.store.resend import remaining as resend_remaining
from hookwise.store.rules import operations as rules
from hookwise.store.sql import Dialect, Handle, Tx, execute, fetch, fetchrow, fetchval
from hookwise.store.wakeups import Waiters

_NEWEST = newest_of("operations", "app_id")
_LEASE = (
    "UPDATE operations SET lease_owner = $3, lease_until = $4, updated_at = $5"
    " WHERE app_id = $1 AND id = $2 AND status = 'running' AND "
    + rules.LEASABLE_SQL.format(owner="$3", now="$5")
    + " RETURNING *"
)


@dataclass(frozen=True, slots=True)
class Operation:
    """A bulk change under way or finished (``status``: running, done, canceled)."""

    app_id: str
    id: str
    kind: str
    endpoint_id: str | None
    status: str
    done: int
    total: int | None
    created_at: float
    updated_at: float
    since: float | None = None  # a recover, a resend: deliveries created since then
    after_id: str | None = None  # a recover, a resend: the last delivery id its steps went by
    until: float | None = None  # a resend: deliveries created until then
    event_type: str | None = None  # a resend: of this event type only
    delivery_status: str | None = None  # a resend: which (``rules.RESENDS``)


def _operation(r: Any) -> Operation:
    return Operation(
        r["app_id"], r["id"], r["kind"], r["endpoint_id"], r["status"], r["done"], r["total"],
        r["created_at"], r["updated_at"], r["since"], r["after_id"], r["until"],
        r["event_type"], r["delivery_status"],
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ResendFilter:
    """What a bulk resend re-queues: the app's deliveries created since ``since`` (and until
    ``until``, or the call), ``which`` of them (``rules.RESENDS``: failed, all finished), of
    one endpoint or event type when set."""

    app_id: str
    since: float
    until: float | None = None
    which: str = "failed"
    endpoint_id: str | None = None
    event_type: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """What one step did: rows changed (released, re-queued), the operation's status after
    it, and the seconds its statements took in the database (``rules.next_size`` sizes the
    next step by them: not by the wait for the writer or a busy event loop, which would shrink
    every step to the least under load)."""

    changed: int
    status: rules.Status
    seconds: float = 0.0


class Operations:
    """Bulk changes over one database ``Handle``: read them, lease them, step them."""

    def __init__(self, db: Handle, announce: Callable[[], None] | None = None) -> None:
        self._db = db
        self._announce = announce  # tells the other processes' steppers (PostgreSQL: NOTIFY)
        self._started = Waiters()
        self._lock_endpoint = (
            "SELECT status FROM endpoints WHERE app_id = $1 AND id = $2" + db.dialect.for_update
        )

    def started(self) -> None:
        """An operation was written down in this process: wake its stepper now, and tell the
        other processes' (an API process runs none: the workers' take it up)."""
        self._started.wake()
        if self._announce is not None:
            self._announce()

    def heard(self) -> None:
        """Another process started an operation: wake this process's stepper now."""
        self._started.wake()

    async def wait_for_start(self, timeout: float) -> None:
        """Return when an operation is started (in this process, or heard of from another),
        or after ``timeout``."""
        await self._started.wait(timeout)

    async def get_operation(self, app_id: str, operation_id: str) -> Operation | None:
        def tx() -> Tx[Operation | None]:
            r = yield fetchrow(
                "SELECT * FROM operations WHERE app_id = $1 AND id = $2", app_id, operation_id
            )
            return _operation(r) if r else None

        return await self._db.read(tx)

    async def leasable(self, owner: str, *, limit: int = 100) -> list[Operation]:
        """The running operations ``owner`` may step (see ``rules.leasable``), oldest first."""
        now = time.time()
        cond = rules.LEASABLE_SQL.format(owner="$1", now="$2")

        def tx() -> Tx[list[Operation]]:
            rs = yield fetch(
                f"SELECT * FROM operations WHERE status = 'running' AND {cond}"
                " ORDER BY created_at LIMIT $3",
                owner, now, limit,
            )  # fmt: skip
            return [_operation(r) for r in rs]

        return await self._db.read(tx)

    async def start_recover(self, app_id: str, endpoint_id: str, since: float) -> Operation:
        """Write down a recover of the endpoint's failed deliveries created since ``since`` (up
        to now), and run its first step at once (all of a small one); the operation."""
        now = time.time()
        op_id = new_id("op")
        d = self._db.dialect

        def tx() -> Tx[tuple[Operation, int]]:
            status = yield fetchval(self._lock_endpoint, app_id, endpoint_id)
            if status is None:
                raise NotFound("endpoint", endpoint_id)
            w = Window(app_id, endpoint_id, since, now, "")
            went = yield from recover_step(d, w, rules.FIRST, now)
            after = rules.after_recover_step(status, went.seen, rules.FIRST)
            r = yield fetchrow(
                "INSERT INTO operations (app_id, id, kind, endpoint_id, status, done, total,"
                " since, after_id, created_at, updated_at) VALUES ($1, $2, 'recover', $3, $4,"
                " $5, $6, $7, $8, $9, $9) RETURNING *",
                app_id, op_id, endpoint_id, after, went.requeued,
                went.requeued if after == "done" else None, since, went.last_id, now,
            )  # fmt: skip
            return _operation(r), went.requeued

        op, n = await self._db.write(tx)
        if n:
            self._db.wake()
        if op.status == "running":
            self.started()
        return op

    async def start_resend(self, f: ResendFilter) -> Operation:
        """Write down a resend of the app's deliveries ``f`` selects (created up to now), and
        run its first step at once (all of a small one); the operation."""
        now = time.time()
        op_id = new_id("op")
        d = self._db.dialect

        def tx() -> Tx[Operation]:
            if f.endpoint_id is not None:
                found = yield fetchval(self._lock_endpoint, f.app_id, f.endpoint_id)
                if found is None:
                    raise NotFound("endpoint", f.endpoint_id)
            until = now if f.until is None else f.until
            w = Resend.window(
                f.app_id, f.since, until, f.which, f.endpoint_id, f.event_type, asked_at=now
            )
            went = yield from resend_step(d, w, rules.FIRST, now)
            after = rules.after_resend_step(went.seen, rules.FIRST)
            r = yield fetchrow(
                "INSERT INTO operations (app_id, id, kind, endpoint_id, status, done, total,"
                " since, until, event_type, delivery_status, after_id, created_at, updated_at)"
                " VALUES ($1, $2, 'resend', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)"
                " RETURNING *",
                f.app_id, op_id, f.endpoint_id, after, went.requeued,
                went.requeued if after == "done" else None, w.since, w.until, f.event_type,
                f.which, went.last_id, now,
            )  # fmt: skip
            return _operation(r)

        op = await self._db.write(tx)
        if op.done:
            self._db.wake()
        if op.status == "running":
            self.started()
        return op

    async def list_operations(
        self, app_id: str, *, limit: int, cursor: str | None
    ) -> Page[Operation]:
        """The app's operations, newest first (running ones, and the finished ones retention
        has not pruned yet)."""

        def tx() -> Tx[Page[Operation]]:
            rs = yield fetch(_NEWEST, app_id, after(cursor), limit + 1)
            return page(rs, limit, _operation)

        return await self._db.read(tx)

    async def step(
        self, op: Operation, *, owner: str, size: int, lease_seconds: float
    ) -> Step | None:
        """Run one step of ``op`` under ``owner``'s lease (taken or renewed, for
        ``lease_seconds``); None when another holds it or it is over."""
        d = self._db.dialect
        total = op.total
        if total is None:  # how much there is, counted off the writer (an estimate)
            total = op.done + await self._db.read(lambda: _left(d, op))
        now = time.time()
        locks = op.kind != "resend" and op.endpoint_id is not None

        # the endpoint's row first, then the operation's, then the deliveries: a status change
        # locks them in the same order, so a step never deadlocks with one
        def tx() -> Tx[Step | None]:
            began = time.perf_counter()
            status = None
            if locks:
                status = yield fetchval(self._lock_endpoint, op.app_id, op.endpoint_id)
            leased = yield fetchrow(_LEASE, op.app_id, op.id, owner, now + lease_seconds, now)
            if leased is None:
                return None
            n, after_id, after = yield from _advance(d, _operation(leased), status, size, now)
            yield execute(
                "UPDATE operations SET done = done + $3, total = CASE WHEN $5 = 'done'"
                " THEN done + $3 ELSE COALESCE(total, $4) END, status = $5, updated_at = $6,"
                " after_id = $7 WHERE app_id = $1 AND id = $2",
                op.app_id, op.id, n, total, after, now, after_id,
            )  # fmt: skip
            return Step(n, after, time.perf_counter() - began)

        # not durable: a step lost to a power cut is done again from the state it left
        step = await self._db.write(tx, durable=False)
        if step is not None and step.changed:
            self._db.wake()
        return step

    async def take_back(self, holder: str) -> int:
        """Free the leases of steppers that ran under lease holder ``holder`` (owners
        ``<holder>:…``), whose process is gone: the next step is anyone's at once, not after
        the lease runs out. How many were freed."""

        def tx() -> Tx[int]:
            n: int = yield execute(
                "UPDATE operations SET lease_owner = NULL, lease_until = NULL"
                " WHERE status = 'running' AND substr(lease_owner, 1, length($1)) = $1",
                f"{holder}:",
            )
            return n

        return await self._db.write(tx)

    async def let_go(self, owner: str) -> None:
        """Give up ``owner``'s leases (a clean stop), so another process goes on at once."""

        def tx() -> Tx[None]:
            yield execute(
                "UPDATE operations SET lease_owner = NULL, lease_until = NULL"
                " WHERE status = 'running' AND lease_owner = $1",
                owner,
            )

        await self._db.write(tx)


def _window(op: Operation) -> Window:
    """The failed deliveries a recover has left to re-queue."""
    return Window(
        op.app_id, op.endpoint_id or "", op.since or 0.0, op.created_at, op.after_id or ""
    )


def _resend(op: Operation) -> Resend:
    """The deliveries a resend has left to look at."""
    return Resend.window(
        op.app_id, op.since or 0.0, op.until or op.created_at, op.delivery_status or "failed",
        op.endpoint_id, op.event_type, asked_at=op.created_at, after_id=op.after_id,
    )  # fmt: skip


def _advance(
    d: Dialect, op: Operation, endpoint_status: str | None, size: int, now: float
) -> Tx[tuple[int, str | None, rules.Status]]:
    """Statements: one step of ``op`` (its endpoint's status as locked by the step); rows
    changed, the cursor after it, and the operation's status."""
    if op.kind == "resend":
        went = yield from resend_step(d, _resend(op), size, now)
        return went.requeued, went.last_id, rules.after_resend_step(went.seen, size)
    if op.kind == "recover":
        seen, n, after_id = 0, 0, op.after_id
        if endpoint_status is not None:
            w = yield from recover_step(d, _window(op), size, now)
            seen, n, after_id = w.seen, w.requeued, w.last_id
        return n, after_id, rules.after_recover_step(endpoint_status, seen, size)
    n = 0
    if endpoint_status == rules.GOES_ON_WHILE[op.kind]:
        n = yield from backlog_step(op.kind, op.app_id, op.endpoint_id or "", size, now)
    return n, op.after_id, rules.after_endpoint_step(op.kind, endpoint_status, n, size)


def _left(d: Dialect, op: Operation) -> Tx[int]:
    """Statements: how many rows ``op`` has left to change (read off the writer: an estimate)."""
    if op.kind == "resend":
        return (yield from resend_remaining(_resend(op)))
    if op.kind == "recover":
        return (yield from remaining(_window(op)))
    return (yield from left(op.kind, op.app_id, op.endpoint_id or ""))
