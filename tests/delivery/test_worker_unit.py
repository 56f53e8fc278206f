"""The worker's logic, through its two seams' doubles: an in-memory queue and transport.

Shutdown, write turns, capacity, a batch the store refuses and an exception in any step, each
checked by what is visible (what was sent, recorded, left leased, counted), in milliseconds:
no sockets, no database, no sleeps (tests wait for conditions; time is fast-forwarded).
The real parts are checked against real stores and servers in the other tests of this folder.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hookwise.delivery import metrics, outcome, worker
from hookwise.delivery.capacity import Capacity
from hookwise.delivery.due import NextDue
from hookwise.delivery.memory import MemoryTransport, Reply
from hookwise.delivery.recorder import Recorder
from hookwise.delivery.sender import SendResult
from hookwise.delivery.worker import Worker, WorkerConfig
from hookwise.domain.errors import InvalidInput
from hookwise.domain.models import ClaimedDelivery
from tests.delivery.fakes import MemoryQueue, claim_for

CONFIG = WorkerConfig(concurrency=4, batch=4, lease_seconds=60.0, poll_interval=30.0)


class Injected(RuntimeError):
    """The failure the tests inject (a bug of the transport, the outcome or the store)."""


def _worker(queue: MemoryQueue, transport: MemoryTransport, **config: Any) -> Worker:
    cfg = dataclasses.replace(CONFIG, **config)
    return Worker(queue, transport, cfg, worker_id="w1")  # type: ignore[arg-type]


def _backlog(queue: MemoryQueue, n: int, **fields: Any) -> set[str]:
    claims = [claim_for(i, **fields) for i in range(n)]
    queue.add(*claims)
    return {c.delivery_id for c in claims}


async def _yield(rounds: int = 50) -> None:
    """Let every ready task run (a bounded number of loop turns, no time passes)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def _counted() -> tuple[float, float, float]:
    return (
        metrics.SUCCEEDED._value.get(),
        metrics.FAILED._value.get(),
        metrics.IN_FLIGHT._value.get(),
    )


async def _deliver_all(w: Worker, queue: MemoryQueue, want: set[str]) -> None:
    """Run ``w`` until every delivery of ``want`` is recorded delivered; whenever it can do no
    more without time passing (nothing in flight, nothing due), leases run out and retries
    come due at once. Then stop it and check that it holds nothing."""
    stop = asyncio.Event()
    running = asyncio.create_task(w.run(stop))

    def done() -> bool:
        return queue.status("delivered") >= want

    def stalled() -> bool:
        return running.done() or done() or (w.in_flight == 0 and not queue.due_now())

    try:
        for _ in range(10):
            await queue.until(stalled)
            if running.done():
                running.result()  # the worker died: show why
            if done():
                break
            queue.fast_forward()
        await queue.until(lambda: w.in_flight == 0)
    finally:
        stop.set()
        await asyncio.wait_for(running, 5)
    assert queue.status("delivered") == want
    assert queue.leased() == set()
    assert w.in_flight == 0


async def test_shutdown_waits_for_attempts_in_flight_and_records_them() -> None:
    queue = MemoryQueue()
    _backlog(queue, 10)
    gate = asyncio.Event()
    transport = MemoryTransport(Reply(200, hold=gate))
    w = _worker(queue, transport)
    before = _counted()
    stop = asyncio.Event()
    running = asyncio.create_task(w.run(stop))
    await transport.wait_for(lambda: transport.in_flight == CONFIG.concurrency)
    stop.set()
    await _yield()
    assert not running.done()  # waiting for the answers
    gate.set()
    await asyncio.wait_for(running, 5)
    sent = {c.delivery_id for c in transport.requests}
    assert len(sent) == CONFIG.concurrency  # nothing claimed once stopping
    assert queue.status("delivered") == sent  # every attempt in flight recorded
    assert queue.leased() == set()
    assert len(queue.status("pending")) == 10 - CONFIG.concurrency
    assert [lim for op, lim in queue.claim_limits if op == "record_and_claim"] == [0] * len(
        queue.records
    )
    assert w.in_flight == 0
    after = _counted()
    assert (after[0] - before[0], after[2] - before[2]) == (CONFIG.concurrency, 0)


