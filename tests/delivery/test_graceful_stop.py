"""Stopping a busy worker: whatever it claimed is attempted and recorded before it returns."""

from __future__ import annotations

from tests.conftest import Api
from tests.receivers import Receiver

N = 300


async def test_a_graceful_stop_leaves_nothing_leased(
    api_factory: object, receiver: Receiver
) -> None:
    api: Api = await api_factory(workers=1, worker_concurrency=64)  # type: ignore[operator]
    receiver.always("/hook", 200, delay=0.1)  # slow answers: the stop comes mid-run
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url("/hook"), max_in_flight=16)
    await api.held_backlog(app["id"], ep["id"], N)
    await receiver.wait_for(lambda r: len(r.requests) >= N // 3, timeout=30)
    await api.services.stop_workers()  # mid-run, with claims and records under way
    stats = await api.store.queue.queue_stats()
    assert stats.in_flight == 0  # no lease left to run out: each claim was sent and recorded
    arrived = len(receiver.requests)
    assert N // 3 <= arrived < N  # the stop really came mid-run
    # each delivery that arrived is recorded (no longer pending); the rest waits, unclaimed
    assert stats.pending == N - arrived
