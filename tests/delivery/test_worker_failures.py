"""An unexpected exception anywhere in the worker (the transport, a record, a claim) costs it no
capacity and loses nothing accepted: a send that raised is a failed attempt (retried on the
schedule, ending visibly in ``failed``); a delivery whose result could not be recorded is
attempted again once its lease runs out; everything else goes on at full concurrency.

The transport is an in-memory double (no sockets); the store is real, wrapped so that chosen
operations raise.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from hookwise.delivery import metrics
from hookwise.delivery.queue import Queue
from hookwise.delivery.sender import SendResult
from hookwise.delivery.worker import Worker, WorkerConfig
from hookwise.domain.models import ClaimedDelivery, DeliveryFilter, NewEndpoint, NewMessage
from hookwise.store import Store, open_store

N = 20
LEASE = 1.0
CONFIG = WorkerConfig(concurrency=4, batch=4, lease_seconds=LEASE, poll_interval=0.05)


class Injected(RuntimeError):
    """The failure the tests inject (a bug of the transport or the store)."""


class FakeTransport:
    """Answers 200 at once, except that the first ``fail`` sends raise, and every send of a
    delivery in ``broken`` raises."""

    def __init__(self, fail: int = 0, broken: set[str] | None = None) -> None:
        self.fail = fail
        self.broken = broken or set()
        self.calls: Counter[str] = Counter()
        self.delivered: set[str] = set()

    async def send(self, claim: ClaimedDelivery) -> SendResult:
        self.calls[claim.delivery_id] += 1
        await asyncio.sleep(0)  # a real send yields to the loop
        if claim.delivery_id in self.broken:
            raise Injected("cannot encode " + "x" * 600)
        if self.fail > 0:
            self.fail -= 1
            raise Injected("transport")
        self.delivered.add(claim.delivery_id)
        return SendResult(200, "ok", None, 1.0, time.time())


class FaultyQueue:
    """The real queue, except that the first ``times`` calls of operation ``name`` raise."""

    def __init__(self, queue: Queue, name: str = "", times: int = 0) -> None:
        self._queue = queue
        self._name = name
        self.times = times

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._queue, name)
        if name != self._name:
            return real

        async def failing(*args: Any, **kwargs: Any) -> Any:
            if self.times > 0:
                self.times -= 1
                raise Injected(name)
            return await real(*args, **kwargs)

        return failing


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = await open_store(db_url)
    yield s
    await s.close()


async def _backlog(store: Store, **endpoint: Any) -> set[str]:
    """``N`` messages for one endpoint; their delivery ids."""
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=262144
    )
    await store.resources.create_endpoint(
        NewEndpoint(app_id=app.id, url="http://127.0.0.1:9/hook", secret="whsec_x", **endpoint)
    )
    ids: set[str] = set()
    for i in range(N):
        enq = await store.messages.enqueue_message(
            NewMessage(app_id=app.id, event_type="a.b", body=b'{"i": %d}' % i)
        )
        ids.update(enq.delivery_ids)
    return ids


async def _until(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def _deliver_all(worker: Worker, transport: FakeTransport, want: set[str]) -> None:
    """Run the worker until every delivery in ``want`` went through, then stop it; check that
    nothing stays leased and no capacity is lost."""
    gauge = metrics.IN_FLIGHT._value.get()
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))

    async def all_recorded() -> bool:
        if running.done():
            running.result()  # the worker died: show why
        stats = await worker.queue.queue_stats()
        return transport.delivered >= want and (stats.pending, stats.in_flight) == (0, 0)

    async def no_capacity_held() -> bool:
        return worker.in_flight == 0

    try:
        await _until(all_recorded, "every delivery sent and recorded")
        await _until(no_capacity_held, "the worker's in-flight count to fall to 0")
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    assert worker.in_flight == 0
    assert metrics.IN_FLIGHT._value.get() == gauge


async def test_a_transport_exception_costs_no_capacity(store: Store) -> None:
    want = await _backlog(store, retry_schedule=(0.05,))
    transport = FakeTransport(fail=CONFIG.concurrency)  # the whole first claim: all capacity
    worker = Worker(store.queue, transport, CONFIG)
    await _deliver_all(worker, transport, want)
    assert transport.delivered == want
    # the deliveries whose send raised were attempted again, on their retry schedule
    assert sorted(transport.calls.values())[-CONFIG.concurrency :] == [2] * CONFIG.concurrency


async def test_a_send_that_always_raises_ends_visibly_failed(store: Store) -> None:
    """A delivery whose every send raises (say, an old row that no longer encodes) is not
    retried forever under expiring leases: each try is a failed attempt in the attempt log,
    the retry schedule runs out, and the delivery ends ``failed``; the others go through."""
    schedule = (0.05, 0.05)
    want = await _backlog(store, retry_schedule=schedule)
    broken = sorted(want)[0]
    transport = FakeTransport(broken={broken})
    worker = Worker(store.queue, transport, CONFIG)
    t0 = time.monotonic()
    await _deliver_all(worker, transport, want - {broken})
    assert transport.calls[broken] == len(schedule) + 1
    assert time.monotonic() - t0 < 20 * LEASE  # no lease had to run out
    app_id = (await store.resources.list_apps(limit=1, cursor=None)).data[0].id
    delivery = await store.messages.get_delivery(app_id, broken)
    assert (delivery.status, delivery.attempt_count) == ("failed", len(schedule) + 1)
    attempts = (
        await store.messages.list_attempts(app_id, DeliveryFilter(), limit=100, cursor=None)
    ).data
    mine = [a for a in attempts if a.delivery_id == broken]
    assert len(mine) == len(schedule) + 1
    for a in mine:
        assert a.status == "failed"
        assert a.error_message is not None
        assert a.error_message.startswith("internal error: Injected: cannot encode xxx")
        assert len(a.error_message) <= 500


async def test_a_failure_to_record_a_raised_send_leaves_the_lease(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When even the failed attempt cannot be made, the delivery stays leased as before and
    is attempted again once its lease runs out: nothing is lost, no capacity held."""
    from hookwise.delivery import outcome
    from hookwise.delivery import worker as worker_module

    want = await _backlog(store)
    transport = FakeTransport(fail=1)
    real = outcome.decide  # the function the worker module imported, and the patch replaces
    failing = {"left": 1}

    def decide(claim: ClaimedDelivery, sent: SendResult, **kw: Any) -> Any:
        if sent.error is not None and failing["left"] > 0:
            failing["left"] -= 1
            raise Injected("decide")
        return real(claim, sent, **kw)

    monkeypatch.setattr(worker_module, "decide", decide)
    worker = Worker(store.queue, transport, CONFIG)
    t0 = time.monotonic()
    await _deliver_all(worker, transport, want)
    assert failing["left"] == 0
    assert transport.delivered == want
    assert max(transport.calls.values()) == 2
    assert time.monotonic() - t0 >= LEASE  # it waited for the lease


@pytest.mark.parametrize(
    ("operation", "endpoint"),
    [
        ("record_and_claim", {}),  # the record path: the batch is neither recorded nor kept
        ("claim_due", {}),  # the claim loop
        ("reserve_send_slots", {"rate_limit_per_second": 1000.0}),  # claimed, never started
    ],
)
async def test_a_store_exception_costs_no_capacity_and_loses_nothing(
    store: Store, operation: str, endpoint: dict[str, Any]
) -> None:
    want = await _backlog(store, **endpoint)
    faulty = FaultyQueue(store.queue, operation, times=2)
    transport = FakeTransport()
    worker = Worker(faulty, transport, CONFIG)
    await _deliver_all(worker, transport, want)
    assert faulty.times == 0  # both failures really happened
    assert transport.delivered == want
    if operation == "record_and_claim":
        # sent, then its record failed: attempted again after its lease, not dropped
        assert max(transport.calls.values()) == 2
