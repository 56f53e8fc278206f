"""The server's side of a listener's connection, through in-memory doubles (no sockets)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from hookwise.delivery.relay import RelayConfig, RelaySession, request, sent
from hookwise.domain.errors import StoreUnavailable
from hookwise.domain.models import AttemptResult, ClaimedDelivery, Endpoint
from hookwise.domain.relay import RelayAnswer, RelayRequest, decode
from hookwise.domain.signing import Verifier
from hookwise.store.relays import RelayClaim
from tests.delivery.fakes import claim_for

_EP = Endpoint(
    id="ep_1", app_id="app_1", url="relay://dev", description="", events=(), secret="whsec_x",
    previous_secrets=(), retry_schedule=(1.0,), timeout_seconds=10.0, rate_limit_per_second=None,
    max_in_flight=64, headers={}, status="active", paused_reason=None, consecutive_failures=0,
    kind="relay", created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
)  # fmt: skip


class Doubles:
    """The relay claims, the queue and the connection of one session, in memory."""

    def __init__(self, claims: list[ClaimedDelivery]) -> None:
        self.due = list(claims)
        self.recorded: list[AttemptResult] = []
        self.released: list[str] = []
        self.sent: asyncio.Queue[RelayRequest] = asyncio.Queue()
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()  # None: the listener went
        self.fail_claims = 0

    # RelayClaims
    async def claim_relayed(
        self, app_id: str, endpoint_id: str, *, worker_id: str, limit: int, lease_seconds: float
    ) -> list[RelayClaim]:
        if self.fail_claims:
            self.fail_claims -= 1
            raise StoreUnavailable("down")
        got, self.due = self.due[:limit], self.due[limit:]
        return [RelayClaim(c, "user.created") for c in got]

    async def next_relayed_at(self, app_id: str, endpoint_id: str) -> float | None:
        return None

    # Queue (the part a session uses)
    async def record_attempts(self, results: Sequence[AttemptResult], *, pause_after: int) -> None:
        self.recorded.extend(results)

    async def release(self, claims: Sequence[ClaimedDelivery], *, at: float) -> None:
        self.released.extend(c.delivery_id for c in claims)

    async def wait_for_work(self, timeout: float) -> None:
        await asyncio.sleep(min(timeout, 0.01))

    # Channel
    async def send_text(self, data: str) -> None:
        frame = decode(data)
        assert isinstance(frame, RelayRequest)
        await self.sent.put(frame)

    async def receive_text(self) -> str:
        text = await self.inbox.get()
        if text is None:
            raise ConnectionError("closed")
        return text


def _session(d: Doubles, concurrency: int = 2) -> RelaySession:
    config = RelayConfig(concurrency=concurrency, poll_interval=0.01)
    return RelaySession(d, d, _EP, d, config, worker_id="relay-1")  # type: ignore[arg-type]


async def test_answers_are_recorded_and_what_is_in_flight_is_handed_back() -> None:
    d = Doubles([claim_for(i) for i in range(3)])
    d.fail_claims = 1  # a store outage costs a second, not the session
    run = asyncio.create_task(_session(d).run())
    first, second = await d.sent.get(), await d.sent.get()
    assert d.sent.empty()  # concurrency 2: the third waits for an answer
    await d.inbox.put("not json")  # refused, and the session goes on
    await d.inbox.put(RelayAnswer(first.delivery_id, 500, 3.0).encode())
    third = await d.sent.get()
    await d.inbox.put(RelayAnswer("dlv_unknown", 200, 1.0).encode())  # not this session's
    await d.inbox.put(RelayAnswer(third.delivery_id, 204, 2.0, body="ok").encode())
    await d.inbox.put(None)  # the listener is gone with ``second`` in flight
    await asyncio.wait_for(run, 5)
    assert [(r.claimed.delivery_id, r.status_code, r.succeeded) for r in d.recorded] == [
        (first.delivery_id, 500, False),
        (third.delivery_id, 204, True),
    ]
    assert d.recorded[0].error_message == "HTTP 500" and d.recorded[0].next_attempt_at
    assert d.released == [second.delivery_id]


def test_a_request_carries_what_a_worker_would_post() -> None:
    claim = claim_for(1, headers={"X-Tenant": "t1"}, secrets=("whsec_eA==", "whsec_eQ=="))
    req = request(RelayClaim(claim, "user.created"), int(time.time()))
    assert (req.body, req.attempt, req.event_type) == (claim.body, 1, "user.created")
    assert req.headers["X-Tenant"] == "t1" and req.headers["Content-Type"] == "application/json"
    assert req.headers["webhook-signature"].count("v1,") == 2  # one per valid secret
    for secret in claim.secrets:
        Verifier.from_secrets(secret).verify(req.body, req.headers)


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        (RelayAnswer("d", 200, 5.0), 200, None),
        (
            RelayAnswer("d", 302, 5.0, location="http://x/y"),
            302,
            "redirect to http://x/y not followed",
        ),
        (RelayAnswer("d", 503, 5.0, retry_after="7"), 503, "HTTP 503"),
        (RelayAnswer("d", None, 5.0, error="connection refused"), None, "connection refused"),
    ],
)
def test_an_answer_is_judged_as_a_worker_judges_one(
    answer: RelayAnswer, status: int | None, error: str | None
) -> None:
    started = time.time()
    result = sent(answer, started, started + 0.002)  # the round trip: 2 ms
    assert (result.status_code, result.error) == (status, error)
    assert result.duration_ms == pytest.approx(2.0, abs=0.01)  # the round trip, not 5 ms
    assert result.retry_after == answer.retry_after
