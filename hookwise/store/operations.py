"""The ``Operations`` role, written once for both databases: bulk changes in bounded steps.

Releasing an endpoint's held backlog touches as many rows as were held (300,000 froze every
tenant's ingest on SQLite for ~2 s when done in one statement). So the API call only writes
the change and an ``operations`` row (and releases a first step inline, which is all of a small
backlog); a ``Stepper`` in a process that runs workers does the rest, step after step, each its
own short transaction (SQLite: one writer-thread operation, so the API's writes go between
steps; PostgreSQL: a few thousand row locks at most, for milliseconds).

A step flips ``held`` deliveries to ``pending`` and adds their number to the operation's
``done`` in the same transaction, so a step lost in a crash is simply done again and none is
released twice; the operation's lease keeps two processes from stepping it at once, and runs
out when its holder dies, so whichever process runs next finishes it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from hookwise.domain.errors import NotFound
from hookwise.domain.ids import new_id
from hookwise.store.recover import Went, Window, recover_step, remaining
from hookwise.store.rules import operations as rules
from hookwise.store.sql import Handle, Tx, execute, fetch, fetchrow, fetchval, still
from hookwise.store.wakeups import Waiters

# $1 app, $2 endpoint, $3 now, $4 rows at most: the oldest held first, in due order (the
# ``ix_deliveries_endpoint_due`` index, no sort); a delivery keeps a due time already past, so
# the steps keep the backlog's order. The status is checked again on the row updated (``still``):
# a row that changed while the statement waited for its lock (a leased one, recorded meanwhile)
# must stay as it is.
_RELEASE = (
    "UPDATE deliveries SET status = 'pending', retry_base = attempt_count, lease_owner = NULL,"
    " next_attempt_at = CASE WHEN next_attempt_at < $3 THEN next_attempt_at ELSE $3 END,"
    " updated_at = $3 WHERE (app_id, id) IN (SELECT app_id, id FROM deliveries"
    " WHERE status = 'held' AND endpoint_id = $2 AND app_id = $1"
    f" ORDER BY next_attempt_at LIMIT $4) AND {still('status', 'held')}"
)
_HELD = "SELECT count(*) FROM deliveries WHERE app_id = $1 AND endpoint_id = $2 AND status = 'held'"
_RUNNING = "kind = 'release' AND status = 'running' AND app_id = $1 AND endpoint_id = $2"
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
    since: float | None = None  # a recover: failed deliveries created since then
    after_id: str | None = None  # a recover: the last delivery id its steps went through


def _operation(r: Any) -> Operation:
    return Operation(
        r["app_id"], r["id"], r["kind"], r["endpoint_id"], r["status"], r["done"], r["total"],
        r["created_at"], r["updated_at"], r["since"], r["after_id"],
    )  # fmt: skip


def release_step(app_id: str, endpoint_id: str, size: int, now: float) -> Tx[int]:
    """Statements: release at most ``size`` of the endpoint's held deliveries (the oldest
    first); how many. The caller holds the endpoint's row (locked or just updated)."""
    n: int = yield execute(_RELEASE, app_id, endpoint_id, now, size)
    return n


def start_release(app_id: str, endpoint_id: str, now: float) -> Tx[bool]:
    """Statements, in the transaction that re-enables the endpoint: release a first step,
    and write down a release for the rest if some may be left; whether one is running."""
    n = yield from release_step(app_id, endpoint_id, rules.FIRST, now)
    if rules.after_release_step("active", n, rules.FIRST) != "running":
        return False
    # a re-enable of an endpoint already being released goes on with the same operation
    if (yield execute(f"UPDATE operations SET done = done + $3 WHERE {_RUNNING}", app_id,
                      endpoint_id, n)) == 0:  # fmt: skip
        yield execute(
            "INSERT INTO operations (app_id, id, kind, endpoint_id, status, done, created_at,"
            " updated_at) VALUES ($1, $2, 'release', $3, 'running', $4, $5, $5)",
            app_id, new_id("op"), endpoint_id, n, now,
        )  # fmt: skip
    return True


def cancel_releases(app_id: str, endpoint_id: str, now: float) -> Tx[None]:
    """Statements, in the transaction that pauses the endpoint: its release stops here."""
    yield execute(
        "UPDATE operations SET status = 'canceled', lease_owner = NULL, lease_until = NULL,"
        f" updated_at = $3 WHERE {_RUNNING}",
        app_id, endpoint_id, now,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Step:
    """What one step did: rows changed (released, re-queued), and the operation's status
    after it."""

    changed: int
    status: rules.Status


class Operations:
    """Bulk changes over one database ``Handle``: read them, lease them, step them."""

    def __init__(self, db: Handle) -> None:
        self._db = db
        self._started = Waiters()
        self._lock_endpoint = (
            "SELECT status FROM endpoints WHERE app_id = $1 AND id = $2" + db.dialect.for_update
        )

    def started(self) -> None:
        """An operation was written down in this process: wake its stepper now."""
        self._started.wake()

    async def wait_for_start(self, timeout: float) -> None:
        """Return when an operation is started in this process, or after ``timeout``."""
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

    async def step(
        self, op: Operation, *, owner: str, size: int, lease_seconds: float
    ) -> Step | None:
        """Run one step of ``op`` under ``owner``'s lease (taken or renewed, for
        ``lease_seconds``); None when another holds it or it is over."""
        app_id, endpoint_id = op.app_id, op.endpoint_id or ""
        d = self._db.dialect
        total = op.total
        if total is None:  # how much there is, counted off the writer (an estimate)
            total = op.done + await self._db.read(lambda: _left(op))
        now = time.time()

        # the endpoint's row first, then the operation's, then the deliveries: a re-enable or
        # a pause locks them in the same order, so a step never deadlocks with one
        def tx() -> Tx[Step | None]:
            status = yield fetchval(self._lock_endpoint, app_id, endpoint_id)
            leased = yield fetchrow(_LEASE, app_id, op.id, owner, now + lease_seconds, now)
            if leased is None:
                return None
            n, after_id = 0, leased["after_id"]
            if op.kind == "recover":
                went = Went(0, 0, after_id)
                if status is not None:
                    went = yield from recover_step(d, _window(_operation(leased)), size, now)
                n, after_id = went.requeued, went.last_id
                after = rules.after_recover_step(status, went.seen, size)
            else:
                if status == "active":
                    n = yield from release_step(app_id, endpoint_id, size, now)
                after = rules.after_release_step(status, n, size)
            yield execute(
                "UPDATE operations SET done = done + $3, total = COALESCE(total, $4),"
                " status = $5, updated_at = $6, after_id = $7 WHERE app_id = $1 AND id = $2",
                app_id, op.id, n, total, after, now, after_id,
            )  # fmt: skip
            return Step(n, after)

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


def _left(op: Operation) -> Tx[int]:
    """Statements: how many rows ``op`` has left to change (read off the writer: an estimate)."""
    if op.kind == "recover":
        return (yield from remaining(_window(op)))
    n = yield fetchval(_HELD, op.app_id, op.endpoint_id)
    return int(n or 0)
