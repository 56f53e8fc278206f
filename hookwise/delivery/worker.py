"""The worker loop: claim a batch under a lease → send each → record results in batches.

Retries are database state (``next_attempt_at``), never sleeps in here. The worker sleeps only
until the next delivery is due, or until the store wakes it (a new message, a resume).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from hookwise.delivery import metrics
from hookwise.delivery.outcome import decide
from hookwise.delivery.sender import SendResult
from hookwise.delivery.turns import WriteTurn
from hookwise.domain.errors import InvalidInput, StoreUnavailable
from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.store.roles import Queue

log = logging.getLogger("hookwise.worker")

_DUE_REUSE = 0.25  # seconds an answer of next_due_at is reused while attempts are in flight
_ERROR_MAX = 500  # characters of an internal error kept in the attempt log


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """How hard one worker pushes."""

    concurrency: int = 1024
    batch: int = 200
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    pause_after: int = 10
    retry_after_cap: float = 3600.0
    writers: int | None = None  # record-and-claim transactions under way at once (taking
    # turns); None: as many as the store gains from (``Queue.overlapping_writes``)


class Transport(Protocol):
    """What the worker sends with: one attempt of a claimed delivery (``HttpSender`` is the
    real one; tests pass in-memory doubles). Network trouble is a result, never an exception;
    an exception is a bug the worker survives (it is recorded as a failed attempt, "internal
    error: ...", and retried on the endpoint's schedule)."""

    async def send(self, claim: ClaimedDelivery) -> SendResult: ...


def worker_name() -> str:
    """host:pid:random, unique per worker, at most 64 characters (the leases' column): the
    host part is cut to 40 (Kubernetes pod names run to 63)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{os.urandom(3).hex()}"


class Worker:
    """Delivers due deliveries until stopped.

    Attempt tasks only send; their results are written in batches, each one record-and-claim
    transaction, up to ``writers`` under way at once, taking turns (``WriteTurn``): a batch's
    record overlaps the previous transaction's claim and commit. Results that arrive meanwhile
    wait for the next write, so batches grow with the load. A delivery
    counts against ``concurrency`` from its claim until its result is recorded (its lease is
    held that long), but against its endpoint's ``max_in_flight`` only until its answer
    arrives (claims leave out the deliveries ``_finished`` names). Each record claims again,
    in its own transaction, the room it frees, so under load the worker cycles record+claim →
    send with no moment at which freed room waits for a separate claim; the claim loop picks
    up the rest (new work after idling, room a short claim left).
    """

    def __init__(
        self,
        queue: Queue,
        sender: Transport,
        config: WorkerConfig | None = None,
        *,
        worker_id: str | None = None,
    ) -> None:
        self.queue = queue
        self.sender = sender
        self.config = config or WorkerConfig()
        self.worker_id = worker_id or worker_name()
        self._writers = self.config.writers or queue.overlapping_writes
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: list[AttemptResult] = []
        self._pending = 0  # claimed and not yet recorded
        self._writes: set[asyncio.Task[None]] = set()  # record-and-claim transactions under way
        self._last_turn: WriteTurn | None = None  # the newest write's turn
        self._recorded = asyncio.Event()
        self._claiming = 0  # deliveries that claims under way may still add
        self._stopping = False
        self._due: float | None = None  # the last answer of next_due_at, retries folded in
        self._due_asked = float("-inf")  # when it was asked (monotonic)

    @property
    def in_flight(self) -> int:
        """Deliveries claimed by this worker and not yet recorded."""
        return self._pending

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set, then let in-flight attempts finish and record them."""
        stop = stop or asyncio.Event()
        backoff = 0.5
        while not stop.is_set():
            try:
                full_batch = await self._claim_and_start()
                backoff = 0.5
                if not full_batch:
                    await self._idle(stop)
            except Exception as exc:
                # StoreUnavailable: wait it out. Anything else is a bug (InvalidInput: the store
                # refused a value of ours): keep trying, loudly; the worker must not die of it
                if isinstance(exc, StoreUnavailable):
                    log.warning("claim failed, retrying in %.1fs: %s", backoff, exc)
                else:
                    log.error("claim failed, retrying in %.1fs", backoff, exc_info=exc)
                await _wait_or(stop, backoff)
                backoff = min(backoff * 2, 10.0)
        await self.shutdown()

    async def _idle(self, stop: asyncio.Event) -> None:
        """Sleep until a record frees room, the next due time, a wake-up, or stop."""
        self._recorded.clear()
        if self._pending >= self.config.concurrency:
            await _first(self._recorded.wait(), stop.wait())
            return
        timeout = self.config.poll_interval
        with contextlib.suppress(StoreUnavailable):
            due = await self._next_due()
            if due is not None:
                # due but unclaimable (its endpoint is at its in-flight cap): look again soon
                timeout = max(0.02, min(timeout, due - time.time()))
        await _first(self.queue.wait_for_work(timeout), stop.wait(), self._recorded.wait())

    async def _next_due(self) -> float | None:
        """When a claim could next find something.

        While attempts are in flight an answer up to ``_DUE_REUSE`` old is reused: their records
        wake the loop anyway, and a claim cut short by an endpoint's in-flight cap (the usual
        case under load) would otherwise cost this query after every claim (measured on
        PostgreSQL: one 3-4 ms statement per claim). What could make work due sooner meanwhile
        wakes the loop itself (new messages, releases and due retries notify), and the retries
        this worker schedules are folded in as they are recorded.
        """
        now = time.monotonic()
        if self._pending and now - self._due_asked < _DUE_REUSE:
            return self._due
        self._due = await self.queue.next_due_at()
        self._due_asked = now
        return self._due

    def _fold_retries(self, batch: list[AttemptResult]) -> None:
        for r in batch:
            if r.next_attempt_at is not None:
                at = r.next_attempt_at.timestamp()
                if self._due is None or at < self._due:
                    self._due = at

    async def _claim_and_start(self) -> bool:
        """Claim and start what is due; True when the claim came back full (claim again)."""
        limit = self._room()
        if limit <= 0:
            return False
        with self._reserving(limit):
            claims = await self.queue.claim_due(
                worker_id=self.worker_id,
                limit=limit,
                lease_seconds=self.config.lease_seconds,
                finished=self._finished,
            )
        await self._start(claims)
        return len(claims) == limit

    def _finished(self) -> list[str]:
        """Deliveries whose attempts are over, results not yet in a record under way: no longer
        in flight, so the store does not count them against their endpoints' ``max_in_flight``
        (an endpoint's room opens when its answer arrives, not a record later). The stores ask
        when their claim runs, SQLite's from its writer thread: one atomic copy of the list."""
        return [r.claimed.delivery_id for r in tuple(self._results)]

    def _room(self) -> int:
        """How many deliveries the next claim may take (claims under way hold theirs)."""
        free = self.config.concurrency - self._pending - self._claiming
        return max(0, min(free, self.config.batch))

    @contextlib.contextmanager
    def _reserving(self, limit: int) -> Iterator[None]:
        """Hold ``limit`` of the room while a claim is under way (the claim loop's and the
        recorder's may overlap)."""
        self._claiming += limit
        try:
            yield
        finally:
            self._claiming -= limit

    async def _start(self, claims: list[ClaimedDelivery]) -> None:
        """Start an attempt of each claim (rate-limited ones at their reserved slots). Claims
        it could not start (the store failed a reservation or a release) stay leased: they are
        attempted again once their leases run out."""
        if not claims:
            return
        metrics.IN_FLIGHT.inc(len(claims))
        started = 0
        try:
            limited: dict[str, list[ClaimedDelivery]] = defaultdict(list)
            for c in claims:
                if c.rate_limit_per_second:
                    limited[c.endpoint_id].append(c)
                else:
                    self._spawn(c, 0.0)
                    started += 1
            for ep_id, group in limited.items():
                late = await self._start_rate_limited(ep_id, group)
                started += len(group) - len(late)
                if late:
                    await self.queue.release([c for c, _ in late], at=late[0][1])
        finally:
            if started < len(claims):
                metrics.IN_FLIGHT.dec(len(claims) - started)  # handed back or left leased

    async def _start_rate_limited(
        self, endpoint_id: str, group: list[ClaimedDelivery]
    ) -> list[tuple[ClaimedDelivery, float]]:
        """Start those of ``group`` whose reserved slot comes soon; the others, with their slots."""
        rate = group[0].rate_limit_per_second or 1.0
        first = await self.queue.reserve_send_slots(endpoint_id, len(group), rate)
        horizon = time.time() + self.config.lease_seconds / 2
        late = []
        for i, c in enumerate(group):
            at = first + i / rate
            if at > horizon:
                late.append((c, at))
            else:
                self._spawn(c, at)
        return late

    def _spawn(self, claim: ClaimedDelivery, not_before: float) -> None:
        self._pending += 1
        task = asyncio.create_task(self._attempt(claim, not_before))
        self._tasks.add(task)
        task.add_done_callback(self._attempted)

    def _attempted(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        _log_failure(task, "attempt")

    async def _attempt(self, claim: ClaimedDelivery, not_before: float) -> None:
        """Send, and hand the result to the writes. When the transport or ``decide`` raises,
        the attempt is recorded as failed (``_internal_error``): the retry schedule runs and
        ends it in ``failed``, visibly, rather than the lease running out again and again. An
        attempt that ends without a result (even that raised, or it was cancelled) gives its
        room back at once; its delivery stays leased and is attempted again once the lease
        runs out (at least once)."""
        result: AttemptResult | None = None
        try:
            delay = not_before - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            started, t0 = time.time(), time.perf_counter()
            try:
                sent = await self.sender.send(claim)
                result = decide(claim, sent, retry_after_cap=self.config.retry_after_cap)
            except Exception as exc:
                ms = (time.perf_counter() - t0) * 1000
                result = self._internal_error(claim, exc, started, ms)
            if result is not None:
                self._results.append(result)
        finally:
            if result is None:
                self._give_back(1)
            self._write_more()

    def _internal_error(
        self, claim: ClaimedDelivery, exc: Exception, started: float, ms: float
    ) -> AttemptResult | None:
        """A failed attempt for ``exc`` (a bug of the transport or of ``decide``), or None when
        even that cannot be made (the delivery then stays leased until its lease runs out)."""
        log.error("attempt of %s failed internally", claim.delivery_id, exc_info=exc)
        error = f"internal error: {type(exc).__name__}: {exc}"
        if len(error) > _ERROR_MAX:
            error = error[: _ERROR_MAX - 3] + "..."
        try:
            sent = SendResult(None, None, error, ms, started)
            return decide(claim, sent, retry_after_cap=self.config.retry_after_cap)
        except Exception as again:
            log.error("cannot record the failed attempt of %s", claim.delivery_id, exc_info=again)
            return None

    def _give_back(self, n: int) -> None:
        """``n`` claimed deliveries leave this worker unrecorded: their room is free again."""
        self._pending -= n
        metrics.IN_FLIGHT.dec(n)
        self._recorded.set()

    def _write_more(self) -> None:
        """Start writing the waiting results, unless ``writers`` writes are under way."""
        if self._results and len(self._writes) < self._writers:
            batch, self._results = self._results, []
            turn = self._last_turn = WriteTurn(self._last_turn)
            task = asyncio.create_task(self._write(batch, turn), name="record-and-claim")
            self._writes.add(task)
            task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writes.discard(task)
        _log_failure(task, "record-and-claim")
        self._write_more()

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
        kept = recorded = wake = False
        claims: list[ClaimedDelivery] = []
        limit = 0
        try:
            limit = 0 if self._stopping else min(self._room() + len(batch), self.config.batch)
            with self._reserving(limit):
                claims = await self.queue.record_and_claim(
                    batch,
                    pause_after=self.config.pause_after,
                    worker_id=self.worker_id,
                    limit=limit,
                    lease_seconds=self.config.lease_seconds,
                    finished=self._finished,
                    turn=turn,
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
            await self._start(claims)
        finally:
            if wake:
                self._recorded.set()

    def _settle(self, batch: list[AttemptResult], *, recorded: bool, claimed: bool) -> bool:
        """The bookkeeping of a write that is over, ``recorded`` or not (also when cancelled);
        whether the claim loop should look again once the write's claims are started."""
        if not recorded:
            self._give_back(len(batch))  # dropped: neither delivered nor failed (wakes the loop)
            return False
        was_full = self._pending >= self.config.concurrency
        self._pending -= len(batch)
        self._fold_retries(batch)
        _count(batch)
        # The claim loop looks again only when this claim may have left work behind (it came
        # back full), when the worker just fell below its concurrency, or when nothing is in
        # flight any more; otherwise it would only find nothing.
        return claimed or was_full or not self._pending

    async def attempt_now(self, claim: ClaimedDelivery) -> AttemptResult:
        """Send one claimed delivery at once and record it (test pings)."""
        sent = await self.sender.send(claim)
        result = decide(claim, sent, retry_after_cap=self.config.retry_after_cap)
        await self.queue.record_attempts([result], pause_after=self.config.pause_after)
        return result

    async def shutdown(self) -> None:
        """Let in-flight attempts finish and record everything."""
        self._stopping = True
        # a record-and-claim under way when stopping began may start attempts yet, and their
        # results start writes: wait until neither is left (no claim starts now)
        while self._tasks or self._writes or self._results:
            self._write_more()
            await asyncio.gather(*self._tasks, *self._writes, return_exceptions=True)
        self._stopping = False

    async def drain(self, *, timeout: float = 60.0, include_scheduled: bool = True) -> None:
        """Run until nothing is pending (or, without ``include_scheduled``, nothing is due now).

        For tests and one-shot CLI use: returns instead of sleeping forever.
        """
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if await self._claim_and_start():
                    continue
                if self._pending:
                    self._recorded.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._recorded.wait(), 0.25)
                    continue
                due = await self.queue.next_due_at()
                if due is None or (not include_scheduled and due > time.time()):
                    return
                await self.queue.wait_for_work(max(0.0, min(0.25, due - time.time())))
            raise TimeoutError(f"deliveries still pending after {timeout} s")
        finally:
            await self.shutdown()


def _log_failure(task: asyncio.Task[None], what: str) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s task failed", what, exc_info=task.exception())


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


async def _wait_or(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _first(*aws: object) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
