"""The stepper: runs the bulk operations (``store.operations``) in the background, step by step.

Every process that runs workers runs one. It finds the running operations whose lease is free
(or its own, or run out: their process died), takes one step of each in turn, rests as long as
the steps took in the database (``rules.operations.rest``: a bulk change gets at most half of
the database's time), and when none is left waits until one is started in this process or
``poll_seconds`` pass (one started by another process, or left by a dead one). On a clean stop
it gives its leases up, so another process goes on at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from hookwise.domain.errors import StoreUnavailable
from hookwise.domain.ids import new_id
from hookwise.store.operations import Operations
from hookwise.store.rules import operations as rules

log = logging.getLogger("hookwise.operations")
LEASE_SECONDS = 15.0  # a step renews it every few tens of milliseconds


class Stepper:
    """Steps the running operations of one store until ``run``'s ``stop`` is set."""

    def __init__(
        self,
        operations: Operations,
        *,
        owner: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = 1.0,
    ) -> None:
        self.operations = operations
        self.owner = owner or new_id("stp")
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self._sizes: dict[str, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Step operations until ``stop``; a store that is down is tried again next round."""
        try:
            while not stop.is_set():
                try:
                    busy = await self.round()
                except StoreUnavailable as exc:
                    log.warning("operations: store unavailable: %s", exc)
                    busy = 0.0
                if busy:
                    await _until(stop, asyncio.sleep(rules.rest(busy)))
                else:
                    await _until(stop, self.operations.wait_for_start(self.poll_seconds))
        finally:
            with contextlib.suppress(StoreUnavailable):
                await self.operations.let_go(self.owner)

    async def round(self) -> float:
        """One step of each operation this stepper may take; the seconds they took (0: none)."""
        busy = 0.0
        for op in await self.operations.leasable(self.owner):
            size = self._sizes.get(op.id, rules.FIRST)
            step = await self.operations.step(
                op, owner=self.owner, size=size, lease_seconds=self.lease_seconds
            )
            if step is None or step.status != "running":
                self._sizes.pop(op.id, None)
                if step is not None:
                    log.info("operations: %s %s %s", op.kind, op.id, step.status)
                continue
            busy += step.seconds
            self._sizes[op.id] = rules.next_size(size, step.seconds)
        return busy


async def _until(stop: asyncio.Event, aw: Awaitable[None]) -> None:
    """Await ``aw``, or less: until ``stop`` is set."""
    waiting = asyncio.ensure_future(aw)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (waiting, stopping):
            t.cancel()
        await asyncio.gather(waiting, stopping, return_exceptions=True)
