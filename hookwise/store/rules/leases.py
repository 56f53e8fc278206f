"""The lease rules: what a claim may take, what is in flight against an endpoint's
``max_in_flight``, and when a delivery handed back is due.

A claim writes a lease into the delivery: ``lease_owner`` (the worker) and ``next_attempt_at``
set to the lease's end. So a delivery under a valid lease is never due, and one whose lease ran
out (its worker died) is due again like any other: nothing waits for a dead worker. Recording
an attempt ends its lease; so does handing a delivery back unattempted, due at a given time
(``release``: a rate-limit slot, a shutdown) or now (taking back the leases of a process found
gone: the time it was due is gone with the lease, and it was due already when claimed).

The stores say these rules in their hand-tuned SQL; ``in_flight_sql`` is the one they share.
The in-memory queue of the worker's tests calls the Python forms.
"""

from __future__ import annotations

from collections.abc import Collection

from hookwise.store.roles import FinishedIds
from hookwise.store.sql import Dialect

#: The endpoints whose deliveries a worker claims, as a condition on endpoint row ``e``: all but
#: relays, whose deliveries only a connected ``hookwise listen`` claims (``store.relays``), so
#: they wait, pending, while none is connected.
WORKERS_CLAIM = "e.kind <> 'relay'"
#: The ids of the relay endpoints, as a subquery.
RELAYS = "SELECT id FROM endpoints WHERE kind = 'relay'"


def lease_end(now: float, lease_seconds: float) -> float:
    """The ``next_attempt_at`` of a delivery claimed at ``now``: its lease's end."""
    return now + lease_seconds


def due(status: str, next_attempt_at: float, now: float) -> bool:
    """``claim_due`` may take the delivery: pending, and due (an expired lease is due)."""
    return status == "pending" and next_attempt_at <= now


def in_flight(
    lease_owner: str | None,
    lease_end: float,
    delivery_id: str,
    *,
    worker_id: str,
    finished: Collection[str],
    now: float,
) -> bool:
    """The delivery counts against its endpoint's ``max_in_flight``: its lease is valid, and
    the claiming worker does not hold it with the attempt over (``finished``: the worker's word
    about its own leases only; another worker's lease on one of those ids still counts)."""
    if lease_owner is None or lease_end <= now:
        return False
    return not (lease_owner == worker_id and delivery_id in finished)


def in_flight_sql(dialect: Dialect, d: str, *, now: str, worker: str, finished: str) -> str:
    """``in_flight`` as a condition on delivery row ``d`` (marks: ``now``, the claiming
    ``worker``, its ``finished`` ids as ``dialect.array``)."""
    mine = dialect.among(f"{d}.id", finished)  # every valid lease of the endpoint asks
    return (
        f"{d}.lease_owner IS NOT NULL AND {d}.next_attempt_at > {now}"
        f" AND NOT ({d}.lease_owner = {worker} AND {mine})"
    )


def finished_ids(finished: FinishedIds | None) -> list[str]:
    """Ask the worker, as the claim runs, which of its leases are over (none: no callback)."""
    return list(finished()) if finished is not None else []


def room(max_in_flight: int, in_flight: int, *, ahead: int = 0) -> int:
    """How many more deliveries of the endpoint a claim may lease (``ahead``: see
    ``ahead_of``)."""
    return max(0, max_in_flight + ahead - in_flight)


#: A claim leases ahead at most this many times an endpoint's ``max_in_flight``: a delivery
#: leased ahead then waits in its worker for at most that many rounds of the endpoint's
#: attempts (each at most its timeout), well within its lease, however small the cap.
AHEAD_ROUNDS = 3


def ahead_of(ahead: int, *, others: int, rate_limited: bool, max_in_flight: int) -> int:
    """How many deliveries past its ``max_in_flight`` a claim may lease of an endpoint: the
    worker's ``ahead``, at most ``AHEAD_ROUNDS`` times ``max_in_flight``, where no other
    worker holds a valid lease on it (``others``) and it has no rate limit (its sends keep
    reserved slots), else none.

    The worker starts no more of them at once than ``max_in_flight`` (``ClaimedDelivery``),
    the rest one at each answer, without waiting for a record to claim again. The cap still
    holds across workers: another worker's claim counts every lease of this one's, so it
    claims only once they are fewer than ``max_in_flight``, and then this worker, sending no
    more than its leases, and the other, no more than its own, stay within it together; and
    while another worker holds a lease there, no claim leases ahead.
    """
    if others or rate_limited:
        return 0
    return min(ahead, AHEAD_ROUNDS * max_in_flight)


def ahead_sql(ahead: str, *, others: str, rate: str, cap: str) -> str:
    """``ahead_of`` in PostgreSQL's SQL (marks or expressions: ``ahead``, ``others``,
    ``rate``: the endpoint's rate limit, NULL for none, ``cap``: its ``max_in_flight``)."""
    return (
        f"CASE WHEN {others} = 0 AND {rate} IS NULL"
        f" THEN least({ahead}, {AHEAD_ROUNDS} * {cap}) ELSE 0 END"
    )


def share(limit: int, endpoints: int) -> int:
    """How many due deliveries a claim of ``limit`` reads per endpoint with room: twice a fair
    share (at least one), so that merging them by due time still fills the claim when some
    endpoints have less due than their share."""
    return max(1, -(-limit * 2 // max(1, endpoints)))
