"""Recovering an endpoint's failed deliveries in bounded steps, on every store: each failed
delivery of the window re-queued exactly once (even one that fails again meanwhile, or when
the process stepping it dies), none outside it, held while the endpoint is paused, and stopped
when the endpoint is deleted."""

from __future__ import annotations

import time

from hookwise.domain.models import NewEndpoint
from hookwise.store import Store
from hookwise.store.rules import operations as rules
from hookwise.store.stepper import Stepper
from tests.store.backlog import counts, finish_after_a_death, hold_backlog, step_to_end
from tests.store.conftest import OpenStore, result

N = 5000


async def _endpoint(store: Store, app_id: str) -> str:
    new = NewEndpoint(app_id=app_id, url="http://127.0.0.1:9/h", secret="whsec_x")
    return (await store.resources.create_endpoint(new)).id


async def _failed(store: Store, *, since: float) -> tuple[str, str, str]:
    """An app whose endpoint has ``N`` failed deliveries since ``since``, 50 before it, and a
    second endpoint with 30 failed; (app, endpoint, second endpoint)."""
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=262144
    )
    ep, other = await _endpoint(store, app.id), await _endpoint(store, app.id)
    await hold_backlog(store, app.id, ep, N, status="failed", start=since + 1)
    await hold_backlog(store, app.id, ep, 50, status="failed", start=since - 100)
    await hold_backlog(store, app.id, other, 30, status="failed", start=since + 1)
    return app.id, ep, other


async def test_a_recover_requeues_each_failed_delivery_of_its_window_once(store: Store) -> None:
    since = time.time() - 3600
    app_id, ep, other = await _failed(store, since=since)
    op = await store.operations.start_recover(app_id, ep, since)
    assert (op.kind, op.status, op.done, op.total) == ("recover", "running", rules.FIRST, None)
    assert (await store.queue.queue_stats()).pending == rules.FIRST  # a first step at once
    # some of those fail again while the recover runs: they are not re-queued twice
    claims = await store.queue.claim_due(worker_id="w", limit=100, lease_seconds=30)
    again = len(claims)  # the endpoint's max_in_flight at most
    assert again > 10
    await store.queue.record_attempts([result(c, ok=False) for c in claims], pause_after=10**6)
    await step_to_end(Stepper(store.operations))
    done = await store.operations.get_operation(app_id, op.id)
    assert done is not None and (done.status, done.done, done.total) == ("done", N, N)
    by = await counts(store, app_id)
    assert by == {
        (ep, "pending", True): N - again,
        (ep, "failed", False): again + 50,  # failed again, and those from before ``since``
        (other, "failed", False): 30,  # another endpoint's: left alone
    }


async def test_a_recover_of_a_paused_endpoint_holds_its_deliveries(store: Store) -> None:
    since = time.time() - 3600
    app_id, ep, _ = await _failed(store, since=since)
    op = await store.operations.start_recover(app_id, ep, since)
    await store.resources.update_endpoint(app_id, ep, {"status": "paused"})  # mid-recover
    await step_to_end(Stepper(store.operations))
    done = await store.operations.get_operation(app_id, op.id)
    assert done is not None and (done.status, done.done) == ("done", N)
    by = await counts(store, app_id)
    assert (by.get((ep, "held", True)), by.get((ep, "pending", True))) == (N, None)
    assert await store.queue.claim_due(worker_id="w", limit=10, lease_seconds=30) == []


async def test_deleting_the_endpoint_cancels_its_recover(store: Store) -> None:
    since = time.time() - 3600
    app_id, ep, _ = await _failed(store, since=since)
    op = await store.operations.start_recover(app_id, ep, since)
    await store.resources.delete_endpoint(app_id, ep)
    assert await Stepper(store.operations).round() == 0.0
    stopped = await store.operations.get_operation(app_id, op.id)
    assert stopped is not None and (stopped.status, stopped.done) == ("canceled", rules.FIRST)
    assert (await counts(store, app_id)).get((ep, "failed", False)) == N - rules.FIRST + 50


async def test_a_recover_left_by_a_dead_process_is_finished_once(stores: OpenStore) -> None:
    dead, alive = await stores(), await stores()
    since = time.time() - 3600
    app_id, ep, _ = await _failed(dead, since=since)
    op = await dead.operations.start_recover(app_id, ep, since)
    await finish_after_a_death(dead, alive)  # from the cursor the dead one left
    done = await alive.operations.get_operation(app_id, op.id)
    assert done is not None and (done.status, done.done) == ("done", N)  # none twice
    assert (await counts(alive, app_id))[(ep, "pending", True)] == N
