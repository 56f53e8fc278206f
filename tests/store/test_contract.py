"""The Store contract: every implementation offers every operation, the migrated schema is the
declared one, and the operations behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import socket
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool
from sqlalchemy.ext.asyncio import create_async_engine

from hookwise.delivery.queue import Queue
from hookwise.delivery.worker import worker_name
from hookwise.domain.errors import InvalidInput, NotFound
from hookwise.domain.models import (
    ClaimedDelivery,
    DeliveryFilter,
    NewEndpoint,
    NewJob,
    NewMessage,
)
from hookwise.store import Store
from hookwise.store.inspector import Inspector
from hookwise.store.jobs import Jobs
from hookwise.store.keyring_rows import Keyring
from hookwise.store.messages import Messages
from hookwise.store.migrate import sqlalchemy_url, upgrade
from hookwise.store.operations import Operations
from hookwise.store.postgres import PostgresStore
from hookwise.store.relays import Relays
from hookwise.store.resources import Resources
from hookwise.store.retention import Retention
from hookwise.store.sessions import Sessions
from hookwise.store.tables import metadata
from tests.store.conftest import OpenStore, result

WRITTEN_ONCE = {
    "resources": Resources,
    "messages": Messages,
    "jobs": Jobs,
    "retention": Retention,
    "keyring": Keyring,
    "operations": Operations,
    "inspector": Inspector,
    "relays": Relays,
    "sessions": Sessions,
}


def _operations(role: type[Any]) -> list[str]:
    return sorted(
        name
        for name, value in vars(role).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(value)
    )


def test_the_roles_name_every_operation_once() -> None:
    ops = [op for role in (*WRITTEN_ONCE.values(), Queue) for op in _operations(role)]
    assert "claim_due" in ops and "record_attempts" in ops  # the introspection works
    assert len(ops) == len(set(ops)) > 50


async def test_every_store_plays_every_role(store: Store) -> None:
    # the same class on both databases: written once
    for attr, role in WRITTEN_ONCE.items():
        assert type(getattr(store, attr)) is role, attr
    # the queue: a hot path of its own per database, behind the one protocol
    queue = store.queue
    assert isinstance(queue.overlapping_writes, int) and queue.overlapping_writes >= 1
    assert isinstance(queue.leases_ahead, int) and queue.leases_ahead >= 0
    ops = _operations(Queue)
    missing = [op for op in ops if not inspect.iscoroutinefunction(getattr(queue, op, None))]
    assert not missing, f"{type(queue).__name__} lacks {missing}"
    for op in ops:
        want = inspect.signature(getattr(Queue, op))
        got = inspect.signature(getattr(queue, op))
        name = f"{type(queue).__name__}.{op}{got}"
        assert list(got.parameters) == list(want.parameters)[1:], name
        for p in list(want.parameters.values())[1:]:
            assert got.parameters[p.name].kind == p.kind, f"{name}: {p.name}"
            assert got.parameters[p.name].default == p.default, f"{name}: {p.name}"


def _diff(conn: Any) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, metadata))


async def test_migrated_schema_equals_declared_schema(db_url: str) -> None:
    upgrade(db_url)  # a no-op on the PostgreSQL template copy, which is migrated already
    url = sqlalchemy_url(db_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=pool.NullPool)
        with engine.connect() as conn:
            diff = _diff(conn)
        engine.dispose()
    else:
        aengine = create_async_engine(url, poolclass=pool.NullPool)
        async with aengine.connect() as aconn:
            diff = await aconn.run_sync(_diff)
        await aengine.dispose()
    assert diff == []


# ---------------------------------------------------------------------------------------------
# behaviour


async def _app_with_endpoint(store: Store, **endpoint: Any) -> tuple[str, str]:
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=262144
    )
    ep = await store.resources.create_endpoint(
        NewEndpoint(app_id=app.id, url="http://127.0.0.1:9/hook", secret="whsec_x", **endpoint)
    )
    return app.id, ep.id


async def _send(store: Store, app_id: str, n: int = 1, **extra: Any) -> list[str]:
    ids: list[str] = []
    for i in range(n):
        enq = await store.messages.enqueue_message(
            NewMessage(app_id=app_id, event_type="user.created", body=b'{"i": %d}' % i, **extra)
        )
        ids.extend(enq.delivery_ids)
    return ids


async def test_enqueue_fans_out_and_dedupes_on_event_id(store: Store) -> None:
    app_id, ep_all = await _app_with_endpoint(store)
    other = await store.resources.create_endpoint(
        NewEndpoint(app_id=app_id, url="http://127.0.0.1:9/o", secret="s", events=("order.*",))
    )
    users = await store.resources.create_endpoint(
        NewEndpoint(app_id=app_id, url="http://127.0.0.1:9/u", secret="s", events=("user.*",))
    )
    new = NewMessage(
        app_id=app_id, event_type="user.created", body=b"{}", event_id="evt-1", tags=("a", "b")
    )
    first = await store.messages.enqueue_message(new)
    again = await store.messages.enqueue_message(new)
    assert first.created and not again.created
    assert again.message.id == first.message.id
    assert sorted(again.delivery_ids) == sorted(first.delivery_ids)
    page = await store.messages.list_deliveries(app_id, DeliveryFilter(), limit=10, cursor=None)
    assert sorted(d.endpoint_id for d in page.data) == sorted([ep_all, users.id])
    assert other.id not in {d.endpoint_id for d in page.data}
    assert {d.status for d in page.data} == {"pending"}
    tagged = await store.messages.list_messages(app_id, limit=10, cursor=None, tag="b")
    assert [m.id for m in tagged.data] == [first.message.id]
    msg = await store.messages.get_message(app_id, first.message.id)
    assert msg.tags == ("a", "b") and msg.event_id == "evt-1"


async def test_a_value_the_database_refuses_is_invalid_input_not_unavailable(
    store: Store,
) -> None:
    """PostgreSQL's text type refuses U+0000 (the API refuses it first): the caller's error,
    answered 422, never a 503 that tells clients and workers to try again. SQLite stores it,
    so there the lookup simply finds nothing."""
    expected = InvalidInput if isinstance(store, PostgresStore) else NotFound
    with pytest.raises(expected):
        await store.resources.get_app("app_\x00")


async def test_concurrent_duplicates_make_one_message(stores: OpenStore) -> None:
    a, b = await stores(), await stores()
    app_id, _ = await _app_with_endpoint(a)
    new = NewMessage(app_id=app_id, event_type="user.created", body=b"{}", event_id="same")
    got = await asyncio.gather(*(s.messages.enqueue_message(new) for s in (a, b, a, b)))
    assert sum(e.created for e in got) == 1
    assert len({e.message.id for e in got}) == 1
    page = await a.messages.list_messages(app_id, limit=10, cursor=None)
    assert len(page.data) == 1


async def test_paused_endpoint_gets_held_deliveries(store: Store) -> None:
    app_id, _ep_id = await _app_with_endpoint(store, status="paused")
    (dlv,) = await _send(store, app_id)
    assert (await store.messages.get_delivery(app_id, dlv)).status == "held"
    assert await store.queue.claim_due(worker_id="w", limit=10, lease_seconds=30) == []


async def test_claim_leases_and_an_expired_lease_is_claimed_again(stores: OpenStore) -> None:
    a, b = await stores(), await stores()
    app_id, _ = await _app_with_endpoint(a)
    (dlv,) = await _send(a, app_id)
    (claim,) = await a.queue.claim_due(worker_id="dead", limit=10, lease_seconds=0.5)
    assert claim.delivery_id == dlv and claim.body == b'{"i": 0}'
    assert claim.secrets == ("whsec_x",) and claim.url == "http://127.0.0.1:9/hook"
    assert await b.queue.claim_due(worker_id="other", limit=10, lease_seconds=30) == []
    stats = await b.queue.queue_stats()
    assert (stats.pending, stats.in_flight) == (1, 1)
    await asyncio.sleep(0.6)  # the first worker died: its lease runs out
    (again,) = await b.queue.claim_due(worker_id="other", limit=10, lease_seconds=30)
    assert again.delivery_id == dlv


async def test_a_worker_on_a_host_with_a_long_name_claims(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kubernetes pod names run to 63 characters; leases hold at most 64 (PostgreSQL refused
    the longer worker ids: the worker never delivered anything there)."""
    monkeypatch.setattr(socket, "gethostname", lambda: "pod-" + "x" * 59)
    worker_id = worker_name()
    assert len(worker_id) <= 64
    app_id, _ = await _app_with_endpoint(store)
    (dlv,) = await _send(store, app_id)
    (claim,) = await store.queue.claim_due(worker_id=worker_id, limit=10, lease_seconds=30)
    assert claim.delivery_id == dlv