@pytest.mark.parametrize(
    ("overlapping", "writers", "batches"),
    [
        (2, None, [["dlv_0"], ["dlv_1"], ["dlv_2", "dlv_3"]]),  # the store's overlap
        (2, 1, [["dlv_0"], ["dlv_1", "dlv_2", "dlv_3"]]),  # the config caps it
        (1, None, [["dlv_0"], ["dlv_1", "dlv_2", "dlv_3"]]),
    ],
)
async def test_writes_take_turns_and_batches_grow_while_they_wait(
    overlapping: int, writers: int | None, batches: list[list[str]]
) -> None:
    queue = MemoryQueue(overlapping_writes=overlapping)
    want = _backlog(queue, 4)
    gate = queue.hold("record_and_claim")
    transport = MemoryTransport()
    w = _worker(queue, transport, writers=writers)
    stop = asyncio.Event()
    running = asyncio.create_task(w.run(stop))
    under_way = writers or overlapping
    await queue.until(lambda: len(transport.answered) == 4 and queue.writes == under_way)
    await _yield()
    # the first record is held: a second write is under way but waits for its turn to record
    assert queue.writes == under_way
    assert queue.steps == [("record", 1)]
    gate.set()
    await queue.until(lambda: queue.status("delivered") == want and w.in_flight == 0)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert queue.records == batches
    # each record starts once the previous one is done, each claim once the previous claimed
    steps = queue.steps
    for n in range(2, len(batches) + 1):
        assert steps.index(("record", n)) > steps.index(("recorded", n - 1))
        assert steps.index(("claim", n)) > steps.index(("claim", n - 1))


async def test_a_write_under_way_still_names_its_batch_finished() -> None:
    """On PostgreSQL one write's claim runs while the next write's record is not committed:
    that batch's deliveries are still leased there, their answers in. The worker names them
    finished (not in flight) until their write is over, as it does the answers waiting for a
    write."""
    queue = MemoryQueue(overlapping_writes=2)
    claims = _claims(range(5), endpoint="ep_1", queue=queue)
    gate = queue.hold("record_and_claim")  # every record waits

    async def start(claims: list[ClaimedDelivery], claimed_at: float) -> None:
        return None

    capacity = Capacity(concurrency=8, batch=8)
    capacity.pending = len(claims)
    recorder = Recorder(
        queue, capacity, NextDue(queue), start,  # type: ignore[arg-type]
        worker_id="w1", writers=2, pause_after=10, lease_seconds=60.0, ahead=lambda: 0,
    )  # fmt: skip

    def answered(c: ClaimedDelivery) -> None:
        sent = SendResult(200, "ok", None, 1.0, time.time())
        recorder.add(outcome.decide(c, sent, retry_after_cap=60.0))

    for c in claims[:2]:
        answered(c)
    recorder.write_more()  # write 1: dlv_0, dlv_1, held in its record
    for c in claims[2:4]:
        answered(c)
    recorder.write_more()  # write 2: dlv_2, dlv_3, waiting for its turn to record
    answered(claims[4])  # waits for a write
    await _yield()
    assert queue.writes == 2 and queue.steps == [("record", 1)]
    assert sorted(recorder.finished()) == [f"dlv_{i}" for i in range(5)]
    gate.set()
    await queue.until(lambda: not recorder.busy)
    assert queue.records == [["dlv_0", "dlv_1"], ["dlv_2", "dlv_3"], ["dlv_4"]]
    assert recorder.finished() == []


