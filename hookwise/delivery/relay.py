"""The server's side of one ``hookwise listen`` connection: claim → send down → record.

A listener's session is a worker whose transport is the connection. It claims its relay
endpoint's due deliveries (``Relays.claim_relayed``, leased like a worker's claims), sends each
down as a ``RelayRequest`` with the headers and body a worker would have POSTed (signed with the
endpoint's secrets), and records each ``RelayAnswer`` through the workers' own path: ``decide``
(retry schedule, Retry-After, 410 pause) and ``Queue.record_attempts`` (attempt log, failure
counting, auto-pause). When the connection ends, the deliveries still in flight are handed back
due now for the next listener; if the process dies instead, their leases run out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import Protocol

from hookwise.delivery.outcome import decide
from hookwise.delivery.queue import Queue
from hookwise.delivery.sender import USER_AGENT, SendResult, answer_error
from hookwise.delivery.tasks import first_of
from hookwise.domain.errors import HookwiseError, InvalidInput, StoreUnavailable
from hookwise.domain.models import ClaimedDelivery, Endpoint
from hookwise.domain.relay import RelayAnswer, RelayRequest, decode
from hookwise.domain.signing import Signer
from hookwise.domain.text import storable
from hookwise.store.relays import RelayClaim

log = logging.getLogger("hookwise.relay")


class Channel(Protocol):
    """The connection to the listener (Starlette's ``WebSocket`` is one); ``receive_text``
    raises once it is closed."""

    async def send_text(self, data: str) -> None: ...

    async def receive_text(self) -> str: ...


class RelayClaims(Protocol):
    """The claims of a relay endpoint's deliveries (the store's ``Relays``)."""

    async def claim_relayed(
        self, app_id: str, endpoint_id: str, *, worker_id: str, limit: int, lease_seconds: float
    ) -> list[RelayClaim]: ...

    async def next_relayed_at(self, app_id: str, endpoint_id: str) -> float | None: ...


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """How a session claims: ``concurrency`` attempts in flight at most, under leases of
    ``lease_seconds``; retries and pauses as the workers' (``WorkerConfig``)."""

    concurrency: int = 16
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    pause_after: int = 10
    retry_after_cap: float = 3600.0


def relay_worker_id(lease_holder: str | None) -> str:
    """The lease owner of a session: under this process's lease holder when the store has one
    (a process found gone has its leases taken back at once), else a name of its own."""
    tag = f"relay-{os.getpid()}-{os.urandom(3).hex()}"
    return tag if lease_holder is None else f"{lease_holder}:{tag}"


def request(c: RelayClaim, timestamp: int) -> RelayRequest:
    """The frame of one attempt: the headers a worker sends (custom ones, the signatures of
    every valid secret, the content type) and the exact body."""
    claim = c.claim
    headers: dict[str, str] = {}
    if not any(k.lower() == "user-agent" for k in claim.headers):
        headers["User-Agent"] = USER_AGENT
    headers.update(claim.headers)
    headers.update(
        Signer.from_secrets(claim.secrets).headers(claim.message_id, timestamp, claim.body)
    )
    headers["Content-Type"] = "application/json"
    return RelayRequest(
        claim.delivery_id, claim.message_id, c.event_type, claim.attempt_count + 1,
        claim.timeout_seconds, headers, claim.body,
    )  # fmt: skip


def sent(answer: RelayAnswer, started: float, now: float) -> SendResult:
    """The ``SendResult`` of a listener's answer to a request sent at ``started``: its status
    judged as a worker judges it; its duration the local one, never more than the round trip."""
    elapsed = max(0.0, (now - started) * 1000)
    ms = min(answer.duration_ms, elapsed)
    body = storable(answer.body) if answer.body else None
    if answer.status is None:
        return SendResult(None, None, storable(answer.error or "no answer"), ms, started)
    error = answer_error(answer.status, answer.location)
    return SendResult(answer.status, body, error, ms, started, answer.retry_after)


