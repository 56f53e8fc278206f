"""Making deliveries due again by hand: the one transition a resend and a recover share.

A delivery re-queued by hand is due now, with a fresh retry schedule (``retry_base``: the
attempts so far) and trigger ``manual``; while its endpoint is paused it is held instead, and
goes out when the endpoint is re-enabled. A delivery whose endpoint is deleted stays as it is:
nothing of a deleted endpoint is ever sent, nor left pending for ever.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hookwise.store.sql import Dialect, Tx, execute

# $1 now, $2 app; the rows to change follow the WHERE (their marks from $3), which must keep
# to the app ($2): ``app_id = $2 AND …``, or ``Dialect.key_in``
_REQUEUE = (
    "UPDATE deliveries SET status = CASE WHEN EXISTS (SELECT 1 FROM endpoints e"
    " WHERE e.app_id = deliveries.app_id AND e.id = deliveries.endpoint_id"
    " AND e.status = 'paused') THEN 'held' ELSE 'pending' END, next_attempt_at = $1,"
    " retry_base = attempt_count, trigger = 'manual', lease_owner = NULL, updated_at = $1"
    " WHERE EXISTS (SELECT 1 FROM endpoints e WHERE e.app_id = deliveries.app_id"
    " AND e.id = deliveries.endpoint_id) AND "
)


def requeue_ids(
    d: Dialect, app_id: str, ids: Sequence[str], recheck: str, args: Sequence[Any], now: float
) -> Tx[int]:
    """Statements: re-queue the app's deliveries ``ids`` on which ``recheck`` still holds
    (marks from ``$4``: ``args``; on PostgreSQL a row may have changed since it was read),
    taken by key (``Dialect.key_in``); how many changed."""
    which = f"{d.key_in('deliveries', '$2', '$3')} AND {recheck}"
    return (yield from requeue(app_id, which, [d.array(ids), *args], now))


def requeue(app_id: str, which: str, args: Sequence[Any], now: float) -> Tx[int]:
    """Statements: re-queue the app's deliveries that ``which`` selects (marks from ``$3``:
    ``args``; ``$2`` is the app, and ``which`` must keep to it); how many changed."""
    n: int = yield execute(_REQUEUE + which, now, app_id, *args)
    return n