async def test_claims_under_way_hold_their_room() -> None:
    """The claim loop's claim and a record's claim overlap: together they never lease more
    than ``concurrency``."""
    queue = MemoryQueue()
    want = _backlog(queue, 10)
    sends = asyncio.Event()
    transport = MemoryTransport()
    transport.script("ep_1", Reply(), Reply(), Reply(), Reply(hold=sends))
    w = _worker(queue, transport, batch=3)
    claim = queue.hold("claim_due", after=1)  # the claim loop's second claim waits
    stop = asyncio.Event()
    running = asyncio.create_task(w.run(stop))
    # the first claim's three are recorded; the records claimed more, whose sends hang
    await queue.until(lambda: len(queue.status("delivered")) == 3 and queue.calls["claim_due"] == 2)
    await transport.wait_for(lambda: transport.in_flight == CONFIG.concurrency - 1)
    claim.set()
    await transport.wait_for(lambda: transport.in_flight == CONFIG.concurrency)
    await _yield()
    assert len(queue.leased()) == CONFIG.concurrency
    sends.set()
    await queue.until(lambda: queue.status("delivered") == want and w.in_flight == 0)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert queue.peak_leased == CONFIG.concurrency  # reached, never exceeded
    assert transport.peak == CONFIG.concurrency


async def test_an_endpoint_never_has_more_than_max_in_flight() -> None:
    queue = MemoryQueue(max_in_flight=2)
    want = _backlog(queue, 12, endpoint="ep_a") | {
        c.delivery_id for c in _claims(range(12, 24), endpoint="ep_b", queue=queue)
    }
    transport = MemoryTransport()
    w = _worker(queue, transport, concurrency=16, batch=16)
    await _deliver_all(w, queue, want)
    assert transport.peak_at == {"ep_a": 2, "ep_b": 2}
    assert len(transport.requests) == 24  # nothing sent twice


async def test_an_endpoints_room_opens_when_its_answer_arrives_not_when_recorded() -> None:
    """An answer waiting for the next write no longer counts against ``max_in_flight``: the
    write before it claims that room too."""
    queue = MemoryQueue(max_in_flight=2)
    want = _backlog(queue, 4)
    transport = MemoryTransport()
    w = _worker(queue, transport, ahead=0)
    await _deliver_all(w, queue, want)
    # the first write records dlv_0 while dlv_1's answer waits for the next: it claims two
    assert queue.records[0] == ["dlv_0"]
    assert queue.claimed[1] == ["dlv_2", "dlv_3"]
    assert transport.peak_at["ep_1"] == 2


async def test_claims_leased_ahead_start_at_answers_not_past_max_in_flight() -> None:
    """Leased ahead of an endpoint's free slots, claims wait in the worker and start one at
    each answer, with no write in between; never more than ``max_in_flight`` at once."""
    queue = MemoryQueue(max_in_flight=2)
    want = _backlog(queue, 6)
    writes = queue.hold("record_and_claim")  # no record-and-claim gets through
    transport = MemoryTransport()
    w = _worker(queue, transport, concurrency=16, batch=16, ahead=4)
    stop = asyncio.Event()
    running = asyncio.create_task(w.run(stop))
    await transport.wait_for(lambda: len(transport.answered) == 6)
    assert queue.claimed[0] == sorted(want)  # two, and four ahead, in one claim
    assert queue.records == []  # all six sent while the first write still waits
    assert transport.peak_at["ep_1"] == 2
    writes.set()
    await queue.until(lambda: queue.status("delivered") == want and w.in_flight == 0)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert len(transport.requests) == 6  # none sent twice


@dataclasses.dataclass
class _Leasing:
    """A worker running, leasing four ahead, its answers held until ``answers`` is set."""

    worker: Worker
    transport: MemoryTransport
    answers: asyncio.Event
    stop: asyncio.Event
    running: asyncio.Task[None]


def _leasing_ahead(queue: MemoryQueue) -> _Leasing:
    answers = asyncio.Event()
    transport = MemoryTransport(Reply(200, hold=answers))
    w = _worker(queue, transport, concurrency=16, batch=16, ahead=4)
    stop = asyncio.Event()
    return _Leasing(w, transport, answers, stop, asyncio.create_task(w.run(stop)))


