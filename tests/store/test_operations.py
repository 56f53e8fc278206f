"""Releasing a re-enabled endpoint's backlog in bounded steps, on every store: each held
delivery exactly once, a pause stops it, and a release left by a dead process is finished."""

from __future__ import annotations

import asyncio
import time

from hookwise.domain.models import NewEndpoint
from hookwise.store import Store
from hookwise.store.operations import Operation
from hookwise.store.rules import operations as rules
from hookwise.store.stepper import Stepper
from tests.store.backlog import hold_backlog, step_to_end
from tests.store.conftest import OpenStore, result

N = 5000


async def _paused_backlog(store: Store, n: int = N) -> tuple[str, str]:
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=262144
    )
    ep = await store.resources.create_endpoint(
        NewEndpoint(app_id=app.id, url="http://127.0.0.1:9/h", secret="whsec_x", max_in_flight=1)
    )
    await store.resources.update_endpoint(app.id, ep.id, {"status": "paused"})
    await hold_backlog(store, app.id, ep.id, n)
    return app.id, ep.id


async def _running(store: Store) -> Operation:
    (op,) = await store.operations.leasable("anyone")
    return op


async def test_a_release_runs_in_steps_and_counts_each_delivery_once(store: Store) -> None:
    app_id, ep_id = await _paused_backlog(store)
    await store.resources.update_endpoint(app_id, ep_id, {"status": "active"})
    stats = await store.queue.queue_stats()
    assert (stats.pending, stats.held) == (rules.FIRST, N - rules.FIRST)  # a first step at once
    op = await _running(store)
    assert (op.kind, op.endpoint_id, op.done) == ("release", ep_id, rules.FIRST)
    await step_to_end(Stepper(store.operations))
    stats = await store.queue.queue_stats()
    assert (stats.pending, stats.held) == (N, 0)
    done = await store.operations.get_operation(app_id, op.id)
    assert done is not None and (done.status, done.done, done.total) == ("done", N, N)
    # released oldest first: the due order of the backlog is kept
    claim = await store.queue.claim_due(worker_id="w", limit=1, lease_seconds=30)
    assert claim[0].body == b'{"i": 0}'


async def test_a_small_backlog_is_released_at_once_without_an_operation(store: Store) -> None:
    app_id, ep_id = await _paused_backlog(store, 30)
    await store.resources.update_endpoint(app_id, ep_id, {"status": "active"})
    assert (await store.queue.queue_stats()).pending == 30
    assert await store.operations.leasable("anyone") == []


async def test_pausing_again_stops_the_release_and_leaves_the_rest_held(store: Store) -> None:
    app_id, ep_id = await _paused_backlog(store)
    await store.resources.update_endpoint(app_id, ep_id, {"status": "active"})
    op = await _running(store)
    stepper = Stepper(store.operations)
    assert await stepper.round() > 0
    assert (await store.queue.queue_stats()).held == N - 2 * rules.FIRST
    await store.resources.update_endpoint(app_id, ep_id, {"status": "paused"})
    stopped = await store.operations.get_operation(app_id, op.id)
    assert stopped is not None and stopped.status == "canceled"
    # the released ones are held again too, a first step at once and the rest by a hold
    (hold,) = await store.operations.leasable("anyone")
    assert (hold.kind, hold.done) == ("hold", rules.FIRST)
    await step_to_end(stepper)
    stats = await store.queue.queue_stats()
    assert (stats.pending, stats.held) == (0, N)


async def test_an_auto_pause_mid_release_stops_it_at_the_next_step(store: Store) -> None:
    app_id, ep_id = await _paused_backlog(store)
    await store.resources.update_endpoint(app_id, ep_id, {"status": "active"})
    op = await _running(store)
    # a worker's 410 pauses the endpoint (by the queue, not by a PATCH)
    (claim,) = await store.queue.claim_due(worker_id="w", limit=1, lease_seconds=30)
    gone = result(claim, ok=False, status=410, pause_reason="410 Gone")
    await store.queue.record_attempts([gone], pause_after=10)
    stepper = Stepper(store.operations)
    assert await stepper.round() == 0.0  # the step saw the pause and released nothing
    stopped = await store.operations.get_operation(app_id, op.id)
    assert stopped is not None and (stopped.status, stopped.done) == ("canceled", rules.FIRST)
    assert (await store.queue.queue_stats()).held == N - 1


async def test_a_release_left_by_a_dead_process_is_finished_once(stores: OpenStore) -> None:
    dead, alive = await stores(), await stores()
    app_id, ep_id = await _paused_backlog(dead)
    await dead.resources.update_endpoint(app_id, ep_id, {"status": "active"})
    op = await _running(dead)
    lease = 0.3
    gone = Stepper(dead.operations, owner="gone", lease_seconds=lease)
    began = time.monotonic()  # before the lease is taken: it runs out no sooner than this
    assert await gone.round() > 0  # one step, then the process dies holding the lease
    heir = Stepper(alive.operations, owner="heir", lease_seconds=lease)
    assert await heir.round() == 0.0  # the lease is still held
    while not await heir.round():  # waits for the lease to run out
        assert time.monotonic() - began < 10
        await asyncio.sleep(0.02)
    assert time.monotonic() - began >= lease * 0.9
    await step_to_end(heir)
    stats = await alive.queue.queue_stats()
    assert (stats.pending, stats.held) == (N, 0)
    done = await alive.operations.get_operation(app_id, op.id)
    assert done is not None and (done.status, done.done) == ("done", N)  # none twice
