"""Resending an app's finished deliveries in bounded steps, on every store: each delivery the
filter takes is re-queued exactly once (even one that fails again meanwhile), none outside it,
and none of a deleted endpoint."""

from __future__ import annotations

import time

import pytest

from hookwise.domain.errors import NotFound
from hookwise.domain.models import NewEndpoint
from hookwise.store import Store
from hookwise.store.operations import ResendFilter
from hookwise.store.rules import operations as rules
from hookwise.store.stepper import Stepper
from tests.store.backlog import counts, finish_after_a_death, hold_backlog, step_to_end
from tests.store.conftest import OpenStore, result

N = 3000


async def _endpoint(store: Store, app_id: str) -> str:
    new = NewEndpoint(app_id=app_id, url="http://127.0.0.1:9/h", secret="whsec_x")
    return (await store.resources.create_endpoint(new)).id


async def _app(store: Store) -> tuple[float, str, str, str]:
    """An app with two endpoints; (a time an hour ago, app, endpoint, other endpoint)."""
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=262144
    )
    ep, other = await _endpoint(store, app.id), await _endpoint(store, app.id)
    return time.time() - 3600, app.id, ep, other


async def test_a_resend_requeues_each_failed_delivery_of_its_window_once(store: Store) -> None:
    since, app_id, ep, other = await _app(store)
    await hold_backlog(store, app_id, ep, N, status="failed", start=since + 1)
    await hold_backlog(store, app_id, other, 40, status="failed", start=since + 1)
    await hold_backlog(store, app_id, ep, 50, status="failed", start=since - 100)  # before
    await hold_backlog(store, app_id, ep, 60, status="succeeded", start=since + 1)
    op = await store.operations.start_resend(ResendFilter(app_id, since))
    assert (op.kind, op.status, op.endpoint_id, op.total) == ("resend", "running", None, None)
    assert op.done <= rules.FIRST
    # some of those fail again while the resend runs: they are not re-queued twice
    claims = await store.queue.claim_due(worker_id="w", limit=100, lease_seconds=30)
    again = len(claims)
    assert again > 10
    await store.queue.record_attempts([result(c, ok=False) for c in claims], pause_after=10**6)
    await step_to_end(Stepper(store.operations))
    done = await store.operations.get_operation(app_id, op.id)
    assert done is not None and (done.status, done.done, done.total) == ("done", N + 40, N + 40)
    assert await counts(store, app_id) == {
        (ep, "pending", True): N - again,
        (ep, "failed", False): again + 50,  # failed again, and those from before ``since``
        (other, "pending", True): 40,
        (ep, "succeeded", False): 60,  # ``failed`` only, by default
    }


async def test_a_resend_filters_on_endpoint_event_type_status_and_until(store: Store) -> None:
    since, app_id, ep, other = await _app(store)
    await hold_backlog(store, app_id, ep, 30, status="failed", start=since + 1)
    await hold_backlog(store, app_id, ep, 20, status="succeeded", start=since + 1)
    await hold_backlog(store, app_id, ep, 10, status="failed", start=since + 1, event_type="x.y")
    await hold_backlog(store, app_id, ep, 5, status="failed", start=since + 1000)  # after until
    await hold_backlog(store, app_id, other, 7, status="failed", start=since + 1)
    f = ResendFilter(
        app_id, since, until=since + 500, which="all", endpoint_id=ep, event_type="order.created"
    )
    op = await store.operations.start_resend(f)
    assert (op.status, op.done, op.total, op.endpoint_id) == ("done", 50, 50, ep)
    assert await counts(store, app_id) == {
        (ep, "pending", True): 50,  # its failed and succeeded order.created, before until
        (ep, "failed", False): 15,
        (other, "failed", False): 7,
    }
    again = await store.operations.start_resend(ResendFilter(app_id, since, event_type="x.y"))
    assert (again.status, again.done) == ("done", 10)


async def test_a_resend_leaves_a_deleted_endpoints_deliveries(store: Store) -> None:
    since, app_id, ep, gone = await _app(store)
    await hold_backlog(store, app_id, ep, 10, status="failed", start=since + 1)
    await hold_backlog(store, app_id, gone, 10, status="failed", start=since + 1)
    await store.resources.delete_endpoint(app_id, gone)
    op = await store.operations.start_resend(ResendFilter(app_id, since))
    assert (op.status, op.done) == ("done", 10)
    by = await counts(store, app_id)
    assert by[(gone, "failed", False)] == 10  # never pending again: nothing would send it
    with pytest.raises(NotFound) as err:
        await store.operations.start_resend(ResendFilter(app_id, since, endpoint_id=gone))
    assert err.value.details == {"resource": "endpoint", "id": gone}


async def test_a_resend_left_by_a_dead_process_is_finished_once(stores: OpenStore) -> None:
    dead, alive = await stores(), await stores()
    since, app_id, ep, _ = await _app(dead)
    await hold_backlog(dead, app_id, ep, N, status="failed", start=since + 1)
    op = await dead.operations.start_resend(ResendFilter(app_id, since))
    await finish_after_a_death(dead, alive)  # from the cursor the dead one left
    done = await alive.operations.get_operation(app_id, op.id)
    assert done is not None and (done.status, done.done) == ("done", N)  # none twice
    assert await counts(alive, app_id) == {(ep, "pending", True): N}