async def test_a_stop_gives_back_the_claims_waiting_unsent() -> None:
    before = _counted()
    queue = MemoryQueue(max_in_flight=2)
    want = _backlog(queue, 6)
    run = _leasing_ahead(queue)
    w, transport = run.worker, run.transport
    await queue.until(lambda: transport.in_flight == 2 and len(queue.leased()) == 6)
    run.stop.set()
    await queue.until(lambda: queue.calls["release"] == 1)
    run.answers.set()
    await asyncio.wait_for(run.running, 5)
    sent = {c.delivery_id for c in transport.requests}
    assert len(sent) == 2  # the two under way finish and are recorded
    assert queue.status("delivered") == sent
    assert queue.leased() == set() and queue.due_now() == want - sent  # the rest: due now
    assert w.in_flight == 0
    succeeded, failed, in_flight = _counted()
    assert (succeeded - before[0], failed - before[1], in_flight) == (2, 0, before[2])


async def test_an_endpoint_that_answers_410_gets_nothing_it_was_leased_ahead() -> None:
    queue = MemoryQueue(max_in_flight=1)
    want = _backlog(queue, 4)
    transport = MemoryTransport()
    transport.script("ep_1", Reply(410))
    w = _worker(queue, transport, concurrency=16, batch=16, ahead=4)
    stop = asyncio.Event()
    running = asyncio.create_task(w.run(stop))
    await queue.until(lambda: bool(queue.paused) and w.in_flight == 0)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert queue.claimed[0] == sorted(want)  # one, and three ahead (three times the cap)
    assert [c.delivery_id for c in transport.requests] == ["dlv_0"]  # the 410, then nothing
    assert queue.status("held") == want  # the 410 one too: it waits for a re-enable


async def test_a_pause_by_hand_gives_back_what_was_leased_ahead_unsent() -> None:
    """An endpoint paused while claims wait in its lane (by hand, or by another worker's
    record): the worker asks the store while they wait, and hands them back unsent."""
    queue = MemoryQueue(max_in_flight=1)
    want = _backlog(queue, 4)
    run = _leasing_ahead(queue)
    transport = run.transport
    await queue.until(lambda: transport.in_flight == 1 and len(queue.leased()) == 4)
    queue.pause("ep_1")
    await queue.until(lambda: queue.calls["release"] == 1)
    assert queue.calls["inactive_endpoints"] >= 1
    run.answers.set()  # the attempt under way when it paused still ends, and is recorded
    await queue.until(lambda: run.worker.in_flight == 0)
    run.stop.set()
    await asyncio.wait_for(run.running, 5)
    assert [c.delivery_id for c in transport.requests] == ["dlv_0"]
    assert queue.status("delivered") == {"dlv_0"}
    assert queue.status("held") == want - {"dlv_0"} and queue.leased() == set()


def _claims(ids: range, *, endpoint: str, queue: MemoryQueue) -> list[ClaimedDelivery]:
    claims = [claim_for(i, endpoint=endpoint) for i in ids]
    queue.add(*claims)
    return claims


async def test_a_batch_the_store_refuses_returns_its_room_and_is_not_counted() -> None:
    queue = MemoryQueue()
    want = _backlog(queue, 4)
    queue.fail("record_and_claim", InvalidInput("body", "refused by the store"))
    transport = MemoryTransport()
    w = _worker(queue, transport)
    before = _counted()
    stop = asyncio.Event()
    running = asyncio.create_task(w.run(stop))
    await queue.until(lambda: len(queue.status("delivered")) == 3 and w.in_flight == 0)
    # the refused batch (the first answer) is neither delivered nor failed: still leased
    assert queue.leased() == {"dlv_0"}
    assert queue.status("pending") == {"dlv_0"}
    after = _counted()
    assert tuple(a - b for a, b in zip(after, before, strict=True)) == (3, 0, 0)
    queue.fast_forward()  # its lease runs out: attempted again
    await queue.until(lambda: queue.status("delivered") == want and w.in_flight == 0)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert [c.delivery_id for c in transport.sent("ep_1")].count("dlv_0") == 2
    after = _counted()
    assert tuple(a - b for a, b in zip(after, before, strict=True)) == (4, 0, 0)