async def test_claim_takes_oldest_due_first_and_respects_limit(store: Store) -> None:
    app_id, _ = await _app_with_endpoint(store)
    ids = await _send(store, app_id, 5)
    got = await store.queue.claim_due(worker_id="w", limit=3, lease_seconds=30)
    assert sorted(c.delivery_id for c in got) == sorted(ids[:3])  # the three oldest, any order
    rest = await store.queue.claim_due(worker_id="w", limit=10, lease_seconds=30)
    assert sorted(c.delivery_id for c in rest) == sorted(ids[3:])


async def test_in_flight_cap_holds_across_concurrent_claimers(stores: OpenStore) -> None:
    claimers = [await stores() for _ in range(3)]
    app_id, capped = await _app_with_endpoint(claimers[0], max_in_flight=4)
    await _send(claimers[0], app_id, 30)

    async def round_(worker: str) -> list[Any]:
        got = await asyncio.gather(
            *(
                c.queue.claim_due(worker_id=f"{worker}{i}", limit=3, lease_seconds=30)
                for i, c in enumerate(claimers * 2)
            )
        )
        return [x for batch in got for x in batch]

    leased: list[Any] = []
    for _ in range(5):  # concurrent rounds until the cap is reached, never past it
        leased += await round_("w")
        assert len(leased) <= 4
        assert (await claimers[0].queue.queue_stats()).in_flight == len(leased)
    assert len(leased) == 4 and {c.endpoint_id for c in leased} == {capped}
    # two finish: exactly two more go out, whoever claims them
    await claimers[1].queue.record_attempts(
        [result(c, ok=True) for c in leased[:2]], pause_after=10
    )
    more: list[Any] = []
    for _ in range(3):
        more += await round_("v")
    assert len(more) == 2
    assert (await claimers[2].queue.queue_stats()).in_flight == 4


