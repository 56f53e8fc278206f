"""The reconciler: polls the status URL of expected jobs whose webhook is overdue.

The answer is read with the receiver's job shape (hookwise's by default, or the sender's:
``{"workflow": {…}}``, a task object…). A terminal status is fed through the same path as a
webhook (``Receiver.accept``) under the expected id as dedupe key, which is the key a
completion webhook is stored under (``receiver.keys``), so whichever of the webhook and the
poll lands first is processed and the other is a duplicate: exactly once either way. An item
event never takes that key, so it does not count as the job's arrival. A job that is still
running is polled again after ``interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import orjson

from hookwise.domain.errors import HookwiseError
from hookwise.domain.text import storable
from hookwise.receiver.inbox import Expectation, NewItem

if TYPE_CHECKING:
    from hookwise.receiver.receiver import Receiver

log = logging.getLogger("hookwise.receiver.reconciler")


class Reconciler:
    """Polls overdue expected jobs; several may run against one PostgreSQL inbox."""

    def __init__(
        self,
        receiver: Receiver,
        *,
        interval: float = 30.0,
        tick: float = 1.0,
        batch_size: int = 20,
    ) -> None:
        self.receiver = receiver
        self.interval = interval
        self.tick = tick
        self.batch_size = batch_size

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll overdue jobs every ``tick`` seconds until ``stop`` is set."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.run_once()
            except HookwiseError as exc:
                log.warning("reconciler cannot reach the inbox: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.tick)

    async def run_once(self) -> int:
        """Poll every overdue expected job once; return how many results were fed in."""
        overdue = await self.receiver.inbox.claim_overdue(self.batch_size, self.interval)
        outcomes = await asyncio.gather(*(self._poll(e) for e in overdue))
        return sum(outcomes)

    async def _poll(self, expected: Expectation) -> int:
        inbox = self.receiver.inbox
        receiver = self.receiver
        try:
            state = await receiver.fetcher.job_state(expected.status_url, receiver.read_job)
        except HookwiseError as exc:
            log.warning("polling %s failed: %s", expected.key, exc)
            await inbox.settle(expected.key, error=storable(exc.message), resolved=False)
            return 0
        if not state.finished:
            await inbox.settle(expected.key, error=None, resolved=False)
            return 0
        job = state.job
        item = NewItem(
            dedupe_key=expected.key,
            event_type=expected.event_type or receiver.event_type(job, polled=True),
            body=orjson.dumps(job),
            headers={"hookwise-status-url": expected.status_url},
            source="poll",
        )
        stored = await self.receiver.accept(item)
        await inbox.settle(expected.key, error=None, resolved=True)
        if stored:
            log.info("reconciled %s by polling %s", expected.key, expected.status_url)
        return 1 if stored else 0
