"""What an endpoint's status change does to its deliveries, a bounded step at a time.

Re-enabling releases the held deliveries (``release``), pausing holds the pending ones
(``hold``), deleting cancels both (``cancel``). Each touches as many rows as the endpoint has
(300,000 in one statement froze every tenant's ingest on SQLite for ~2 s, issue 19), so the
API call changes the endpoint, runs a first step (all of a small backlog) and, when more may be
left, writes down an ``operations`` row that the stepper carries on (``store.operations``).

The change takes effect with the endpoint's own row, not with the steps: a claim takes only
deliveries of an endpoint that is ``active`` (``sqlite/queue.py``, ``postgres/claims.py``), so a
paused endpoint's deliveries not yet held, and a deleted one's not yet canceled, are never sent
after the call answers. The steps only bring their status in line.

Every statement here runs in a transaction that holds the endpoint's row (locked, updated or
deleted), so a step and a status change never interleave: the endpoint's row first, then its
deliveries, the order a record of attempts takes too.
"""

from __future__ import annotations

from hookwise.domain.ids import new_id
from hookwise.store.rules import operations as rules
from hookwise.store.sql import Tx, execute, fetchval, still

# $1 app, $2 endpoint, $3 now, $4 rows at most. The status is checked again on the row changed
# (``still``): a row that changed while the statement waited for its lock (a leased one,
# recorded meanwhile) must stay as it is.
_PICK = (
    " WHERE (app_id, id) IN (SELECT app_id, id FROM deliveries"
    " WHERE status {picked} AND endpoint_id = $2 AND app_id = $1{order} LIMIT $4) AND {still}"
)
# the oldest held first, in due order (``ix_deliveries_endpoint_due``, no sort); a delivery
# keeps a due time already past, so the steps keep the backlog's order
_RELEASE = (
    "UPDATE deliveries SET status = 'pending', retry_base = attempt_count, lease_owner = NULL,"
    " next_attempt_at = CASE WHEN next_attempt_at < $3 THEN next_attempt_at ELSE $3 END,"
    " updated_at = $3"
    + _PICK.format(
        picked="= 'held'", order=" ORDER BY next_attempt_at", still=still("status", "held")
    )
)
# a delivery in flight is held too: its attempt's record keeps the status (``_MOVE``)
_HOLD = "UPDATE deliveries SET status = 'held', updated_at = $3" + _PICK.format(
    picked="= 'pending'", order="", still=still("status", "pending")
)
_CANCEL = (
    "UPDATE deliveries SET status = 'canceled', lease_owner = NULL, next_attempt_at = NULL,"
    " updated_at = $3"
    + _PICK.format(
        picked="IN ('pending', 'held')", order="", still="status || '' IN ('pending', 'held')"
    )
)
STEPS = {"release": _RELEASE, "hold": _HOLD, "cancel": _CANCEL}
_LEFT = {"release": "= 'held'", "hold": "= 'pending'", "cancel": "IN ('pending', 'held')"}

_RUNNING = "kind = $3 AND status = 'running' AND app_id = $1 AND endpoint_id = $2"


def backlog_step(kind: str, app_id: str, endpoint_id: str, size: int, now: float) -> Tx[int]:
    """Statements: change at most ``size`` of the endpoint's deliveries as ``kind`` (release,
    hold, cancel) does; how many changed."""
    n: int = yield execute(STEPS[kind], app_id, endpoint_id, now, size)
    return n


def left(kind: str, app_id: str, endpoint_id: str) -> Tx[int]:
    """Statements: how many of the endpoint's deliveries ``kind`` has left to change."""
    n = yield fetchval(
        "SELECT count(*) FROM deliveries WHERE app_id = $1 AND endpoint_id = $2"
        f" AND status {_LEFT[kind]}",
        app_id, endpoint_id,
    )  # fmt: skip
    return int(n or 0)


def start(kind: rules.Kind, app_id: str, endpoint_id: str, now: float) -> Tx[bool]:
    """Statements, in the transaction that changes the endpoint's status: stop what the last
    change left running, run a first step of ``kind``, and write down an operation for the
    rest if some may be left; whether one is running."""
    for other in rules.GOES_ON_WHILE:
        if other != kind:
            yield from stop(other, app_id, endpoint_id, now)
    n = yield from backlog_step(kind, app_id, endpoint_id, rules.FIRST, now)
    if n < rules.FIRST:
        return False
    # the same change again (a second pause) goes on with the operation already running
    if (yield execute(f"UPDATE operations SET done = done + $4 WHERE {_RUNNING}", app_id,
                      endpoint_id, kind, n)) == 0:  # fmt: skip
        yield execute(
            "INSERT INTO operations (app_id, id, kind, endpoint_id, status, done, created_at,"
            " updated_at) VALUES ($1, $2, $3, $4, 'running', $5, $6, $6)",
            app_id, new_id("op"), kind, endpoint_id, n, now,
        )  # fmt: skip
    return True


def stop(kind: str, app_id: str, endpoint_id: str, now: float) -> Tx[None]:
    """Statements: the endpoint's running ``kind`` operation stops here (canceled)."""
    yield execute(
        "UPDATE operations SET status = 'canceled', lease_owner = NULL, lease_until = NULL,"
        f" updated_at = $4 WHERE {_RUNNING}",
        app_id, endpoint_id, kind, now,
    )  # fmt: skip
