"""A bulk resend's steps: re-queue an app's finished deliveries that match a filter (created
between two times; optionally of one endpoint, one event type; failed, or every finished one),
a bounded number of the app's deliveries looked at per step.

A step reads the app's next ``size`` deliveries in id order past the operation's keyset cursor
(``operations.after_id``), by primary key whatever the filter, and re-queues those that match
(``store/requeue.py``): the work of a step is bounded even where matches are rare, and a
delivery re-queued, attempted and failed again meanwhile is behind the cursor, never re-queued
twice. Delivery ids begin with the millisecond they were minted, when the delivery was created,
so the cursor starts at the id of ``since`` (less ``SLACK``, for clocks and the instants between
minting an id and stamping the row) and the window ends at the id of the call (plus
``SLACK``): deliveries created later are not the ones the resend was asked about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookwise.domain.ids import id_floor
from hookwise.store.filters import ID_SLACK
from hookwise.store.requeue import requeue_ids
from hookwise.store.rules.operations import RESENDS
from hookwise.store.sql import Dialect, Tx, fetch, fetchval

SLACK = ID_SLACK  # seconds between a delivery id's time and its ``created_at``, at most

# $1 app, $2 after this id, $3 before this one (the window's end), $4 rows at most; the
# filter's marks from $5
_NEXT = "FROM deliveries WHERE app_id = $1 AND id > $2 AND id < $3"


@dataclass(frozen=True, slots=True)
class Resend:
    """Which deliveries a bulk resend re-queues: the app's whose status is one of ``statuses``
    (``rules.operations.RESENDS``), created between ``since`` and ``until``, of ``endpoint_id``
    and ``event_type`` when set, with an id between ``after_id`` (those before are done) and
    ``end_id``."""

    app_id: str
    since: float
    until: float
    which: str  # a key of RESENDS: failed, all
    endpoint_id: str | None
    event_type: str | None
    after_id: str
    end_id: str

    @classmethod
    def window(
        cls,
        app_id: str,
        since: float,
        until: float,
        which: str,
        endpoint_id: str | None,
        event_type: str | None,
        *,
        asked_at: float,
        after_id: str | None = None,
    ) -> Resend:
        """The resend asked for at ``asked_at``, past ``after_id`` (from the start: None)."""
        return cls(
            app_id, since, min(until, asked_at), which, endpoint_id, event_type,
            after_id or id_floor("dlv", since - SLACK), id_floor("dlv", asked_at + SLACK),
        )  # fmt: skip

    def match(self, first: int) -> tuple[str, list[Any]]:
        """SQL true on a delivery the filter takes (marks from ``$first``), and its values.
        Written ``column || ''`` so that no planner serves it from an index on the column (all
        such rows of the app) instead of the primary key's range or list."""
        statuses = ", ".join(f"'{s}'" for s in RESENDS[self.which])
        sql = (
            f"status || '' IN ({statuses}) AND created_at >= ${first}"
            f" AND created_at <= ${first + 1}"
        )
        args: list[Any] = [self.since, self.until]
        if self.endpoint_id is not None:
            args.append(self.endpoint_id)
            sql += f" AND endpoint_id || '' = ${first + len(args) - 1}"
        if self.event_type is not None:
            args.append(self.event_type)
            sql += (
                " AND EXISTS (SELECT 1 FROM messages m WHERE m.app_id = deliveries.app_id"
                f" AND m.id = deliveries.message_id AND m.event_type = ${first + len(args) - 1})"
            )
        return sql, args


@dataclass(frozen=True, slots=True)
class Went:
    """What a step went through: ``seen`` of the app's deliveries up to ``last_id``,
    ``requeued`` of them re-queued."""

    seen: int
    requeued: int
    last_id: str


def resend_step(d: Dialect, r: Resend, size: int, now: float) -> Tx[Went]:
    """Statements: re-queue the matching deliveries among the app's next ``size``."""
    match, args = r.match(5)
    rs = yield fetch(
        f"SELECT id, CASE WHEN {match} THEN 1 ELSE 0 END AS hit {_NEXT} ORDER BY id LIMIT $4",
        r.app_id, r.after_id, r.end_id, size, *args,
    )  # fmt: skip
    if not rs:
        return Went(0, 0, r.after_id)
    hits = [x["id"] for x in rs if x["hit"]]
    n = 0
    if hits:
        again, more = r.match(4)
        n = yield from requeue_ids(d, r.app_id, hits, again, more, now)
    return Went(len(rs), n, rs[-1]["id"])


def remaining(r: Resend) -> Tx[int]:
    """Statements: how many matching deliveries are left (for an estimate)."""
    match, args = r.match(4)
    sql = f"SELECT count(*) {_NEXT} AND {match}"
    n = yield fetchval(sql, r.app_id, r.after_id, r.end_id, *args)
    return int(n or 0)
