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
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from hookwise.delivery import metrics
from hookwise.delivery.attempt_log import log_attempt
from hookwise.delivery.capacity import Capacity
from hookwise.delivery.due import NextDue
from hookwise.delivery.lanes import WAIT_LEASE_MIN, WATCH_EVERY, Lanes
from hookwise.delivery.outcome import decide
from hookwise.delivery.queue import Queue
from hookwise.delivery.recorder import Recorder
from hookwise.delivery.sender import SendResult
from hookwise.delivery.tasks import first_of, log_failure, wait_or
from hookwise.domain.errors import StoreUnavailable
from hookwise.domain.models import AttemptResult, ClaimedDelivery

log = logging.getLogger("hookwise.worker")

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
    shutdown_grace: float = 20.0  # a stop waits this long for attempts in flight; the rest
    # are given back, due at once, and sent again by the next worker (at least once)
    writers: int | None = None  # record-and-claim transactions under way at once (taking
    # turns); None: as many as the store gains from (``Queue.overlapping_writes``)
    ahead: int | None = None  # deliveries a claim may lease past an endpoint's max_in_flight
    # where no other worker leases it, started one at each answer (``lanes``); none once half
    # of ``concurrency`` is claimed (endpoints at their cap must not fill the worker), nor
    # under leases too short to wait (``lanes.WAIT_LEASE_MIN``); None: as many as the store
    # gains from (``Queue.leases_ahead``)


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

    Attempt tasks only send; their results are written in batches by the ``Recorder``
    (``hookwise.delivery.recorder``), each one record-and-claim transaction, up to ``writers``
    under way at once, taking turns (``WriteTurn``), each claiming again the room its record
    frees. A delivery counts against ``concurrency`` (``Capacity``) from its claim until its
    result is recorded (its lease is held that long), but against its endpoint's
    ``max_in_flight`` only until its answer arrives (claims leave out the deliveries
    ``Recorder.finished`` names). Claims may lease ahead of an endpoint's free slots; each
    endpoint's ``max_in_flight`` still bounds its attempts under way (``Lanes``). The claim
    loop here picks up what the records do not claim (new work after idling, room a short
    claim left).
    """

    def __init__(
        self,
        queue: Queue,
        sender: Transport,
        config: WorkerConfig | None = None,
        *,
        worker_id: str | None = None,
    ) -> None:
        config = config or WorkerConfig()
        self.queue = queue
        self.sender = sender
        self.worker_id = worker_id or worker_name()
        self._capacity = Capacity(config.concurrency, config.batch)
        self._due = NextDue(queue)
        self._lanes = Lanes()
        self._recorder = Recorder(
            queue,
            self._capacity,
            self._due,
            self._start,
            worker_id=self.worker_id,
            writers=config.writers or queue.overlapping_writes,
            pause_after=config.pause_after,
            lease_seconds=config.lease_seconds,
            ahead=self._ahead,
        )
        self._config = config
        self._tasks: dict[asyncio.Task[None], ClaimedDelivery] = {}

    @property
    def config(self) -> WorkerConfig:
        """How hard this worker pushes; one set later applies from the next claim on (but
        ``writers``, fixed when the worker is made)."""
        return self._config

    @config.setter
    def config(self, config: WorkerConfig) -> None:
        self._config = config
        self._capacity.concurrency = config.concurrency
        self._capacity.batch = config.batch
        self._recorder.pause_after = config.pause_after
        self._recorder.lease_seconds = config.lease_seconds

    @property
    def in_flight(self) -> int:
        """Deliveries claimed by this worker and not yet recorded."""
        return self._capacity.pending

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set, then let in-flight attempts finish and record them."""
        stop = stop or asyncio.Event()
        watch = asyncio.create_task(self._watch_lanes(stop), name="lanes-watch")
        backoff = 0.5
        try:
            while not stop.is_set():
                try:
                    full_batch = await self._claim_and_start()
                    backoff = 0.5
                    if not full_batch:
                        await self._idle(stop)
                except Exception as exc:
                    # StoreUnavailable: wait it out. Anything else is a bug (InvalidInput: the
                    # store refused a value of ours): keep trying, loudly; the worker must not
                    # die of it
                    if isinstance(exc, StoreUnavailable):
                        log.warning("claim failed, retrying in %.1fs: %s", backoff, exc)
                    else:
                        log.error("claim failed, retrying in %.1fs", backoff, exc_info=exc)
                    await wait_or(stop, backoff)
                    backoff = min(backoff * 2, 10.0)
        finally:
            if not stop.is_set():  # cancelled: a stop lets the watch finish what it began
                watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
        await self.shutdown()

    async def _watch_lanes(self, stop: asyncio.Event) -> None:
        """While claims wait in the lanes, ask the store every ``WATCH_EVERY`` seconds
        whether their endpoints are still active, and give back the waiting claims of those
        that are not (paused by hand or by another worker's record, deleted): a pause stops
        what was leased ahead within that time, not once all of it has been sent."""
        while not stop.is_set():
            await wait_or(stop, WATCH_EVERY)
            waiting = self._lanes.waiting_on()
            if not waiting or stop.is_set():
                continue
            try:
                inactive = await self.queue.inactive_endpoints(waiting)
                if inactive:
                    await self._give_back_waiting(inactive, "their endpoint is not active")
            except StoreUnavailable as exc:  # ask again next time
                log.warning("could not check the lanes' endpoints: %s", exc)
            except Exception as exc:  # a bug: keep watching, loudly
                log.error("could not check the lanes' endpoints", exc_info=exc)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Sleep until a record frees room, the next due time, a wake-up, or stop."""
        freed = self._capacity.freed
        freed.clear()
        if self._capacity.full:
            await first_of(freed.wait(), stop.wait())
            return
        timeout = self.config.poll_interval
        with contextlib.suppress(StoreUnavailable):
            due = await self._due.ask(in_flight=self._capacity.pending > 0)
            if due is not None:
                # due but unclaimable (its endpoint is at its in-flight cap): look again soon
                timeout = max(0.02, min(timeout, due - time.time()))
        await first_of(self.queue.wait_for_work(timeout), stop.wait(), freed.wait())

    def _ahead(self) -> int:
        """How many a claim may lease past an endpoint's ``max_in_flight`` now
        (``WorkerConfig.ahead``)."""
        if self.config.lease_seconds < WAIT_LEASE_MIN:
            return 0
        if self._capacity.pending >= self._capacity.concurrency // 2:
            return 0
        ahead = self.config.ahead
        return self.queue.leases_ahead if ahead is None else ahead

    async def _claim_and_start(self) -> bool:
        """Claim and start what is due; True when the claim came back full (claim again)."""
        limit = self._capacity.room()
        if limit <= 0:
            return False
        claimed_at = time.monotonic()
        with self._capacity.reserving(limit):
            claims = await self.queue.claim_due(
                worker_id=self.worker_id,
                limit=limit,
                lease_seconds=self.config.lease_seconds,
                finished=self._recorder.finished,
                ahead=self._ahead(),
            )
        await self._start(claims, claimed_at)
        return len(claims) == limit

    async def _start(self, claims: list[ClaimedDelivery], claimed_at: float) -> None:
        """Start an attempt of each claim, or let it wait in its endpoint's lane for room
        under its ``max_in_flight`` (rate-limited ones start at their reserved slots). Claims
        it could not start (the store failed a reservation or a release) stay leased: they
        are attempted again once their leases run out. ``claimed_at``: ``time.monotonic()``
        before the claim began (its leases run ``lease_seconds`` from then, or longer)."""
        if not claims:
            return
        metrics.IN_FLIGHT.inc(len(claims))
        started = 0
        try:
            limited: dict[str, list[ClaimedDelivery]] = defaultdict(list)
            laned = []
            for c in claims:
                if c.rate_limit_per_second:
                    limited[c.endpoint_id].append(c)
                else:
                    laned.append(c)
            if laned:
                self._capacity.pending += len(laned)  # under way or waiting: leased here
                started += len(laned)
                self._from_lanes(*self._lanes.add(laned, claimed_at + self.config.lease_seconds))
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
                self._capacity.pending += 1
                self._spawn(c, at, laned=False)
        return late

    def _spawn(self, claim: ClaimedDelivery, not_before: float, *, laned: bool) -> None:
        task = asyncio.create_task(self._attempt(claim, not_before, laned))
        self._tasks[task] = claim
        task.add_done_callback(self._attempted)

    def _from_lanes(self, go: list[ClaimedDelivery], drop: list[ClaimedDelivery]) -> None:
        """Start what the lanes let go, and let go of what they dropped."""
        for c in go:
            self._spawn(c, 0.0, laned=True)
        self._dropped(drop)

    def _dropped(self, claims: list[ClaimedDelivery], why: str = "waited too long") -> None:
        """Waiting claims that will not start here (their leases end too soon, or their
        endpoint is being paused): their leases run out and they are due again (``lanes``)."""
        if claims:
            log.info(
                "%d leased deliveries not started (%s); due again when their leases end",
                len(claims),
                why,
            )
            self._capacity.give_back(len(claims))

    def _attempted(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        log_failure(task, "attempt")

    async def _attempt(self, claim: ClaimedDelivery, not_before: float, laned: bool) -> None:
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
                log_attempt(result)
                self._recorder.add(result)
                if laned and result.pause_reason:
                    self._stop_lane(claim.endpoint_id)
        finally:
            if result is None:
                self._capacity.give_back(1)
            if laned:  # the next waiting claim of its endpoint takes its place (not once stopping)
                self._from_lanes(*self._lanes.done(claim, refill=not self._recorder.stopping))
            self._recorder.write_more()

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

    async def attempt_now(self, claim: ClaimedDelivery) -> AttemptResult:
        """Send one claimed delivery at once and record it (test pings)."""
        sent = await self.sender.send(claim)
        result = decide(claim, sent, retry_after_cap=self.config.retry_after_cap)
        log_attempt(result)
        await self.queue.record_attempts([result], pause_after=self.config.pause_after)
        return result

    async def shutdown(self) -> None:
        """Let in-flight attempts finish, for ``shutdown_grace`` seconds at most, and record
        everything. Attempts still running then are cancelled and their deliveries given back,
        due at once: a stop is bounded (an orchestrator's kill does not come first) and loses
        nothing (an answer that was on its way is sent again: at least once)."""
        recorder = self._recorder
        recorder.stopping = True
        await self._give_back_waiting()
        deadline = time.monotonic() + self.config.shutdown_grace
        # a record-and-claim under way when stopping began may start attempts yet, and their
        # results start writes: wait until neither is left (no claim starts now)
        while self._tasks or recorder.busy:
            recorder.write_more()
            left = deadline - time.monotonic()
            if self._tasks and left <= 0:
                await self._give_back_in_flight()
                continue
            await asyncio.wait(
                [*self._tasks, *recorder.writes], timeout=left if self._tasks else None
            )
        await self._give_back_waiting()  # those a write under way when stopping began leased
        recorder.stopping = False

    def _stop_lane(self, endpoint_id: str) -> None:
        """The endpoint asked to be paused (410 Gone): send it nothing more. Its record pauses
        it and holds its deliveries, leased ones too; the claims waiting for it are dropped
        (a release now could let a claim take them before that record is written)."""
        keep, drop = self._lanes.take_waiting([endpoint_id])
        self._dropped(keep + drop, "their endpoint answered 410 Gone")

    async def _give_back_waiting(
        self, endpoint_ids: Collection[str] | None = None, why: str = "stopping"
    ) -> None:
        """Hand the claims waiting in the lanes (``endpoint_ids``', or all) back, due now, in
        one release: they were never attempted."""
        keep, drop = self._lanes.take_waiting(endpoint_ids)
        self._dropped(drop)
        if not keep:
            return
        log.info("%d leased deliveries given back unattempted (%s)", len(keep), why)
        self._capacity.give_back(len(keep))
        await self._release_now(keep)

    async def _release_now(self, claims: list[ClaimedDelivery]) -> None:
        """Hand leased deliveries back, due now; when the store cannot take them, their leases
        run out instead and they are still sent (at least once)."""
        try:
            await self.queue.release(claims, at=time.time())
        except StoreUnavailable as exc:
            log.warning("could not give back %d deliveries: %s", len(claims), exc)

    async def _give_back_in_flight(self) -> None:
        """Cancel the attempts still running and hand their deliveries back, due now."""
        unfinished = {t: c for t, c in self._tasks.items() if not t.done()}
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        claims = list(unfinished.values())
        log.warning(
            "stopping: %d attempts still in flight after %g s given back; they are sent again",
            len(claims),
            self.config.shutdown_grace,
        )
        await self._release_now(claims)

    async def drain(self, *, timeout: float = 60.0, include_scheduled: bool = True) -> None:
        """Run until nothing is pending (or, without ``include_scheduled``, nothing is due now).

        For tests and one-shot CLI use: returns instead of sleeping forever.
        """
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if await self._claim_and_start():
                    continue
                if self._capacity.pending:
                    self._capacity.freed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._capacity.freed.wait(), 0.25)
                    continue
                due = await self.queue.next_due_at()
                if due is None or (not include_scheduled and due > time.time()):
                    return
                await self.queue.wait_for_work(max(0.0, min(0.25, due - time.time())))
            raise TimeoutError(f"deliveries still pending after {timeout} s")
        finally:
            await self.shutdown()
