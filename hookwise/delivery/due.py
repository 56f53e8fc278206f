"""When a claim could next find something: what an idle worker sleeps until."""

from __future__ import annotations

import time
from collections.abc import Iterable

from hookwise.delivery.queue import Queue
from hookwise.domain.models import AttemptResult

_REUSE = 0.25  # seconds an answer of next_due_at is reused while attempts are in flight


class NextDue:
    """The queue's ``next_due_at``, reused briefly while attempts are in flight.

    While attempts are in flight an answer up to ``_REUSE`` old is reused: their records wake
    the loop anyway, and a claim cut short by an endpoint's in-flight cap (the usual case under
    load) would otherwise cost this query after every claim (bench/README.md has the figure).
    What could make work due sooner meanwhile wakes the loop itself (new messages, releases and
    due retries notify), and the retries this worker schedules are folded in as they are
    recorded (``fold``).
    """

    def __init__(self, queue: Queue) -> None:
        self._queue = queue
        self._due: float | None = None  # the last answer of next_due_at, retries folded in
        self._asked = float("-inf")  # when it was asked (monotonic)

    async def ask(self, *, in_flight: bool) -> float | None:
        """When a claim could next find something (epoch seconds), or None: nothing pending."""
        now = time.monotonic()
        if in_flight and now - self._asked < _REUSE:
            return self._due
        self._due = await self._queue.next_due_at()
        self._asked = now
        return self._due

    def fold(self, recorded: Iterable[AttemptResult]) -> None:
        """Take in the retries just recorded: one may be due before the last answer."""
        for r in recorded:
            if r.next_attempt_at is not None:
                at = r.next_attempt_at.timestamp()
                if self._due is None or at < self._due:
                    self._due = at
