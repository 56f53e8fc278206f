"""An in-memory delivery queue: exactly the store operations the worker calls, no database.

It follows the rules the stores follow (``hookwise.store.rules``): leases and in-flight caps,
where a recorded attempt moves its delivery, failure counting and auto-pause. Time is the wall
clock (the worker compares due times with it) but never waited for:
``fast_forward`` makes every lease run out and every scheduled retry due now. Tests steer it
with ``hold`` (an operation waits for an event), ``fail`` (the next calls raise) and ``until``
(wait for a condition, re-checked whenever the queue changes).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from hookwise.delivery.turns import WriteTurn
from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.store.roles import FinishedIds, Turn
from hookwise.store.rules import attempts, leases


@dataclass
class Row:
    """One delivery: its claim as the store would read it, and its state."""

    claim: ClaimedDelivery
    status: str = "pending"  # pending, held, delivered, failed
    due: float = 0.0  # while leased: the lease's end, as the stores keep it
    lease_owner: str | None = None
    attempts: int = 0


def claim_for(i: int, *, endpoint: str = "ep_1", **fields: object) -> ClaimedDelivery:
    """The claim of delivery ``dlv_<i>`` to ``endpoint``; ``fields`` override any field."""
    claim = ClaimedDelivery(
        delivery_id=f"dlv_{i}",
        app_id="app_1",
        message_id=f"msg_{i}",
        endpoint_id=endpoint,
        job_id=None,
        attempt_count=0,
        retry_base=0,
        trigger="scheduled",
        body=b'{"i": %d}' % i,
        url=f"https://{endpoint}.example/hook",
        secrets=("whsec_x",),
        headers={},
        timeout_seconds=10.0,
        retry_schedule=(1.0, 2.0),
        rate_limit_per_second=None,
        msg_timestamp=int(time.time()),
    )
    return replace(claim, **fields)  # type: ignore[arg-type]


class MemoryQueue:
    """The delivery queue's operations over dicts, with the leases, in-flight caps and pauses
    of the real stores, and a log of what the worker asked (``calls``, ``records``,
    ``steps``)."""

    def __init__(self, *, overlapping_writes: int = 1, max_in_flight: int = 1_000_000) -> None:
        self.overlapping_writes = overlapping_writes
        self.leases_ahead = 0
        self.max_in_flight = max_in_flight  # per endpoint
        self.rows: dict[str, Row] = {}
        self.calls: Counter[str] = Counter()
        self.claim_limits: list[tuple[str, int]] = []  # (operation, limit) of every claim
        self.claimed: list[list[str]] = []  # the delivery ids each claim leased, in order
        self.records: list[list[str]] = []  # the delivery ids of each recorded batch, in order
        self.steps: list[tuple[str, int]] = []  # (step, write number) of record-and-claims
        self.slots: list[float] = []  # what reserve_send_slots answers next (then: now)
        self.failures: dict[str, list[BaseException]] = {}  # what the next calls raise
        self.counters: Counter[str] = Counter()  # each endpoint's consecutive failures
        self.paused: dict[str, str] = {}  # paused endpoints, with their reason
        self.peak_leased = 0
        self.writes = 0  # record-and-claims begun
        self._holds: dict[str, tuple[int, asyncio.Event]] = {}
        self._changed = asyncio.Event()

    # steering ---------------------------------------------------------------------------
    def add(self, *claims: ClaimedDelivery) -> None:
        """Enqueue deliveries, due now."""
        for c in claims:
            self.rows[c.delivery_id] = Row(c, due=time.time())
        self._change()

    def hold(self, operation: str, *, after: int = 0) -> asyncio.Event:
        """Calls of ``operation`` after the first ``after`` wait until the event is set."""
        gate = asyncio.Event()
        self._holds[operation] = (after, gate)
        return gate

    def fail(self, operation: str, *errors: BaseException) -> None:
        """The next calls of ``operation`` raise ``errors``, one each."""
        self.failures.setdefault(operation, []).extend(errors)

    def pause(self, endpoint: str, why: str = "paused by hand") -> None:
        """Pause ``endpoint`` as a PATCH does: its pending deliveries are held, leased ones
        too (their leases stay; a record or a release ends them)."""
        self.paused[endpoint] = why
        for r in self.rows.values():
            if r.claim.endpoint_id == endpoint and r.status == "pending":
                r.status = "held"
        self._change()

    def fast_forward(self) -> None:
        """Every lease runs out and every scheduled retry is due now."""
        now = time.time()
        for r in self.rows.values():
            if r.status == "pending":
                r.lease_owner, r.due = None, min(r.due, now)
        self._change()

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Return once ``predicate()`` holds: checked whenever the queue changes (and every
        50 ms, for what changes in the worker alone)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05)

    # views ------------------------------------------------------------------------------
    def leased(self) -> set[str]:
        """Deliveries under a valid lease."""
        now = time.time()
        return {i for i, r in self.rows.items() if r.lease_owner and r.due > now}

    def due_now(self) -> set[str]:
        """Deliveries a claim would take now (in-flight caps aside)."""
        now = time.time()
        return {i for i, r in self.rows.items() if leases.due(r.status, r.due, now)}

    def status(self, status: str) -> set[str]:
        """Deliveries in ``status`` (pending, held, delivered, failed)."""
        return {i for i, r in self.rows.items() if r.status == status}

    # the worker's operations ------------------------------------------------------------
    async def claim_due(
        self,
        *,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None = None,
        ahead: int = 0,
    ) -> list[ClaimedDelivery]:
        await self._enter("claim_due")
        self.claim_limits.append(("claim_due", limit))
        return self._claim(worker_id, limit, lease_seconds, finished, ahead)

    async def record_attempts(self, results: Sequence[AttemptResult], *, pause_after: int) -> None:
        await self._enter("record_attempts")
        self._record(results, pause_after)

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
        """The turn's points in order, as the PostgreSQL store takes them (a record may overlap
        the previous write's claim); ``steps`` logs them, and ``hold`` holds the record."""
        self.writes += 1
        n = self.writes
        turn = turn or WriteTurn()
        await turn.before_record()
        self.steps.append(("record", n))
        try:
            await self._enter("record_and_claim")
            self._record(results, pause_after)
        finally:
            self.steps.append(("recorded", n))
            turn.recorded()
        await turn.before_claim()
        self.steps.append(("claim", n))
        self.claim_limits.append(("record_and_claim", limit))
        if limit <= 0:
            return []
        return self._claim(worker_id, limit, lease_seconds, finished, ahead)

    async def release(self, claims: Sequence[ClaimedDelivery], *, at: float) -> None:
        await self._enter("release")
        for c in claims:
            row = self.rows[c.delivery_id]
            row.lease_owner, row.due = None, at
        self._change()

    async def inactive_endpoints(self, endpoint_ids: Collection[str]) -> set[str]:
        await self._enter("inactive_endpoints")
        return {e for e in endpoint_ids if e in self.paused}

    async def reserve_send_slots(self, endpoint_id: str, count: int, per_second: float) -> float:
        await self._enter("reserve_send_slots")
        return self.slots.pop(0) if self.slots else time.time()

    async def next_due_at(self) -> float | None:
        await self._enter("next_due_at")
        return min((r.due for r in self.rows.values() if r.status == "pending"), default=None)

    async def wait_for_work(self, timeout: float) -> None:
        self._changed.clear()
        try:
            async with asyncio.timeout(timeout):
                await self._changed.wait()
        except TimeoutError:
            pass

    # internals --------------------------------------------------------------------------
    async def _enter(self, operation: str) -> None:
        self.calls[operation] += 1
        self._change()
        held = self._holds.get(operation)
        if held is not None and self.calls[operation] > held[0]:
            await held[1].wait()
        errors = self.failures.get(operation)
        if errors:
            raise errors.pop(0)

    def _change(self) -> None:
        self.peak_leased = max(self.peak_leased, len(self.leased()))
        self._changed.set()

    def _claim(
        self,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None,
        ahead: int,
    ) -> list[ClaimedDelivery]:
        """Due deliveries, oldest first, no endpoint past ``max_in_flight`` (plus ``ahead``
        where no other worker leases it: ``leases``)."""
        now = time.time()
        done = set(leases.finished_ids(finished))
        in_flight = [
            r
            for i, r in self.rows.items()
            if leases.in_flight(
                r.lease_owner, r.due, i, worker_id=worker_id, finished=done, now=now
            )
        ]
        busy = Counter(r.claim.endpoint_id for r in in_flight)
        others = Counter(r.claim.endpoint_id for r in in_flight if r.lease_owner != worker_id)
        due = sorted(
            (r for r in self.rows.values() if leases.due(r.status, r.due, now)), key=lambda r: r.due
        )
        taken: list[ClaimedDelivery] = []
        for r in due:
            if len(taken) >= limit:
                break
            ep, rate = r.claim.endpoint_id, r.claim.rate_limit_per_second
            more = leases.ahead_of(
                ahead,
                others=others[ep],
                rate_limited=rate is not None,
                max_in_flight=self.max_in_flight,
            )
            if leases.room(self.max_in_flight, busy[ep], ahead=more) == 0:
                continue
            busy[ep] += 1
            r.lease_owner, r.due = worker_id, leases.lease_end(now, lease_seconds)
            taken.append(
                replace(r.claim, attempt_count=r.attempts, max_in_flight=self.max_in_flight)
            )
        self.claimed.append([c.delivery_id for c in taken])
        self._change()
        return taken

    def _record(self, results: Sequence[AttemptResult], pause_after: int) -> None:
        for res in results:
            row = self.rows[res.claimed.delivery_id]
            row.attempts += 1
            row.lease_owner = None
            outcome, next_at = attempts.outcome(res)
            if outcome == "retry":
                assert next_at is not None
                row.due = next_at
            else:
                row.status = "delivered" if outcome == "succeeded" else "failed"
        for (_, endpoint), streak in attempts.streaks(results).items():
            n = self.counters[endpoint] = attempts.counter(streak, self.counters[endpoint])
            status = "paused" if endpoint in self.paused else "active"
            why = attempts.pause(
                streak, failures=n, status=status, kind="endpoint", pause_after=pause_after
            )
            if why is not None:
                self.pause(endpoint, why)
        self.records.append([r.claimed.delivery_id for r in results])
        self._change()