async def _three_leased_of_seven(
    stores: OpenStore,
) -> tuple[Store, Store, str, str, list[str], list[ClaimedDelivery]]:
    """Two stores on one database; seven deliveries to an endpoint capped at three, the first
    three leased to w1: (a, b, app id, endpoint id, delivery ids in due order, those three)."""
    a, b = await stores(), await stores()
    app_id, ep_id = await _app_with_endpoint(a, max_in_flight=3)
    ids = await _send(a, app_id, 7)
    first = await a.queue.claim_due(worker_id="w1", limit=10, lease_seconds=30)
    assert len(first) == 3  # the cap
    return a, b, app_id, ep_id, ids, first


async def test_record_and_claim_hands_the_freed_room_on_in_one_transaction(
    stores: OpenStore,
) -> None:
    a, b, app_id, capped, ids, first = await _three_leased_of_seven(stores)
    # two of the three are recorded: exactly two more come back, the oldest due, leased to w1
    done, kept = first[:2], first[2]
    got = await a.queue.record_and_claim(
        [result(c, ok=True) for c in done],
        pause_after=10,
        worker_id="w1",
        limit=10,
        lease_seconds=30,
    )
    waiting = [d for d in ids if d not in {c.delivery_id for c in first}]  # in due order
    assert sorted(c.delivery_id for c in got) == sorted(waiting[:2])
    assert {c.endpoint_id for c in got} == {capped}
    for c in done:
        assert (await a.messages.get_delivery(app_id, c.delivery_id)).status == "succeeded"
    assert (await a.messages.get_delivery(app_id, kept.delivery_id)).status == "pending"
    # the room went to w1 within that transaction: another claimer finds none
    assert await b.queue.claim_due(worker_id="w2", limit=10, lease_seconds=30) == []
    assert (await b.queue.queue_stats()).in_flight == 3
    # a limit of 0 records only; an empty batch claims only
    assert (
        await b.queue.record_and_claim(
            [result(got[0], ok=True)], pause_after=10, worker_id="w2", limit=0, lease_seconds=30
        )
        == []
    )
    (one,) = await b.queue.record_and_claim(
        [], pause_after=10, worker_id="w2", limit=10, lease_seconds=30
    )
    assert one.delivery_id == waiting[2]
    assert (await b.queue.queue_stats()).in_flight == 3


