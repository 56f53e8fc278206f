"""An in-memory delivery transport: scripted answers, every request recorded, no sockets.

The double of the ``Transport`` seam (``HttpSender`` is the real one), for fast tests of the
worker, and of users' own code around it, as httpx's ``MockTransport`` is for httpx::

    transport = MemoryTransport()
    transport.script("https://example.com/hook", Reply(503), Reply(200))
    gate = asyncio.Event()
    transport.script("ep_slow", Reply(200, hold=gate))  # answers once ``gate`` is set
    ...
    assert [c.delivery_id for c in transport.requests] == [...]
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from hookwise.delivery.sender import SendResult
from hookwise.domain.models import ClaimedDelivery


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer. ``status=None`` with an ``error`` is network trouble (a refused
    connection, a timeout); ``hold`` delays the answer until the event is set; ``raises`` makes
    the send raise instead (a bug of the transport: real ones never raise)."""

    status: int | None = 200
    body: str | None = None
    error: str | None = None
    retry_after: str | None = None
    hold: asyncio.Event | None = None
    raises: BaseException | None = None

    def result(self, started: float, duration_ms: float) -> SendResult:
        """The ``SendResult`` this reply stands for (non-2xx statuses get ``HTTP <status>``)."""
        error = self.error
        if error is None and self.status is not None and not 200 <= self.status < 300:
            error = f"HTTP {self.status}"
        return SendResult(self.status, self.body, error, duration_ms, started, self.retry_after)


class MemoryTransport:
    """A ``Transport`` that answers from scripts and records every request.

    A send to an endpoint id or URL with a script takes that script's next reply (the last one
    repeats); any other send gets ``default``. ``requests`` holds every claim sent, in the order
    the sends began; ``in_flight`` and ``peak`` count sends under way, overall and per endpoint.
    """

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.requests: list[ClaimedDelivery] = []
        self.answered: list[tuple[ClaimedDelivery, SendResult]] = []
        self.in_flight = 0
        self.peak = 0
        self.in_flight_at: Counter[str] = Counter()
        self.peak_at: Counter[str] = Counter()
        self._scripts: dict[str, list[Reply]] = {}
        self._changed = asyncio.Event()

    def script(self, target: str, *replies: Reply) -> None:
        """Answer sends to ``target`` (an endpoint id or a URL; the id wins) with ``replies``
        in order, the last one repeating."""
        if not replies:
            raise ValueError("a script needs at least one reply")
        self._scripts[target] = list(replies)

    def sent(self, target: str) -> list[ClaimedDelivery]:
        """The claims sent to ``target`` (an endpoint id or a URL), in order."""
        return [c for c in self.requests if target in (c.endpoint_id, c.url)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Return once ``predicate()`` holds, checked as each send begins and ends; raise
        ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def _next(self, claim: ClaimedDelivery) -> Reply:
        for key in (claim.endpoint_id, claim.url):
            script = self._scripts.get(key)
            if script is not None:
                return script.pop(0) if len(script) > 1 else script[0]
        return self.default

    def _moved(self, claim: ClaimedDelivery, step: int) -> None:
        self.in_flight += step
        self.in_flight_at[claim.endpoint_id] += step
        self.peak = max(self.peak, self.in_flight)
        self.peak_at[claim.endpoint_id] = max(
            self.peak_at[claim.endpoint_id], self.in_flight_at[claim.endpoint_id]
        )
        self._changed.set()

    async def send(self, claim: ClaimedDelivery) -> SendResult:
        """One attempt, answered by the script of the claim's endpoint or URL."""
        reply = self._next(claim)
        started = time.time()
        t0 = time.perf_counter()
        self.requests.append(claim)
        self._moved(claim, 1)
        try:
            if reply.hold is not None:
                await reply.hold.wait()
            else:
                await asyncio.sleep(0)  # a real send yields to the loop
            if reply.raises is not None:
                raise reply.raises
            result = reply.result(started, (time.perf_counter() - t0) * 1000)
            self.answered.append((claim, result))
            return result
        finally:
            self._moved(claim, -1)
