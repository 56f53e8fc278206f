"""The in-memory transport answers as scripted, records every request and counts sends."""

from __future__ import annotations

import asyncio

import pytest

from hookwise.delivery import MemoryTransport, Reply
from hookwise.delivery.outcome import decide
from tests.delivery.fakes import claim_for


async def test_unscripted_sends_get_the_default_and_are_recorded() -> None:
    transport = MemoryTransport()
    a, b = claim_for(1), claim_for(2, endpoint="ep_2")
    first, second = await transport.send(a), await transport.send(b)
    assert (first.status_code, first.error, first.succeeded) == (200, None, True)
    assert second.succeeded
    assert transport.requests == [a, b]
    assert transport.answered == [(a, first), (b, second)]
    assert transport.sent("ep_2") == [b]
    assert transport.sent(a.url) == [a]


async def test_a_script_answers_in_order_and_its_last_reply_repeats() -> None:
    transport = MemoryTransport(Reply(204))
    transport.script("https://ep_1.example/hook", Reply(503, retry_after="7"), Reply(200, "ok"))
    statuses = [(await transport.send(claim_for(i))) for i in range(3)]
    assert [(s.status_code, s.error, s.retry_after) for s in statuses] == [
        (503, "HTTP 503", "7"),
        (200, None, None),
        (200, None, None),
    ]
    assert statuses[1].response_body == "ok"
    assert (await transport.send(claim_for(9, endpoint="ep_9"))).status_code == 204


async def test_an_endpoint_id_script_wins_over_a_url_script() -> None:
    transport = MemoryTransport()
    claim = claim_for(1)
    transport.script(claim.url, Reply(500))
    transport.script(claim.endpoint_id, Reply(410))
    assert (await transport.send(claim)).status_code == 410


async def test_network_trouble_is_a_result_the_worker_retries() -> None:
    transport = MemoryTransport(Reply(None, error="connection refused"))
    claim = claim_for(1)
    sent = await transport.send(claim)
    assert (sent.status_code, sent.error, sent.succeeded) == (None, "connection refused", False)
    result = decide(claim, sent, retry_after_cap=60.0)
    assert not result.succeeded and result.next_attempt_at is not None


async def test_a_held_reply_answers_once_its_event_is_set() -> None:
    gate = asyncio.Event()
    transport = MemoryTransport(Reply(hold=gate))
    sends = [asyncio.create_task(transport.send(claim_for(i))) for i in range(3)]
    await transport.wait_for(lambda: transport.in_flight == 3)
    assert not any(s.done() for s in sends)
    assert transport.answered == []
    gate.set()
    results = await asyncio.gather(*sends)
    assert all(r.succeeded for r in results)
    assert (transport.in_flight, transport.peak, transport.peak_at["ep_1"]) == (0, 3, 3)


async def test_a_raising_reply_raises_and_leaves_nothing_in_flight() -> None:
    transport = MemoryTransport()
    transport.script("ep_1", Reply(raises=RuntimeError("boom")), Reply())
    with pytest.raises(RuntimeError, match="boom"):
        await transport.send(claim_for(1))
    assert transport.in_flight == 0
    assert transport.answered == []
    assert (await transport.send(claim_for(2))).succeeded
    assert len(transport.requests) == 2


async def test_wait_for_gives_up_after_its_timeout() -> None:
    transport = MemoryTransport()
    with pytest.raises(TimeoutError):
        await transport.wait_for(lambda: transport.in_flight == 1, timeout=0.01)


def test_a_script_needs_a_reply() -> None:
    with pytest.raises(ValueError, match="at least one reply"):
        MemoryTransport().script("ep_1")
