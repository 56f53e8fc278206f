"""A recover's steps: re-queue an endpoint's failed deliveries created since a time, a bounded
number at a time, each step starting past the last delivery id the one before went through.

The keyset cursor (``operations.after_id``) is what keeps a delivery from being re-queued
twice: one re-queued, attempted and failed again while the recover runs is behind the cursor,
and the steps never read it again. The window closes when the recover was asked for
(``operations.created_at``): deliveries created later are not the ones it was asked about.
Rows are read in id order off ``ix_deliveries_endpoint`` (app, endpoint, status, id).
"""

from __future__ import annotations

from dataclasses import dataclass

from hookwise.store.requeue import requeue_ids
from hookwise.store.sql import Dialect, Tx, fetch, fetchval, still

# $1 app, $2 endpoint, $3 after this id, $4 since, $5 until
_FAILED = (
    "FROM deliveries WHERE app_id = $1 AND endpoint_id = $2 AND status = 'failed' AND id > $3"
    " AND created_at >= $4 AND created_at <= $5"
)


@dataclass(frozen=True, slots=True)
class Window:
    """Which failed deliveries a recover re-queues: the endpoint's, created between ``since``
    and ``until``, past ``after_id`` (those before are done)."""

    app_id: str
    endpoint_id: str
    since: float
    until: float
    after_id: str

    @property
    def args(self) -> tuple[str, str, str, float, float]:
        return self.app_id, self.endpoint_id, self.after_id, self.since, self.until


@dataclass(frozen=True, slots=True)
class Went:
    """What a step went through: ``seen`` failed deliveries up to ``last_id``, ``requeued`` of
    them re-queued (fewer when one changed meanwhile)."""

    seen: int
    requeued: int
    last_id: str


def recover_step(d: Dialect, w: Window, size: int, now: float) -> Tx[Went]:
    """Statements: re-queue the next ``size`` failed deliveries of the window, in id order."""
    rs = yield fetch(f"SELECT id {_FAILED} ORDER BY id LIMIT $6", *w.args, size)
    ids = [r["id"] for r in rs]
    if not ids:
        return Went(0, 0, w.after_id)
    n = yield from requeue_ids(d, w.app_id, ids, still("status", "failed"), [], now)
    return Went(len(ids), n, ids[-1])


def remaining(w: Window) -> Tx[int]:
    """Statements: how many failed deliveries of the window are left (for an estimate)."""
    n = yield fetchval(f"SELECT count(*) {_FAILED}", *w.args)
    return int(n or 0)