async def test_finished_attempts_of_the_claiming_worker_free_their_room(
    stores: OpenStore,
) -> None:
    a, b, _, _, ids, first = await _three_leased_of_seven(stores)
    over = [first[0].delivery_id, first[1].delivery_id]
    # another worker's finished attempts free nothing: w1's leases are still in flight
    assert (
        await b.queue.claim_due(worker_id="w2", limit=10, lease_seconds=30, finished=lambda: over)
        == []
    )
    # w1's two finished attempts (still leased, not recorded) leave room for two more
    got = await b.queue.claim_due(worker_id="w1", limit=10, lease_seconds=30, finished=lambda: over)
    waiting = [d for d in ids if d not in {c.delivery_id for c in first}]  # in due order
    assert sorted(c.delivery_id for c in got) == sorted(waiting[:2])
    assert (await a.queue.queue_stats()).in_flight == 5  # leased: three finished-or-not plus two
    # the same holds inside record_and_claim, asked for after the record: one recorded and
    # the first batch's other two finished leave got's two in flight, room for one
    asked: list[int] = []

    def finished() -> list[str]:
        asked.append(1)
        return [first[1].delivery_id, first[2].delivery_id]

    (last,) = await a.queue.record_and_claim(
        [result(first[0], ok=True)],
        pause_after=10,
        worker_id="w1",
        limit=10,
        lease_seconds=30,
        finished=finished,
    )
    assert last.delivery_id == waiting[2] and asked == [1]
    # got's two and the last are in flight: the one still waiting stays so
    assert (
        await a.queue.claim_due(worker_id="w1", limit=10, lease_seconds=30, finished=finished) == []
    )


async def test_a_worker_alone_on_an_endpoint_leases_ahead_of_its_cap(stores: OpenStore) -> None:
    """``ahead``: past ``max_in_flight`` only while no other worker holds a valid lease there,
    and never for a rate-limited endpoint; every claim says the endpoint's cap."""
    a, b = await stores(), await stores()
    app_id, _ = await _app_with_endpoint(a, max_in_flight=3)
    ids = await _send(a, app_id, 12)
    first = await a.queue.claim_due(worker_id="w1", limit=20, lease_seconds=30, ahead=2)
    assert sorted(c.delivery_id for c in first) == sorted(ids[:5])  # three, and two ahead
    assert {c.max_in_flight for c in first} == {3}
    # w1 holds five leases: no other worker finds room, leasing ahead or not
    assert await b.queue.claim_due(worker_id="w2", limit=20, lease_seconds=30, ahead=2) == []
    # four recorded: w1 holds one, so w2 gets the room under the cap, nothing ahead of it
    await a.queue.record_attempts([result(c, ok=True) for c in first[:4]], pause_after=10)
    second = await b.queue.claim_due(worker_id="w2", limit=20, lease_seconds=30, ahead=2)
    assert sorted(c.delivery_id for c in second) == sorted(ids[5:7])
    # now another worker leases there, w1 leases nothing ahead either: the cap is full
    got = await a.queue.record_and_claim(
        [], pause_after=10, worker_id="w1", limit=20, lease_seconds=30, ahead=2
    )
    assert got == []
    assert (await a.queue.queue_stats()).in_flight == 3
    # w1's lease and one of w2's recorded: w2 alone again leases its room and two ahead
    await a.queue.record_attempts(
        [result(first[4], ok=True), result(second[0], ok=True)], pause_after=10
    )
    third = await b.queue.claim_due(worker_id="w2", limit=20, lease_seconds=30, ahead=2)
    assert sorted(c.delivery_id for c in third) == sorted(ids[7:11])
    assert (await a.queue.queue_stats()).in_flight == 5


async def test_inactive_endpoints_are_the_paused_and_the_deleted(store: Store) -> None:
    """What a worker asks while claims wait in its lanes: which endpoints a claim no longer
    takes deliveries of."""
    _, active = await _app_with_endpoint(store)
    app_p, paused = await _app_with_endpoint(store)
    app_d, deleted = await _app_with_endpoint(store)
    await store.resources.update_endpoint(app_p, paused, {"status": "paused"})
    await store.resources.delete_endpoint(app_d, deleted)
    asked = [active, paused, deleted, "ep_never_was"]
    assert await store.queue.inactive_endpoints(asked) == {paused, deleted, "ep_never_was"}
    assert await store.queue.inactive_endpoints([active]) == set()
    assert await store.queue.inactive_endpoints([]) == set()


