"""The worker's write pipeline: attempt results recorded in batches.

Attempt tasks only send; their results wait here and are written in batches, each one
record-and-claim transaction, up to ``writers`` under way at once, taking turns
(``hookwise.delivery.turns``): a batch's record overlaps the previous transaction's claim and
commit. Results that arrive meanwhile wait for the next write, so batches grow with the load.
Each record claims again, in its own transaction, the room it frees, and the worker starts
those claims at once, so under load it cycles record+claim → send with no moment at which freed
room waits for a separate claim.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from hookwise.delivery import metrics
from hookwise.delivery.capacity import Capacity
from hookwise.delivery.due import NextDue
from hookwise.delivery.queue import Queue
from hookwise.delivery.tasks import log_failure
from hookwise.delivery.turns import WriteTurn
from hookwise.domain.errors import InvalidInput, StoreUnavailable
from hookwise.domain.models import AttemptResult, ClaimedDelivery

log = logging.getLogger("hookwise.worker")

Start = Callable[[list[ClaimedDelivery], float], Awaitable[None]]
"""How the worker starts attempts of the claims a write made (and ``time.monotonic()`` before
the write began: their leases run from then)."""


class Recorder:
    """Records one worker's attempt results and claims the room each record frees.

    Whatever happens to a write, its batch's room is accounted for in ``capacity``: recorded,
    kept for the next write, or given back unrecorded (see ``_write``).
    """

    def __init__(
        self,
        queue: Queue,
        capacity: Capacity,
        due: NextDue,
        start: Start,
        *,
        worker_id: str,
        writers: int,
        pause_after: int,
        lease_seconds: float,
        ahead: Callable[[], int],
    ) -> None:
        self._queue = queue
        self._capacity = capacity
        self._due = due
        self._start = start
        self._worker_id = worker_id
        self._writers = writers
        self.pause_after = pause_after
        self.lease_seconds = lease_seconds
        self._ahead = ahead  # how many a claim may lease past an endpoint's max_in_flight
        self._results: list[AttemptResult] = []  # waiting for a write
        # record-and-claim transactions under way, each with its batch
        self._writes: dict[asyncio.Task[None], list[AttemptResult]] = {}
        self._last_turn: WriteTurn | None = None  # the newest write's turn
        #: Claim nothing more in a record-and-claim: the in-flight attempts are finishing.
        self.stopping = False

    @property
    def busy(self) -> bool:
        """Results wait for a write, or writes are under way."""
        return bool(self._results or self._writes)

    @property
    def writes(self) -> tuple[asyncio.Task[None], ...]:
        """The record-and-claim transactions under way."""
        return tuple(self._writes)

    def add(self, result: AttemptResult) -> None:
        """An attempt's result, for a write to come (``write_more`` starts one)."""
        self._results.append(result)

    def finished(self) -> list[str]:
        """Deliveries whose attempts are over and whose results are not yet committed (waiting
        for a write, or in a write under way): no longer in flight, so the store does not count
        them against their endpoints' ``max_in_flight`` (an endpoint's room opens when its
        answer arrives, not a record later). With two writes under way, one's claim runs while
        the other's record is not committed: its batch still holds leases there, and counted
        them as in flight (a write's batch stays named until the write ends: once committed
        its leases are over and it leaves nothing out). The stores ask when their claim runs,
        SQLite's from its writer thread: one atomic copy of each collection."""
        batches = (*tuple(self._writes.values()), tuple(self._results))
        return [r.claimed.delivery_id for batch in batches for r in batch]

    def write_more(self) -> None:
        """Start writing the waiting results, unless ``writers`` writes are under way."""
        if self._results and len(self._writes) < self._writers:
            batch, self._results = self._results, []
            turn = self._last_turn = WriteTurn(self._last_turn)
            task = asyncio.create_task(self._write(batch, turn), name="record-and-claim")
            self._writes[task] = batch
            task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writes.pop(task, None)
        log_failure(task, "record-and-claim")
        self.write_more()

    async def _write(self, batch: list[AttemptResult], turn: WriteTurn) -> None:
        """Record ``batch`` and claim, in the same transaction, the room it frees (once
        stopping, none: the in-flight attempts are finishing).

        Whatever happens, the batch's room is accounted for: recorded, kept for the next write
        (the store is unavailable), or given back unrecorded (the store refused it, or failed
        in a way it should not: its deliveries stay leased and are attempted again once the
        leases run out, at least once). In both stores an exception other than
        StoreUnavailable comes from before the commit (the transaction rolls back, claims
        and all; what runs after it only wakes waiters), so it hides no claims made here.
        """
        capacity = self._capacity
        kept = recorded = wake = False
        claims: list[ClaimedDelivery] = []
        limit = 0
        claimed_at = time.monotonic()
        try:
            limit = 0 if self.stopping else min(capacity.room() + len(batch), capacity.batch)
            with capacity.reserving(limit):
                claims = await self._queue.record_and_claim(
                    batch,
                    pause_after=self.pause_after,
                    worker_id=self._worker_id,
                    limit=limit,
                    lease_seconds=self.lease_seconds,
                    finished=self.finished,
                    turn=turn,
                    ahead=self._ahead(),
                )
            recorded = True
        except StoreUnavailable as exc:
            # Keep them for the next try. If we die first the leases expire and the
            # deliveries are attempted again (at least once).
            log.warning("could not record %d attempts yet: %s", len(batch), exc)
            self._results[:0] = batch
            kept = True
        except InvalidInput as exc:
            # The store refuses a value of the batch: trying again cannot help, and keeping
            # it would fail every later batch it joins.
            log.error("could not record %d attempts: %s", len(batch), exc)
        except Exception as exc:
            log.error("could not record %d attempts", len(batch), exc_info=exc)
        finally:
            turn.end()
            if not kept:
                wake = self._settle(batch, recorded=recorded, claimed=len(claims) == limit)
        if kept:
            await asyncio.sleep(0.5)
            return
        try:
            await self._start(claims, claimed_at)
        finally:
            if wake:
                capacity.freed.set()

    def _settle(self, batch: list[AttemptResult], *, recorded: bool, claimed: bool) -> bool:
        """The bookkeeping of a write that is over, ``recorded`` or not (also when cancelled);
        whether the claim loop should look again once the write's claims are started."""
        capacity = self._capacity
        if not recorded:
            capacity.give_back(len(batch))  # dropped: neither delivered nor failed (wakes the loop)
            return False
        was_full = capacity.full
        capacity.pending -= len(batch)
        self._due.fold(batch)
        _count(batch)
        # The claim loop looks again only when this claim may have left work behind (it came
        # back full), when the worker just fell below its concurrency, or when nothing is in
        # flight any more; otherwise it would only find nothing.
        return claimed or was_full or not capacity.pending


def _count(batch: list[AttemptResult]) -> None:
    """Metrics of a recorded batch, one lock per metric (or bucket) rather than per attempt."""
    latencies = [
        max(0.0, r.started_at.timestamp() + r.duration_ms / 1000 - r.claimed.msg_timestamp)
        for r in batch
        if r.succeeded
    ]
    succeeded = len(latencies)
    metrics.observe_many(metrics.DELIVERY_LATENCY, latencies)
    if succeeded:
        metrics.SUCCEEDED.inc(succeeded)
    if succeeded < len(batch):
        metrics.FAILED.inc(len(batch) - succeeded)
    metrics.IN_FLIGHT.dec(len(batch))
