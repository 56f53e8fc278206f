"""The queue as the worker sees it: the store operations the delivery engine drives.

The consumer declares what it needs (``store.queue.SqlQueue`` meets it on either database, and
``tests/delivery/fakes.MemoryQueue`` in the worker's unit tests), so the worker depends on this
protocol and never on a store.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.store.roles import FinishedIds, QueueStats, Turn


class Queue(Protocol):
    """The delivery engine's hot path: claim, record, release, lease and wake."""

    #: How many record-and-claim transactions a worker gains from keeping under way at once
    #: (taking turns, see ``WriteTurn``). 1 on both stores: on SQLite every write runs on one
    #: thread anyway (a second would only wait, splitting the batches and yielding the writer
    #: to the API's inserts); on PostgreSQL a record can overlap the previous claim and
    #: commit, but that measured no faster and cost more CPU per delivery.
    overlapping_writes: int
    #: How many deliveries a worker gains from leasing past an endpoint's ``max_in_flight``
    #: (``claim_due``'s ``ahead``) unless told otherwise: 192 on PostgreSQL, where a freed slot
    #: otherwise waits for the next record-and-claim's round trips and commit; 0 on SQLite,
    #: whose writes run on the worker's own machine, in its own process, where the slot's wait
    #: is short and its CPU is what bounds the drain.
    leases_ahead: int

    @property
    def lease_holder(self) -> str | None:
        """A prefix of worker ids whose leases are taken back as soon as their process is found
        gone (SQLite: ``holders``), or None where leases only expire (PostgreSQL)."""

    async def claim_due(
        self,
        *,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None = None,
        ahead: int = 0,
    ) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` due deliveries of active endpoints, oldest due first.

        A leased delivery is invisible to other claims until its lease expires (then it is due
        again: a dead worker loses nothing). No endpoint gets more leases, across all workers,
        than its ``max_in_flight``: its leased deliveries count, except those that
        ``finished`` names (asked for when the claim runs: deliveries ``worker_id`` still
        leases whose attempt is over but not yet recorded; a lease on one of them held by
        another worker still counts). Where no other worker holds a lease on an endpoint (and
        it has no rate limit), up to ``ahead`` more (``rules.leases.ahead_of``): the worker
        starts no more than ``ClaimedDelivery.max_in_flight`` of them at once.
        """

    async def claim_delivery(
        self, app_id: str, delivery_id: str, *, worker_id: str, lease_seconds: float
    ) -> ClaimedDelivery | None:
        """Lease one given delivery now, whatever its endpoint status (test pings)."""

    async def record_attempts(self, results: Sequence[AttemptResult], *, pause_after: int) -> None:
        """Store attempts and move their deliveries on, in one transaction.

        Success resets the endpoint's failure counter; a failure increments it and pauses the
        endpoint (holding its pending deliveries) once it reaches ``pause_after``, or at once
        when ``pause_reason`` is set.
        """

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
        """``record_attempts``, then ``claim_due`` in the same transaction, which sees the room
        the record freed: the worker's steady state, one round trip where it took two, with no
        moment at which that room sits unclaimed. ``finished`` is asked for after the record,
        right before the claim, so attempts that ended meanwhile free their room too. With a
        ``turn``, its three points are passed in order (a store whose writes cannot overlap
        passes them all before it writes)."""

    async def release(self, claims: Sequence[ClaimedDelivery], *, at: float) -> None:
        """Give leased deliveries back unattempted, due at ``at`` (rate limit, shutdown)."""

    async def inactive_endpoints(self, endpoint_ids: Collection[str]) -> set[str]:
        """Those of ``endpoint_ids`` whose deliveries no claim takes now: paused (by hand or
        by their failures) or deleted. The worker gives back what it leased ahead for them."""

    async def reserve_send_slots(self, endpoint_id: str, count: int, per_second: float) -> float:
        """Reserve ``count`` sends to a rate-limited endpoint; return when the first may go.

        Slots are spaced ``1 / per_second`` apart across all workers.
        """

    async def next_due_at(self) -> float | None:
        """When the earliest pending delivery becomes due (None when there is none)."""

    async def wait_for_work(self, timeout: float) -> None:
        """Return when new work may be due (a wake-up) or after ``timeout`` seconds."""

    async def queue_stats(self, app_id: str | None = None) -> QueueStats:
        """Counts of the queue: every app's, or the backlog of one app's endpoints (a deleted
        endpoint's deliveries, canceled in the background, no longer count)."""