async def test_a_claim_leases_ahead_at_most_three_times_the_cap(store: Store) -> None:
    """``leases.AHEAD_ROUNDS``: what waits in the worker is at most three rounds of the
    endpoint's attempts, however much ahead the worker would take."""
    app_id, _ = await _app_with_endpoint(store, max_in_flight=2)
    ids = await _send(store, app_id, 12)
    got = await store.queue.claim_due(worker_id="w", limit=20, lease_seconds=60, ahead=20)
    assert sorted(c.delivery_id for c in got) == sorted(ids[:8])  # two, and six ahead


async def test_a_rate_limited_endpoint_is_never_leased_ahead(store: Store) -> None:
    app_id, _ = await _app_with_endpoint(store, max_in_flight=2, rate_limit_per_second=100.0)
    ids = await _send(store, app_id, 6)
    got = await store.queue.claim_due(worker_id="w", limit=20, lease_seconds=30, ahead=4)
    assert sorted(c.delivery_id for c in got) == sorted(ids[:2])


async def test_a_saturated_endpoint_does_not_starve_the_others(store: Store) -> None:
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=1024
    )
    slow, fast = [
        await store.resources.create_endpoint(
            NewEndpoint(app_id=app.id, url=f"http://127.0.0.1:9/{k}", secret="s",
                        events=(f"{k}.*",), max_in_flight=cap)
        )
        for k, cap in (("slow", 2), ("fast", 64))
    ]  # fmt: skip
    for i in range(60):  # the slow endpoint's backlog is older than anything else
        await store.messages.enqueue_message(
            NewMessage(app_id=app.id, event_type="slow.x", body=b"{}")
        )
        if i % 20 == 0:
            await store.messages.enqueue_message(
                NewMessage(app_id=app.id, event_type="fast.x", body=b"{}")
            )
    got = await store.queue.claim_due(worker_id="w", limit=10, lease_seconds=30)
    assert sorted(c.endpoint_id for c in got) == sorted([slow.id] * 2 + [fast.id] * 3)
    assert await store.queue.claim_due(worker_id="w", limit=10, lease_seconds=30) == []


async def test_record_moves_deliveries_on(store: Store) -> None:
    app_id, ep_id = await _app_with_endpoint(store)
    ok_id, retry_id, fail_id = await _send(store, app_id, 3)
    claims = {
        c.delivery_id: c
        for c in await store.queue.claim_due(worker_id="w", limit=3, lease_seconds=30)
    }
    soon = time.time() + 60
    await store.queue.record_attempts(
        [
            result(claims[ok_id], ok=True),
            result(claims[retry_id], ok=False, retry_at=soon),
            result(claims[fail_id], ok=False),
        ],
        pause_after=10,
    )
    ok, retry, fail = [
        await store.messages.get_delivery(app_id, d) for d in (ok_id, retry_id, fail_id)
    ]
    assert (ok.status, ok.attempt_count, ok.last_status_code, ok.next_attempt_at) == (
        "succeeded", 1, 200, None,
    )  # fmt: skip
    assert (retry.status, retry.attempt_count, retry.last_status_code) == ("pending", 1, 500)
    assert retry.next_attempt_at is not None
    assert abs(retry.next_attempt_at.timestamp() - soon) < 0.01
    assert (fail.status, fail.attempt_count) == ("failed", 1)
    attempts = await store.messages.list_attempts(app_id, DeliveryFilter(), limit=10, cursor=None)
    assert sorted(a.status for a in attempts.data) == ["failed", "failed", "succeeded"]
    assert {a.attempt_number for a in attempts.data} == {1}
    # a retry that is due is claimed again, numbered 2
    assert await store.queue.claim_due(worker_id="w", limit=3, lease_seconds=30) == []
    await store.messages.resend_message(app_id, retry.message_id)
    (again,) = await store.queue.claim_due(worker_id="w", limit=3, lease_seconds=30)
    assert again.delivery_id == retry_id and again.attempt_count == 1 and again.trigger == "manual"
    ep = await store.resources.get_endpoint(app_id, ep_id)
    assert ep.consecutive_failures == 2 and ep.status == "active"


