"""The processor: claims stored webhooks and runs their handlers, with retries and a dead state.

A retry is inbox state (``attempts``, ``next_try_at``), never a sleep: a failed item goes
back to ``received`` with ``next_try_at`` from the receiver's retry schedule, and after the
last retry to ``dead``, where ``hookwise receive dead list|retry`` finds it. Outcomes are
written in batches: one statement per loop turn for all the items that finished.

Handlers must be idempotent for the rare case at-least-once cannot avoid: a process that dies
after a handler finished but before its outcome was written runs it again once the lease ends.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from hookwise.domain.errors import HookwiseError
from hookwise.domain.text import storable
from hookwise.receiver.errors import PermanentFailure
from hookwise.receiver.event import Event, Handler
from hookwise.receiver.inbox import Failure, InboxItem

if TYPE_CHECKING:
    from hookwise.receiver.receiver import Receiver

log = logging.getLogger("hookwise.receiver.processor")


class Processor:
    """Runs handlers for inbox items; many may share one PostgreSQL inbox.

    ``concurrency`` items run at once; a claimed item is leased for ``lease_seconds`` and a
    handler that takes longer than ``handler_timeout`` (default: 80 % of the lease) fails.
    Sync handlers run in a worker thread, async ones on the loop.
    """

    def __init__(
        self,
        receiver: Receiver,
        *,
        concurrency: int = 16,
        lease_seconds: float = 300.0,
        poll_interval: float = 1.0,
        handler_timeout: float | None = None,
        shutdown_grace: float = 10.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.receiver = receiver
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.handler_timeout = handler_timeout or lease_seconds * 0.8
        self.shutdown_grace = shutdown_grace
        self._done: list[tuple[str, int]] = []
        self._failed: list[Failure] = []
        self._soonest: float | None = None

    async def run(self, stop: asyncio.Event | None = None, *, drain: bool = False) -> None:
        """Process until ``stop`` is set; with ``drain``, return once nothing is due."""
        stop = stop or asyncio.Event()
        inflight: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                await self._flush()
                inflight = {t for t in inflight if not t.done()}
                claimed = await self._claim(self.concurrency - len(inflight))
                inflight.update(asyncio.create_task(self._run_item(i)) for i in claimed)
                if drain and not inflight:
                    return
                await self._pause(inflight, stop, busy=bool(claimed))
        finally:
            # Unfinished items keep their lease and run again later; handlers are idempotent.
            if inflight:
                _, late = await asyncio.wait(inflight, timeout=self.shutdown_grace)
                for task in late:
                    task.cancel()
            await self._flush()

    async def drain(self) -> None:
        """Process everything that is due now, then return (for tests and one-shot jobs)."""
        await self.run(drain=True)

    async def _claim(self, free: int) -> list[InboxItem]:
        if free <= 0:
            return []
        try:
            return await self.receiver.inbox.claim(free, self.lease_seconds)
        except HookwiseError as exc:
            log.warning("cannot claim from the inbox: %s", exc)
            return []

    async def _pause(
        self, inflight: set[asyncio.Task[None]], stop: asyncio.Event, *, busy: bool
    ) -> None:
        """Wait for a finished handler, a new item, ``stop``, or the poll interval."""
        if busy and len(inflight) < self.concurrency:
            return  # more may be due right now
        timeout = self.poll_interval
        if self._soonest is not None:
            # A retry this process scheduled is due sooner than the next poll: wake for it.
            timeout = max(0.0, min(timeout, self._soonest - time.monotonic()))
            self._soonest = None
        waiters = {
            asyncio.create_task(self.receiver.inbox.wait(timeout)),
            asyncio.create_task(stop.wait()),
        }
        try:
            done, _ = await asyncio.wait(
                inflight | waiters, timeout=timeout, return_when="FIRST_COMPLETED"
            )
        finally:
            for w in waiters:
                w.cancel()
        inflight.difference_update(done)

    async def _flush(self) -> None:
        done, failed = self._done, self._failed
        self._done, self._failed = [], []
        try:
            await self.receiver.inbox.complete(done)
            await self.receiver.inbox.fail(failed)
        except HookwiseError as exc:
            # Keep them; updates are fenced by attempts, so writing them twice is harmless.
            log.warning("cannot record outcomes yet: %s", exc)
            self._done[:0], self._failed[:0] = done, failed

    async def _run_item(self, item: InboxItem) -> None:
        try:
            event = await self._event(item)
            handlers = self.receiver.handlers_for(event.type)
            if not handlers:
                log.warning(
                    "no handler for %r: item %s marked done unprocessed", event.type, item.id
                )
            for handler in handlers:
                await asyncio.wait_for(_call(handler, event), self.handler_timeout)
        except Exception as exc:
            self._failed.append(self._failure(item, exc))
        else:
            self._done.append((item.id, item.attempts))

    def _failure(self, item: InboxItem, exc: Exception) -> Failure:
        error = storable(f"{type(exc).__name__}: {exc}")
        delay = (
            None
            if isinstance(exc, PermanentFailure)
            else self.receiver.retry.next_delay(item.attempts)
        )
        if delay is None:
            log.error("dead-lettered %s after %d attempts: %s", item.id, item.attempts, error)
            return Failure(item.id, item.attempts, error, None)
        log.warning("handler failed for %s (attempt %d): %s", item.id, item.attempts, error)
        when = datetime.now(UTC) + timedelta(seconds=delay)
        due = time.monotonic() + delay
        self._soonest = due if self._soonest is None else min(self._soonest, due)
        return Failure(item.id, item.attempts, error, when)

    async def _event(self, item: InboxItem) -> Event:
        payload: dict[str, Any] = orjson.loads(item.body)
        truncated = payload.get("results_truncated")
        if isinstance(truncated, int) and truncated > 0:
            url = payload.get("results_endpoint")
            url = url if isinstance(url, str) and url else self.receiver.url_of(payload)
            if url is not None:  # else the handler gets what came, as before status_url
                rows = await self.receiver.fetcher.all_results(url, self.receiver.read_job)
                payload[self.receiver.shape.results] = rows
                payload["results_truncated"] = 0
        return Event(
            id=item.id,
            key=item.dedupe_key,
            type=item.event_type,
            payload=payload,
            headers=item.headers,
            source=item.source,
            attempt=item.attempts,
            received_at=item.received_at,
        )


async def _call(handler: Handler, event: Event) -> None:
    # Sync handlers run in a thread: they must not stall the loop that ACKs webhooks.
    if inspect.iscoroutinefunction(handler):
        await handler(event)
        return
    result = await asyncio.to_thread(handler, event)
    if inspect.isawaitable(result):
        await result