class RelaySession:
    """Feeds one connected listener the deliveries of its relay endpoint until it goes."""

    def __init__(
        self,
        relays: RelayClaims,
        queue: Queue,
        endpoint: Endpoint,
        channel: Channel,
        config: RelayConfig,
        *,
        worker_id: str,
    ) -> None:
        self._relays = relays
        self._queue = queue
        self._endpoint = endpoint
        self._channel = channel
        self._config = config
        self._worker_id = worker_id
        self._in_flight: dict[str, tuple[ClaimedDelivery, float]] = {}
        self._freed = asyncio.Event()
        self._closed = asyncio.Event()

    async def run(self) -> None:
        """Claim and send until the connection closes; then hand back what is in flight."""
        reader = asyncio.create_task(self._answers(), name="relay-answers")
        try:
            while not self._closed.is_set():
                try:
                    room = self._config.concurrency - len(self._in_flight)
                    if not (room > 0 and await self._claim_and_send(room)):
                        await self._idle()
                except StoreUnavailable as exc:
                    log.warning("relay %s: store unavailable: %s", self._endpoint.id, exc)
                    await first_of(asyncio.sleep(1.0), self._closed.wait())
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await self._hand_back()

    async def _claim_and_send(self, room: int) -> bool:
        """Claim up to ``room`` and send them down; True when the claim came back full."""
        ep = self._endpoint
        got = await self._relays.claim_relayed(
            ep.app_id, ep.id, worker_id=self._worker_id, limit=room,
            lease_seconds=self._config.lease_seconds,
        )  # fmt: skip
        for c in got:
            now = time.time()
            self._in_flight[c.claim.delivery_id] = (c.claim, now)
            await self._channel.send_text(request(c, int(now)).encode())
        return len(got) == room

    async def _idle(self) -> None:
        """Wait for room, new work, the next due time, or the end of the connection."""
        self._freed.clear()
        if len(self._in_flight) >= self._config.concurrency:
            await first_of(self._freed.wait(), self._closed.wait())
            return
        timeout = self._config.poll_interval
        due = await self._relays.next_relayed_at(self._endpoint.app_id, self._endpoint.id)
        if due is not None:
            timeout = max(0.02, min(timeout, due - time.time()))
        await first_of(self._queue.wait_for_work(timeout), self._freed.wait(), self._closed.wait())

    async def _answers(self) -> None:
        """Record each answer as it comes, until the connection closes."""
        try:
            while True:
                try:
                    text = await self._channel.receive_text()
                except Exception:  # closed, or killed: the connection is over
                    return
                await self._answered(text)
        finally:
            self._closed.set()

    async def _answered(self, text: str) -> None:
        try:
            answer = decode(text)
            if not isinstance(answer, RelayAnswer):
                raise InvalidInput("type", "a listener sends answers only")
        except InvalidInput as exc:
            log.warning("relay %s: a frame refused: %s", self._endpoint.id, exc.message)
            return
        held = self._in_flight.pop(answer.delivery_id, None)
        if held is None:
            return  # not (or no longer) this session's: its lease is someone else's now
        claim, started = held
        result = decide(claim, sent(answer, started, time.time()),
                        retry_after_cap=self._config.retry_after_cap)  # fmt: skip
        try:
            await self._queue.record_attempts([result], pause_after=self._config.pause_after)
        except HookwiseError as exc:  # the lease runs out: attempted again (at least once)
            log.warning(
                "relay %s: could not record %s: %s", self._endpoint.id, claim.delivery_id, exc
            )
        self._freed.set()

    async def _hand_back(self) -> None:
        """The deliveries still in flight, due now for the next listener."""
        claims = [c for c, _ in self._in_flight.values()]
        self._in_flight.clear()
        if claims:
            try:
                await self._queue.release(claims, at=time.time())
            except HookwiseError as exc:  # their leases run out instead
                log.warning(
                    "relay %s: could not hand back %d: %s", self._endpoint.id, len(claims), exc
                )