async def test_failures_from_many_workers_pause_exactly_at_the_threshold(
    stores: OpenStore,
) -> None:
    workers = [await stores() for _ in range(4)]
    app_id, ep_id = await _app_with_endpoint(workers[0], max_in_flight=100)
    await _send(workers[0], app_id, 20)
    claims = await workers[0].queue.claim_due(worker_id="w", limit=20, lease_seconds=30)
    later = time.time() + 3600
    # four workers record 3 failures each at the same moment: 12 failures, threshold 10
    await asyncio.gather(
        *(
            w.queue.record_attempts(
                [result(c, ok=False, retry_at=later) for c in claims[i * 3 : i * 3 + 3]],
                pause_after=10,
            )
            for i, w in enumerate(workers)
        )
    )
    ep = await workers[0].resources.get_endpoint(app_id, ep_id)
    assert ep.consecutive_failures == 12
    assert ep.status == "paused" and ep.paused_reason
    stats = await workers[0].queue.queue_stats()
    assert stats.held == 20 and stats.pending == 0
    # held deliveries are not claimed; resuming makes them due now with a fresh schedule
    assert await workers[1].queue.claim_due(worker_id="x", limit=50, lease_seconds=30) == []
    await workers[1].resources.update_endpoint(app_id, ep_id, {"status": "active"})
    ep = await workers[0].resources.get_endpoint(app_id, ep_id)
    assert (ep.status, ep.consecutive_failures, ep.paused_reason) == ("active", 0, None)
    back = await workers[2].queue.claim_due(worker_id="y", limit=50, lease_seconds=30)
    assert len(back) == 20
    assert all(c.retry_base == c.attempt_count for c in back)


async def test_a_success_resets_and_a_pause_reason_pauses_at_once(store: Store) -> None:
    app_id, ep_id = await _app_with_endpoint(store)
    await _send(store, app_id, 4)
    c = await store.queue.claim_due(worker_id="w", limit=4, lease_seconds=30)
    later = time.time() + 3600
    await store.queue.record_attempts(
        [result(c[0], ok=False, retry_at=later), result(c[1], ok=True)], pause_after=2
    )
    assert (await store.resources.get_endpoint(app_id, ep_id)).consecutive_failures == 0
    await store.queue.record_attempts(
        [result(c[2], ok=False, retry_at=later, status=429, counts=False)], pause_after=1
    )
    assert (await store.resources.get_endpoint(app_id, ep_id)).status == "active"
    await store.queue.record_attempts(
        [result(c[3], ok=False, retry_at=later, status=410, pause_reason="410 Gone")],
        pause_after=10,
    )
    ep = await store.resources.get_endpoint(app_id, ep_id)
    assert (ep.status, ep.paused_reason) == ("paused", "410 Gone")


async def test_job_targets_are_never_auto_paused(store: Store) -> None:
    app_id, _ = await _app_with_endpoint(store)
    url = "http://127.0.0.1:9/job"
    made = [
        await store.jobs.create_job(NewJob(app_id=app_id, id=j, type="t", webhook_url=url))
        for j in "ab"
    ]
    target_id = made[0].job.webhook_endpoint_id
    assert target_id is not None and made[1].job.webhook_endpoint_id == target_id  # made once
    target = await store.resources.get_endpoint(app_id, target_id)
    assert target.kind == "job_target"
    await store.messages.enqueue_message(
        NewMessage(app_id=app_id, event_type="job.completed", body=b"{}",
                   only_endpoint_id=target.id)
    )  # fmt: skip
    claims = await store.queue.claim_due(worker_id="w", limit=10, lease_seconds=30)
    mine = [c for c in claims if c.endpoint_id == target.id]
    await store.queue.record_attempts([result(c, ok=False) for c in mine], pause_after=1)
    assert (await store.resources.get_endpoint(app_id, target.id)).status == "active"


async def test_release_gives_leases_back(store: Store) -> None:
    app_id, _ = await _app_with_endpoint(store)
    await _send(store, app_id, 2)
    claims = await store.queue.claim_due(worker_id="w", limit=2, lease_seconds=30)
    at = time.time() + 0.4
    await store.queue.release(claims, at=at)
    assert await store.queue.claim_due(worker_id="w", limit=2, lease_seconds=30) == []
    due = await store.queue.next_due_at()
    assert due is not None and abs(due - at) < 0.01
    await asyncio.sleep(0.45)
    assert len(await store.queue.claim_due(worker_id="w", limit=2, lease_seconds=30)) == 2


