"""What the console's pages ask of every Store: messages by delivery status and creation time,
pages towards the newest, and the headers an attempt recorded."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

import pytest

from hookwise.domain.models import DeliveryFilter, NewEndpoint, NewMessage
from hookwise.store import Store, messages
from tests.store.conftest import result


async def _app(store: Store) -> tuple[str, str]:
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=1024
    )
    ep = await store.resources.create_endpoint(
        NewEndpoint(app_id=app.id, url="http://127.0.0.1:9/h", secret="s")
    )
    return app.id, ep.id


async def _send(store: Store, app_id: str, event_type: str, at: float | None = None) -> str:
    when = None if at is None else datetime.fromtimestamp(at, UTC)
    new = NewMessage(app_id=app_id, event_type=event_type, body=b"{}", created_at=when)
    return (await store.messages.enqueue_message(new)).message.id


async def test_messages_by_delivery_status(store: Store) -> None:
    app_id, _ = await _app(store)
    ok, bad, waiting = [await _send(store, app_id, "a.b") for _ in range(3)]
    claims = {
        c.message_id: c
        for c in await store.queue.claim_due(worker_id="w", limit=3, lease_seconds=30)
    }
    await store.queue.record_attempts(
        [result(claims[ok], ok=True), result(claims[bad], ok=False)], pause_after=10
    )

    async def ids(status: str) -> list[str]:
        p = await store.messages.list_messages(app_id, limit=10, cursor=None, status=status)
        return [m.id for m in p.data]

    assert await ids("succeeded") == [ok]
    assert await ids("failed") == [bad]
    assert await ids("pending") == [waiting]
    assert await ids("held") == []


async def test_messages_by_creation_time(store: Store) -> None:
    app_id, _ = await _app(store)
    now = time.time()
    # ids are minted now; created_at says when: the id range only narrows, created_at decides
    old = await _send(store, app_id, "a.b", now - 30)
    new = await _send(store, app_id, "a.b", now)

    async def ids(since: float | None = None, until: float | None = None) -> list[str]:
        p = await store.messages.list_messages(
            app_id, limit=10, cursor=None, since=since, until=until
        )
        return [m.id for m in p.data]

    assert await ids(since=now - 10) == [new]
    assert await ids(until=now - 10) == [old]
    assert sorted(await ids(since=now - 60, until=now + 1)) == sorted([new, old])
    assert await ids(since=now + 3600) == []


async def test_pages_towards_the_newest(store: Store) -> None:
    app_id, _ = await _app(store)
    # ids minted in one millisecond are in no order: the list's order is the ids'
    sent = sorted([await _send(store, app_id, "a.b") for _ in range(7)])
    newest_first = sent[::-1]
    first = await store.messages.list_messages(app_id, limit=3, cursor=None)
    second = await store.messages.list_messages(app_id, limit=3, cursor=first.next_cursor)
    assert [m.id for m in second.data] == newest_first[3:6]
    # back from the second page: the 3 just newer than its newest, newest first, and no more
    back = await store.messages.list_messages(app_id, limit=3, cursor=None, newer=sent[3])
    assert [m.id for m in back.data] == newest_first[:3] and back.next_cursor is None
    # from the oldest: the 3 just newer, and more newer still
    up = await store.messages.list_messages(app_id, limit=3, cursor=None, newer=sent[0])
    assert [m.id for m in up.data] == [sent[3], sent[2], sent[1]]
    assert up.next_cursor == sent[3]
    # filters hold in both directions
    other = await store.messages.list_messages(
        app_id, limit=3, cursor=None, newer=sent[0], event_type="x.y"
    )
    assert other.data == []


async def test_attempts_newer_than_one_seen(store: Store) -> None:
    app_id, _ = await _app(store)
    for _ in range(3):
        await _send(store, app_id, "a.b")
    claims = await store.queue.claim_due(worker_id="w", limit=3, lease_seconds=30)
    await store.queue.record_attempts([result(c, ok=True) for c in claims], pause_after=10)
    every = await store.messages.list_attempts(app_id, DeliveryFilter(), limit=10, cursor=None)
    oldest = every.data[-1].id
    newer = await store.messages.list_attempts(
        app_id, DeliveryFilter(), limit=10, cursor=None, newer=oldest
    )
    assert [a.id for a in newer.data] == [a.id for a in every.data[:2]]
    none = await store.messages.list_attempts(
        app_id, DeliveryFilter(), limit=10, cursor=None, newer=every.data[0].id
    )
    assert none.data == []


async def test_an_attempt_keeps_the_headers_sent_and_received(store: Store) -> None:
    app_id, _ = await _app(store)
    await _send(store, app_id, "a.b")
    await _send(store, app_id, "a.b")
    first, second = await store.queue.claim_due(worker_id="w", limit=2, lease_seconds=30)
    sent = "POST /h HTTP/1.1\nHost: 127.0.0.1:9\nwebhook-id: x\nX-Token: ***"
    got = "Content-Type: text/plain\nX-Answer: \u00e9t\u00e9"
    await store.queue.record_attempts(
        [
            dataclasses.replace(result(first, ok=True), request_headers=sent, response_headers=got),
            result(second, ok=False),  # no headers known: NULL, not ''
        ],
        pause_after=10,
    )
    by_message = {
        a.message_id: a
        for a in (
            await store.messages.list_attempts(app_id, DeliveryFilter(), limit=10, cursor=None)
        ).data
    }
    a = await store.messages.get_attempt(app_id, by_message[first.message_id].id)
    assert (a.request_headers, a.response_headers) == (sent, got)
    b = by_message[second.message_id]
    assert (b.request_headers, b.response_headers) == (None, None)


async def test_a_status_page_looks_at_a_bounded_number_of_messages(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages, "SCAN", 3)
    app_id, _ = await _app(store)
    sent = sorted([await _send(store, app_id, "a.b") for _ in range(8)])
    # the 1st, 2nd and 7th sent have a failed delivery
    claims = {c.message_id: c for c in await store.queue.claim_due(
        worker_id="w", limit=8, lease_seconds=30)}  # fmt: skip
    await store.queue.record_attempts(
        [result(c, ok=m not in (sent[0], sent[1], sent[6])) for m, c in claims.items()],
        pause_after=10,
    )

    async def walk(**at: str) -> tuple[list[str], str | None]:
        p = await store.messages.list_messages(
            app_id, limit=2, cursor=at.get("cursor"), newer=at.get("newer"), status="failed"
        )
        return [m.id for m in p.data], p.next_cursor

    # newest first, 3 looked at a page: 7,6,5 | 4,3,2 | 1,0 (0-based, newest is 7)
    assert await walk() == ([sent[6]], sent[5])
    assert await walk(cursor=sent[5]) == ([], sent[2])  # nothing among 3 looked at: go on
    assert await walk(cursor=sent[2]) == ([sent[1], sent[0]], None)
    # the other way: from the oldest, 3 looked at: 1,2,3 | 4,5,6
    assert await walk(newer=sent[0]) == ([sent[1]], sent[3])
    assert await walk(newer=sent[3]) == ([sent[6]], sent[6])  # a full page: more newer
    # a page that fills up before the bound ends where it fills
    monkeypatch.setattr(messages, "SCAN", 100)
    assert await walk() == ([sent[6], sent[1]], sent[1])