@pytest.fixture
def failing_decide(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """``decide`` raises the first time it is called; the list counts the failures."""
    failed: list[int] = []
    real = outcome.decide

    def decide(claim: ClaimedDelivery, sent: Any, *, retry_after_cap: float) -> Any:
        if not failed:
            failed.append(1)
            raise Injected("decide")
        return real(claim, sent, retry_after_cap=retry_after_cap)

    monkeypatch.setattr(worker, "decide", decide)
    yield failed


def _rate_limited(queue: MemoryQueue) -> dict[str, Any]:
    return {"rate_limit_per_second": 1_000_000.0}


def _late_slot(queue: MemoryQueue) -> dict[str, Any]:
    queue.slots.append(4_000_000_000.0)  # beyond the lease horizon: handed back
    return _rate_limited(queue)


STORE_STEPS: dict[str, Callable[[MemoryQueue], dict[str, Any]]] = {
    "claim_due": lambda q: {},
    "record_and_claim": lambda q: {},
    "reserve_send_slots": _rate_limited,
    "release": _late_slot,
}


@pytest.mark.parametrize("step", sorted(STORE_STEPS))
async def test_an_exception_in_a_store_step_loses_nothing_and_no_capacity(step: str) -> None:
    queue = MemoryQueue()
    want = _backlog(queue, 10, **STORE_STEPS[step](queue))
    queue.fail(step, Injected(step))
    transport = MemoryTransport()
    w = _worker(queue, transport)
    before = _counted()
    await _deliver_all(w, queue, want)
    assert queue.failures[step] == []  # the failure happened
    after = _counted()
    assert (after[0] - before[0], after[2] - before[2]) == (len(want), 0)


async def test_an_exception_while_sending_loses_nothing_and_no_capacity() -> None:
    queue = MemoryQueue()
    want = _backlog(queue, 10)
    transport = MemoryTransport()
    transport.script("ep_1", *[Reply(raises=Injected("send"))] * CONFIG.concurrency, Reply())
    w = _worker(queue, transport)
    before = _counted()
    await _deliver_all(w, queue, want)
    assert len(transport.requests) == len(want) + CONFIG.concurrency  # the first four again
    after = _counted()
    assert (after[0] - before[0], after[2] - before[2]) == (len(want), 0)


async def test_an_exception_in_decide_loses_nothing_and_no_capacity(
    failing_decide: list[int],
) -> None:
    queue = MemoryQueue()
    want = _backlog(queue, 10)
    transport = MemoryTransport()
    w = _worker(queue, transport)
    before = _counted()
    await _deliver_all(w, queue, want)
    assert failing_decide == [1]
    assert len(transport.requests) == len(want) + 1
    after = _counted()
    assert (after[0] - before[0], after[2] - before[2]) == (len(want), 0)


async def test_a_stop_waits_at_most_its_grace_and_gives_back_what_still_hangs() -> None:
    queue = MemoryQueue()
    ids = _backlog(queue, 6)
    transport = MemoryTransport(Reply(200, hold=asyncio.Event()))  # never answers
    w = _worker(queue, transport, shutdown_grace=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(w.run(stop))
    await transport.wait_for(lambda: transport.in_flight == CONFIG.concurrency)
    stop.set()
    await asyncio.wait_for(running, 5)  # bounded: not stuck on answers that never come
    assert queue.leased() == set() and w.in_flight == 0
    assert queue.due_now() == ids  # the hanging ones are due again at once, none recorded
    assert queue.records == []
