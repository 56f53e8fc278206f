"""A worker's capacity: how many more deliveries it may claim.

A delivery counts against ``concurrency`` from its claim until its result is recorded: its
lease is held that long. Two claims may be under way at once (the claim loop's and a
record-and-claim's), so each holds the room it may fill while it runs, and the two never take
more than the room between them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from hookwise.delivery import metrics


class Capacity:
    """Deliveries claimed and not yet recorded (``pending``), against ``concurrency``."""

    def __init__(self, concurrency: int, batch: int) -> None:
        self.concurrency = concurrency
        self.batch = batch  # the most one claim takes
        self.pending = 0  # claimed and not yet recorded
        self._claiming = 0  # deliveries that claims under way may still add
        #: Set when room frees (a record, an attempt given back): the claim loop looks again.
        self.freed = asyncio.Event()

    @property
    def full(self) -> bool:
        """No delivery may be claimed until one is recorded or given back."""
        return self.pending >= self.concurrency

    def room(self) -> int:
        """How many deliveries the next claim may take (claims under way hold theirs)."""
        free = self.concurrency - self.pending - self._claiming
        return max(0, min(free, self.batch))

    @contextlib.contextmanager
    def reserving(self, limit: int) -> Iterator[None]:
        """Hold ``limit`` of the room while a claim is under way (the claim loop's and the
        recorder's may overlap)."""
        self._claiming += limit
        try:
            yield
        finally:
            self._claiming -= limit

    def give_back(self, n: int) -> None:
        """``n`` claimed deliveries leave this worker unrecorded: their room is free again."""
        self.pending -= n
        metrics.IN_FLIGHT.dec(n)
        self.freed.set()