async def test_send_slots_are_spaced_across_workers(stores: OpenStore) -> None:
    a, b = await stores(), await stores()
    _app_id, ep_id = await _app_with_endpoint(a, rate_limit_per_second=20.0)
    firsts = await asyncio.gather(
        *(s.queue.reserve_send_slots(ep_id, 5, 20.0) for s in (a, b, a, b))
    )
    slots = sorted(f + i / 20.0 for f in firsts for i in range(5))
    gaps = [y - x for x, y in itertools.pairwise(slots)]
    assert min(gaps) >= 0.05 - 1e-6, gaps  # no two sends closer than 1/rate
    assert slots[-1] - slots[0] == pytest.approx(19 / 20.0, abs=0.02)
    assert slots[0] <= time.time() + 0.01


async def test_pause_hold_resume_and_delete_endpoint(store: Store) -> None:
    app_id, ep_id = await _app_with_endpoint(store)
    await _send(store, app_id, 3)
    await store.resources.update_endpoint(
        app_id, ep_id, {"status": "paused", "paused_reason": "ops"}
    )
    assert (await store.queue.queue_stats()).held == 3
    assert await store.queue.claim_due(worker_id="w", limit=9, lease_seconds=30) == []
    await store.resources.update_endpoint(app_id, ep_id, {"status": "active"})
    assert (await store.queue.queue_stats()).pending == 3
    await store.resources.delete_endpoint(app_id, ep_id)
    page = await store.messages.list_deliveries(app_id, DeliveryFilter(), limit=10, cursor=None)
    assert {d.status for d in page.data} == {"canceled"}
    assert await store.queue.next_due_at() is None


async def test_prune_deletes_old_finished_history_only(store: Store) -> None:
    app_id, _ = await _app_with_endpoint(store)
    old = datetime.fromtimestamp(time.time() - 40 * 86400, UTC)
    for _ in range(7):
        await store.messages.enqueue_message(
            NewMessage(app_id=app_id, event_type="a.b", body=b"{}", created_at=old, tags=("t",))
        )
    await store.messages.enqueue_message(NewMessage(app_id=app_id, event_type="a.b", body=b"{}"))
    claims = await store.queue.claim_due(worker_id="w", limit=20, lease_seconds=30)
    assert len(claims) == 8
    # the new message's last (ids made in one millisecond do not sort by time)
    claims.sort(key=lambda c: c.msg_timestamp)
    # five old ones succeeded long ago, one failed for good, one is still retrying
    started = old.timestamp() + 1
    done = [result(c, ok=True, started_at=started) for c in claims[:5]]
    done.append(result(claims[5], ok=False, started_at=started))
    done.append(result(claims[6], ok=False, started_at=started, retry_at=time.time() + 600))
    done.append(result(claims[7], ok=True))
    await store.queue.record_attempts(done, pause_after=100)
    n = await store.retention.prune(older_than=time.time() - 30 * 86400, batch=2)
    assert n == 7 + 6  # seven old attempts, six finished old messages
    left = await store.messages.list_messages(app_id, limit=20, cursor=None)
    assert len(left.data) == 2
    attempts = await store.messages.list_attempts(app_id, DeliveryFilter(), limit=20, cursor=None)
    assert len(attempts.data) == 1
    assert (await store.messages.list_messages(app_id, limit=20, cursor=None, tag="t")).data != []
    assert await store.retention.prune(older_than=time.time() - 30 * 86400) == 0


async def test_wait_for_work_wakes_on_enqueue(stores: OpenStore) -> None:
    a = await stores()
    app_id, _ = await _app_with_endpoint(a)
    await a.queue.wait_for_work(0.05)  # PostgreSQL: starts listening
    await asyncio.sleep(0.3)
    waiter = asyncio.create_task(a.queue.wait_for_work(10))
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    await _send(a, app_id)
    await asyncio.wait_for(waiter, 5)
    assert time.monotonic() - t0 < 2
    await asyncio.sleep(0.3)  # (the NOTIFY of that enqueue comes back too, nobody waiting:
    await a.queue.wait_for_work(0.2)  # it is kept, and ends the next wait at once)
    t0 = time.monotonic()
    await a.queue.wait_for_work(0.2)  # nothing new: the timeout
    assert time.monotonic() - t0 >= 0.19
