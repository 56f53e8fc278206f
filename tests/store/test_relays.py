"""The ``Relays`` role on both stores: a listener's endpoint, and claims no worker makes."""

from __future__ import annotations

import time

import pytest

from hookwise.domain.errors import InvalidInput
from hookwise.domain.models import NewEndpoint, NewMessage
from hookwise.store import Store
from tests.store.conftest import OpenStore, result


async def _app(store: Store) -> str:
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=262144
    )
    return app.id


async def _send(store: Store, app_id: str, event_type: str = "user.created") -> tuple[str, ...]:
    enq = await store.messages.enqueue_message(
        NewMessage(app_id=app_id, event_type=event_type, body=b"{}")
    )
    return enq.delivery_ids


async def test_a_listener_name_keeps_its_endpoint(store: Store) -> None:
    app_id = await _app(store)
    first = await store.relays.listener_endpoint(app_id, "laptop", ("user.*",))
    assert (first.kind, first.url, first.events) == ("relay", "relay://laptop", ("user.*",))
    assert first.secret.startswith("whsec_")
    again = await store.relays.listener_endpoint(app_id, "laptop", None)  # keeps its events
    assert (again.id, again.secret, again.events) == (first.id, first.secret, ("user.*",))
    changed = await store.relays.listener_endpoint(app_id, "laptop", ("order.*",))
    assert (changed.id, changed.events) == (first.id, ("order.*",))
    other = await store.relays.listener_endpoint(app_id, "desk", ())
    assert other.id != first.id
    with pytest.raises(InvalidInput) as bad:
        await store.relays.listener_endpoint(app_id, "no spaces", None)
    assert bad.value.field == "name"


async def test_workers_never_claim_what_a_listener_does(stores: OpenStore) -> None:
    store, other = await stores(), await stores()
    app_id = await _app(store)
    relay = await store.relays.listener_endpoint(app_id, "laptop", ("user.*",))
    await store.resources.create_endpoint(
        NewEndpoint(app_id=app_id, url="http://127.0.0.1:9/hook", secret="whsec_x")
    )
    first = set(await _send(store, app_id))  # to the endpoint and to the relay
    await _send(store, app_id, "order.paid")  # the relay is not subscribed: the endpoint only
    claimed = await other.queue.claim_due(worker_id="w", limit=10, lease_seconds=30)
    assert len(claimed) == 2 and relay.id not in {c.endpoint_id for c in claimed}
    # the relay's due delivery wakes no worker: next due are the workers' leases' ends
    assert (await other.queue.next_due_at() or 0) > time.time() + 20
    (to_relay,) = first - {c.delivery_id for c in claimed}
    ping = await store.queue.claim_delivery(app_id, to_relay, worker_id="api", lease_seconds=30)
    assert ping is None  # nor does the API's claim of a test ping

    got = await store.relays.claim_relayed(
        app_id, relay.id, worker_id="listener", limit=10, lease_seconds=30
    )
    assert [(c.claim.endpoint_id, c.event_type) for c in got] == [(relay.id, "user.created")]
    assert got[0].claim.secrets == (relay.secret,)
    again = await other.relays.claim_relayed(
        app_id, relay.id, worker_id="second", limit=10, lease_seconds=30
    )
    assert again == []  # leased
    assert (await store.relays.next_relayed_at(app_id, relay.id) or 0) > time.time() + 20

    # a failed attempt is recorded as any, and retried; handed back, it is due at once
    await store.queue.record_attempts(
        [result(got[0].claim, ok=False, retry_at=time.time() - 1)], pause_after=10
    )
    (retry,) = await other.relays.claim_relayed(
        app_id, relay.id, worker_id="second", limit=10, lease_seconds=30
    )
    assert retry.claim.attempt_count == 1
    await other.queue.release([retry.claim], at=time.time())
    assert len(await store.relays.claim_relayed(
        app_id, relay.id, worker_id="third", limit=10, lease_seconds=30
    )) == 1  # fmt: skip


async def test_a_relay_pauses_after_its_failures_and_holds(store: Store) -> None:
    app_id = await _app(store)
    relay = await store.relays.listener_endpoint(app_id, "laptop", ())
    await _send(store, app_id)
    (c,) = await store.relays.claim_relayed(
        app_id, relay.id, worker_id="l", limit=5, lease_seconds=30
    )
    await store.queue.record_attempts(
        [result(c.claim, ok=False, retry_at=time.time())], pause_after=1
    )
    ep = await store.resources.get_endpoint(app_id, relay.id)
    assert ep.status == "paused" and ep.consecutive_failures == 1
    assert await store.relays.claim_relayed(
        app_id, relay.id, worker_id="l", limit=5, lease_seconds=30
    ) == []  # fmt: skip
