"""The Messages contract on every Store: what an enqueue makes, and what resend and recover do."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hookwise.domain.errors import Conflict, NotFound
from hookwise.domain.models import NewEndpoint, NewMessage
from hookwise.store import Store
from tests.store.conftest import result


async def _app(store: Store, *endpoints: dict[str, Any]) -> tuple[str, list[str]]:
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=1024
    )
    ids = [
        (await store.resources.create_endpoint(
            NewEndpoint(app_id=app.id, url=f"http://127.0.0.1:9/{i}", secret="s", **ep)
        )).id
        for i, ep in enumerate(endpoints)
    ]  # fmt: skip
    return app.id, ids


async def _statuses(store: Store, app_id: str, delivery_ids: tuple[str, ...]) -> list[str]:
    return [(await store.messages.get_delivery(app_id, d)).status for d in delivery_ids]


async def test_a_test_ping_goes_out_to_a_paused_endpoint(store: Store) -> None:
    app_id, (ep,) = await _app(store, {"status": "paused"})
    only: dict[str, Any] = {"app_id": app_id, "body": b"{}", "only_endpoint_id": ep}
    ping = await store.messages.enqueue_message(
        NewMessage(event_type="webhook.test", trigger="test", **only)
    )
    other = await store.messages.enqueue_message(NewMessage(event_type="a.b", **only))
    assert await _statuses(store, app_id, ping.delivery_ids) == ["pending"]
    assert await _statuses(store, app_id, other.delivery_ids) == ["held"]


async def test_an_endpoint_gets_one_delivery_of_a_message(store: Store) -> None:
    app_id, (subscribed, job) = await _app(store, {}, {"kind": "job_target"})
    enq = await store.messages.enqueue_message(
        NewMessage(app_id=app_id, event_type="a.b", body=b"{}",
                   extra_endpoint_ids=(job, subscribed, "ep_gone"))
    )  # fmt: skip
    got = [await store.messages.get_delivery(app_id, d) for d in enq.delivery_ids]
    assert [d.endpoint_id for d in got] == [subscribed, job]


async def test_a_message_id_taken_already_is_a_conflict(store: Store) -> None:
    app_id, _ = await _app(store, {})
    new = NewMessage(app_id=app_id, event_type="a.b", body=b"{}", message_id="msg_same")
    await store.messages.enqueue_message(new)
    with pytest.raises(Conflict):
        await store.messages.enqueue_message(new)
    page = await store.messages.list_messages(app_id, limit=10, cursor=None)
    assert [m.id for m in page.data] == ["msg_same"]


async def test_resend_and_recover_make_deliveries_due_again(store: Store) -> None:
    app_id, (ep, paused) = await _app(store, {}, {})
    sent = [
        await store.messages.enqueue_message(
            NewMessage(app_id=app_id, event_type="a.b", body=b"{}")
        )
        for _ in range(2)
    ]
    claims = await store.queue.claim_due(worker_id="w", limit=10, lease_seconds=30)
    await store.queue.record_attempts([result(c, ok=False) for c in claims], pause_after=100)
    await store.resources.update_endpoint(app_id, paused, {"status": "paused"})
    with pytest.raises(NotFound):
        await store.operations.start_recover(app_id, "ep_gone", 0)
    with pytest.raises(NotFound):
        await store.messages.resend_message(app_id, "msg_gone")
    assert (await store.operations.start_recover(app_id, ep, time.time() + 60)).done == 0
    # every failed delivery of the endpoint: due now, with a fresh schedule, by hand (a small
    # recover is done in its first step, inside the call)
    op = await store.operations.start_recover(app_id, ep, 0)
    assert (op.kind, op.status, op.done, op.total) == ("recover", "done", 2, 2)
    again = await store.queue.claim_due(worker_id="w", limit=10, lease_seconds=30)
    assert sorted(c.endpoint_id for c in again) == [ep, ep]
    assert all(c.trigger == "manual" and c.retry_base == c.attempt_count == 1 for c in again)
    # to a paused endpoint they are held (and not woken for)
    assert (await store.operations.start_recover(app_id, paused, 0)).done == 2
    assert await store.queue.claim_due(worker_id="w", limit=10, lease_seconds=30) == []
    # a resend of one message to one endpoint
    first = sent[0].message.id
    assert await store.messages.resend_message(app_id, first, paused) == 1
    assert sorted(await _statuses(store, app_id, sent[0].delivery_ids)) == ["held", "pending"]
