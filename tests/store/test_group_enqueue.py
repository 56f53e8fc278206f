"""Concurrent enqueues are committed together (group commit), and each still fails alone.

Both stores group the messages of concurrent requests (SQLite's writer thread, PostgreSQL's
``postgres.enqueue``): a refused message must not take the others of its group with it, and a
repeated ``event_id`` must still make one message, whoever commits first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from hookwise.domain.errors import Conflict, InvalidInput
from hookwise.domain.ids import new_id
from hookwise.domain.models import DeliveryFilter, EndpointStatus, NewEndpoint, NewMessage
from hookwise.store import Store, open_store
from hookwise.store.enqueue import Draft
from hookwise.store.postgres import PostgresStore
from hookwise.store.postgres.enqueue import PostgresEnqueue
from tests.pg import postgres_url_for
from tests.store.conftest import OpenStore


async def _app(store: Store, *, status: EndpointStatus = "active") -> tuple[str, str]:
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=1024
    )
    ep = await store.resources.create_endpoint(
        NewEndpoint(app_id=app.id, url="http://127.0.0.1:9/x", secret="s", status=status)
    )
    return app.id, ep.id


def _new(app_id: str, n: int, **fields: Any) -> NewMessage:
    return NewMessage(
        app_id=app_id, event_type="a.b", body=b'{"n": %d}' % n, tags=(f"t{n}", "all"), **fields
    )


async def _xmins(db_url: str, table: str) -> set[str]:
    conn = await asyncpg.connect(db_url)
    try:
        return {r[0] for r in await conn.fetch(f"SELECT xmin::text FROM {table}")}
    finally:
        await conn.close()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL database (these tests are about its group commit; SQLite's writer
    groups its writes too: tests/store/test_sqlite_groups.py)."""
    return postgres_url_for(request)


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[Store]:
    s = await open_store(pg_url)
    yield s
    await s.close()


@pytest.mark.postgres
async def test_concurrent_enqueues_commit_in_one_transaction(pg_store: Store, pg_url: str) -> None:
    store, db_url = pg_store, pg_url
    app_id, ep = await _app(store)
    got = await asyncio.gather(
        *(store.messages.enqueue_message(_new(app_id, n)) for n in range(20))
    )
    assert all(e.created and len(e.delivery_ids) == 1 for e in got)
    assert len({e.message.id for e in got}) == 20
    # one transaction wrote every message, its tags and its delivery
    xmins = await _xmins(db_url, "messages")
    assert len(xmins) == 1
    assert await _xmins(db_url, "deliveries") == xmins
    assert await _xmins(db_url, "message_tags") == xmins
    for n, e in enumerate(got):
        assert e.message.body == b'{"n": %d}' % n
        d = await store.messages.get_delivery(app_id, e.delivery_ids[0])
        assert (d.message_id, d.endpoint_id, d.status) == (e.message.id, ep, "pending")
        page = await store.messages.list_messages(app_id, limit=5, cursor=None, tag=f"t{n}")
        assert [m.id for m in page.data] == [e.message.id]


async def test_a_refused_message_does_not_fail_the_others_of_its_group(
    store: Store, db_url: str
) -> None:
    app_id, _ep = await _app(store, status="paused")
    await store.messages.enqueue_message(_new(app_id, 0, message_id="msg_taken"))
    bad: dict[int, type[Exception]] = {3: Conflict}
    news = [_new(app_id, n) for n in range(10)]
    news[3] = _new(app_id, 3, message_id="msg_taken")
    if db_url.startswith("postgresql"):  # text PostgreSQL cannot store (SQLite takes it)
        news[7] = NewMessage(app_id=app_id, event_type="a.\x00b", body=b"{}")
        bad[7] = InvalidInput
    got = await asyncio.gather(
        *(store.messages.enqueue_message(n) for n in news), return_exceptions=True
    )
    for n, out in enumerate(got):
        if n in bad:
            assert isinstance(out, bad[n]), out
        else:
            assert not isinstance(out, BaseException), out
            assert out.created and len(out.delivery_ids) == 1
            d = await store.messages.get_delivery(app_id, out.delivery_ids[0])
            assert d.status == "held"
    page = await store.messages.list_messages(app_id, limit=50, cursor=None)
    assert len(page.data) == 1 + 10 - len(bad)


async def test_a_repeated_event_id_makes_one_message_under_concurrency(
    stores: OpenStore,
) -> None:
    # two stores are two API processes; each also repeats the event_id within its own group
    a, b = await stores(), await stores()
    app_id, _ep = await _app(a)
    news = [_new(app_id, n, event_id="evt-1") for n in range(6)] + [
        _new(app_id, n) for n in range(6, 10)
    ]
    got = await asyncio.gather(*(s.messages.enqueue_message(n) for n in news for s in (a, b)))
    repeats = got[:12]
    firsts = [e for e in repeats if e.created]
    assert len(firsts) == 1
    assert {e.message.id for e in repeats} == {firsts[0].message.id}
    assert {e.delivery_ids for e in repeats} == {firsts[0].delivery_ids}
    assert len(firsts[0].delivery_ids) == 1
    assert all(e.created for e in got[12:])
    page = await a.messages.list_messages(app_id, limit=50, cursor=None)
    assert len(page.data) == 1 + 8
    only = DeliveryFilter(message_id=firsts[0].message.id)
    deliveries = await a.messages.list_deliveries(app_id, only, limit=10, cursor=None)
    assert [d.id for d in deliveries.data] == list(firsts[0].delivery_ids)


@pytest.mark.postgres
async def test_a_draft_queued_as_the_last_committer_ends_is_committed(pg_store: Store) -> None:
    # the answer of one message resumes its caller before the committer's task is done: a
    # message enqueued right then must start a committer, not wait for one that is ending
    store = pg_store
    assert isinstance(store, PostgresStore)
    app_id, _ep = await _app(store)
    enqueue = PostgresEnqueue(store._db, committers=1)
    for n in range(3):
        draft = Draft(_new(app_id, n), new_id("msg"), time.time())
        async with asyncio.timeout(5):  # (wait_for's own task would give the committer time)
            got = await enqueue(draft)
        assert got.enqueued.created
