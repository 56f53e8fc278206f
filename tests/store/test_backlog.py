"""Pausing and deleting an endpoint in bounded steps, on every store: the change takes effect
with the endpoint's row (nothing of it is claimed from then on), its deliveries are held or
canceled a first step at once and the rest in the background, and a re-enable racing an
unfinished hold ends with every delivery due exactly once."""

from __future__ import annotations

from hookwise.domain.models import NewEndpoint
from hookwise.store import Store
from hookwise.store.operations import Operation
from hookwise.store.rules import operations as rules
from hookwise.store.stepper import Stepper
from tests.store.backlog import hold_backlog, step_to_end
from tests.store.conftest import result

N = 5000


async def _pending(store: Store, n: int = N) -> tuple[str, str]:
    """An app whose active endpoint has ``n`` pending deliveries, due now."""
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=262144
    )
    ep = await store.resources.create_endpoint(
        NewEndpoint(app_id=app.id, url="http://127.0.0.1:9/h", secret="whsec_x")
    )
    await hold_backlog(store, app.id, ep.id, n, status="pending")
    return app.id, ep.id


async def _running(store: Store) -> Operation:
    (op,) = await store.operations.leasable("anyone")
    return op


async def _counts(store: Store, app_id: str) -> tuple[int, int]:
    stats = await store.queue.queue_stats(app_id)
    return stats.pending, stats.held


async def test_a_pause_holds_in_steps_and_nothing_is_claimed_meanwhile(store: Store) -> None:
    app_id, ep_id = await _pending(store)
    await store.resources.update_endpoint(app_id, ep_id, {"status": "paused"})
    assert await _counts(store, app_id) == (N - rules.FIRST, rules.FIRST)  # a first step
    op = await _running(store)
    assert (op.kind, op.endpoint_id, op.done) == ("hold", ep_id, rules.FIRST)
    # the rest is still pending, but the endpoint is paused: a claim takes none of it
    assert await store.queue.claim_due(worker_id="w", limit=100, lease_seconds=30) == []
    # a second pause goes on with the same operation
    await store.resources.update_endpoint(app_id, ep_id, {"paused_reason": "x", "status": "paused"})
    assert [o.id for o in await store.operations.leasable("anyone")] == [op.id]
    await step_to_end(Stepper(store.operations))
    assert await _counts(store, app_id) == (0, N)
    done = await store.operations.get_operation(app_id, op.id)
    assert done is not None and (done.status, done.done, done.total) == ("done", N, N)


async def test_a_re_enable_racing_an_unfinished_hold_ends_right(store: Store) -> None:
    app_id, ep_id = await _pending(store)
    await store.resources.update_endpoint(app_id, ep_id, {"status": "paused"})
    hold = await _running(store)
    stepper = Stepper(store.operations)
    assert await stepper.round() > 0  # one more step held
    assert await _counts(store, app_id) == (N - 2 * rules.FIRST, 2 * rules.FIRST)
    await store.resources.update_endpoint(app_id, ep_id, {"status": "active"})
    stopped = await store.operations.get_operation(app_id, hold.id)
    assert stopped is not None and stopped.status == "canceled"
    release = await _running(store)
    assert release.kind == "release"
    await step_to_end(stepper)
    assert await _counts(store, app_id) == (N, 0)  # every one due again, none held
    assert await store.operations.leasable("anyone") == []
    # the backlog's order is kept: the oldest first
    (first,) = await store.queue.claim_due(worker_id="w", limit=1, lease_seconds=30)
    assert first.body == b'{"i": 0}'


async def test_a_delete_cancels_in_steps_and_nothing_is_claimed_meanwhile(store: Store) -> None:
    app_id, ep_id = await _pending(store)
    await store.resources.delete_endpoint(app_id, ep_id)
    op = await _running(store)
    assert (op.kind, op.endpoint_id, op.done) == ("cancel", ep_id, rules.FIRST)
    assert await store.queue.claim_due(worker_id="w", limit=100, lease_seconds=30) == []
    assert await store.queue.next_due_at() is None  # nothing keeps the workers polling
    await step_to_end(Stepper(store.operations))
    assert await _counts(store, app_id) == (0, 0)
    done = await store.operations.get_operation(app_id, op.id)
    assert done is not None and (done.status, done.done) == ("done", N)


async def test_an_auto_pause_holds_in_steps_too(store: Store) -> None:
    app_id, ep_id = await _pending(store)
    # a worker's 410 pauses the endpoint (by the queue's record, not by a PATCH)
    (claim,) = await store.queue.claim_due(worker_id="w", limit=1, lease_seconds=30)
    gone = result(claim, ok=False, status=410, pause_reason="410 Gone")
    await store.queue.record_attempts([gone], pause_after=10)
    assert await _counts(store, app_id) == (N - 1 - rules.FIRST, rules.FIRST)
    op = await _running(store)
    assert (op.kind, op.endpoint_id) == ("hold", ep_id)
    assert await store.queue.claim_due(worker_id="w", limit=100, lease_seconds=30) == []
    await step_to_end(Stepper(store.operations))
    assert await _counts(store, app_id) == (0, N - 1)
