"""The inbox contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from hookwise.receiver import Inbox, InboxUnavailable, NewItem, State
from hookwise.receiver.inbox import Failure, open_inbox
from hookwise.receiver.postgres_inbox import PostgresInbox
from hookwise.receiver.sqlite_inbox import SqliteInbox


def item(key: str, event_type: str = "job.completed") -> NewItem:
    return NewItem(key, event_type, b'{"event": "job.completed"}', {"webhook-id": key})


def now() -> datetime:
    return datetime.now(UTC)


async def test_insert_is_unique_on_the_dedupe_key(inbox: Inbox) -> None:
    first = await inbox.insert(item("k1"))
    assert first is not None and first.startswith("inb_")
    assert await inbox.insert(item("k1")) is None
    stored = await inbox.get("k1")
    assert stored is not None and stored.id == first
    assert stored.state is State.RECEIVED and stored.attempts == 0
    assert stored.body == b'{"event": "job.completed"}'
    assert stored.headers == {"webhook-id": "k1"}
    assert stored.received_at.tzinfo is not None
    assert (await inbox.counts())[State.RECEIVED] == 1


async def test_concurrent_duplicates_store_one_row(inbox: Inbox) -> None:
    results = await asyncio.gather(*(inbox.insert(item("same")) for _ in range(25)))
    assert sum(r is not None for r in results) == 1
    assert (await inbox.counts())[State.RECEIVED] == 1


async def test_claim_leases_and_complete_is_fenced(inbox: Inbox) -> None:
    for k in ("a", "b", "c"):
        await inbox.insert(item(k))
    claimed = await inbox.claim(2, lease_seconds=60)
    assert [c.dedupe_key for c in claimed] == ["a", "b"]
    assert all(c.state is State.PROCESSING and c.attempts == 1 for c in claimed)
    rest = await inbox.claim(10, lease_seconds=60)
    assert [c.dedupe_key for c in rest] == ["c"]
    assert await inbox.claim(10, lease_seconds=60) == []
    await inbox.complete([(claimed[0].id, 1), (claimed[1].id, 99)])  # the second is stale
    counts = await inbox.counts()
    assert counts[State.DONE] == 1 and counts[State.PROCESSING] == 2


async def test_an_expired_lease_is_claimed_again(inbox: Inbox) -> None:
    await inbox.insert(item("k"))
    (first,) = await inbox.claim(1, lease_seconds=0)
    (again,) = await inbox.claim(1, lease_seconds=60)
    assert again.id == first.id and again.attempts == 2
    await inbox.complete([(first.id, first.attempts)])  # the old holder's outcome is ignored
    assert (await inbox.counts())[State.DONE] == 0


async def test_failures_retry_later_then_dead_then_retried(inbox: Inbox) -> None:
    await inbox.insert(item("k"))
    (claimed,) = await inbox.claim(1, 60)
    later = now() + timedelta(hours=1)
    await inbox.fail([Failure(claimed.id, 1, "boom", later)])
    stored = await inbox.get(claimed.id)
    assert stored is not None and stored.state is State.RECEIVED and stored.last_error == "boom"
    assert await inbox.claim(1, 60) == []  # not due yet
    await inbox.fail([Failure(claimed.id, 1, "ignored", None)])  # not processing: fenced
    await inbox.insert(item("k2"))
    (second,) = await inbox.claim(1, 60)
    await inbox.fail([Failure(second.id, second.attempts, "bad", None)])
    dead = await inbox.items(State.DEAD)
    assert [d.dedupe_key for d in dead] == ["k2"] and dead[0].last_error == "bad"
    assert await inbox.retry([]) == 0
    assert await inbox.retry(["inb_unknown"]) == 0
    assert await inbox.retry([second.id]) == 1
    again = await inbox.get(second.id)
    assert again is not None and again.state is State.RECEIVED and again.attempts == 0
    (reclaimed,) = await inbox.claim(5, 60)
    assert reclaimed.id == second.id


async def test_retry_all_dead(inbox: Inbox) -> None:
    for k in ("a", "b"):
        await inbox.insert(item(k))
    claimed = await inbox.claim(5, 60)
    await inbox.fail([Failure(c.id, c.attempts, "x", None) for c in claimed])
    assert (await inbox.counts())[State.DEAD] == 2
    assert await inbox.retry() == 2
    assert (await inbox.counts())[State.RECEIVED] == 2


async def test_prune_deletes_old_done_items(inbox: Inbox) -> None:
    await inbox.insert(item("a"))
    await inbox.insert(item("b"))
    (a, b) = await inbox.claim(5, 60)
    await inbox.complete([(a.id, a.attempts)])
    assert await inbox.prune(now() - timedelta(days=1)) == 0
    assert await inbox.prune(now() + timedelta(seconds=1)) == 1
    assert await inbox.get(a.id) is None and await inbox.get(b.id) is not None


async def test_expectations_are_claimed_when_overdue_and_unanswered(inbox: Inbox) -> None:
    past = now() - timedelta(seconds=1)
    await inbox.expect("job_1", "http://x/1", past)
    await inbox.expect("job_2", "http://x/2", past, "job.completed")
    await inbox.expect("job_3", "http://x/3", now() + timedelta(hours=1))
    await inbox.insert(item("job_2"))  # its webhook came: nothing to poll
    (overdue,) = await inbox.claim_overdue(10, lease_seconds=60)
    assert overdue.key == "job_1" and overdue.polls == 1 and overdue.status_url == "http://x/1"
    assert await inbox.claim_overdue(10, lease_seconds=60) == []  # leased
    await inbox.settle("job_1", error="503", resolved=False)
    exp = await inbox.expectation("job_1")
    assert exp is not None and exp.last_error == "503" and exp.resolved_at is None
    await inbox.settle("job_1", error=None, resolved=True)
    exp = await inbox.expectation("job_1")
    assert exp is not None and exp.resolved_at is not None
    assert await inbox.expectation("nope") is None


async def test_resolved_expectations_are_not_polled_again(inbox: Inbox) -> None:
    await inbox.expect("job_1", "http://x/1", now() - timedelta(seconds=1))
    (exp,) = await inbox.claim_overdue(10, lease_seconds=0)
    await inbox.settle(exp.key, error=None, resolved=True)
    assert await inbox.claim_overdue(10, lease_seconds=0) == []


async def test_wait_wakes_on_insert(inbox: Inbox) -> None:
    waiter = asyncio.create_task(inbox.wait(30))
    await asyncio.sleep(0)
    await inbox.insert(item("k"))
    await asyncio.wait_for(waiter, 5)


async def test_two_inboxes_share_one_store(make_inbox: Callable[[], Inbox]) -> None:
    a, b = make_inbox(), make_inbox()
    await a.open()
    await b.open()
    try:
        assert await a.insert(item("k")) is not None
        assert await b.insert(item("k")) is None
        (claimed,) = await b.claim(1, 60)
        assert await a.claim(1, 60) == []
        await b.complete([(claimed.id, claimed.attempts)])
        assert (await a.counts())[State.DONE] == 1
    finally:
        await a.close()
        await b.close()


async def test_unreachable_stores_raise_inbox_unavailable(tmp_path: object) -> None:
    with pytest.raises(InboxUnavailable):
        await SqliteInbox("/nonexistent-dir/x/inbox.db").open()
    with pytest.raises(InboxUnavailable):
        await PostgresInbox("postgresql://postgres@127.0.0.1:1/none", timeout=2).open()


def test_open_inbox_picks_the_backend() -> None:
    assert isinstance(open_inbox("sqlite:///tmp/x.db"), SqliteInbox)
    assert isinstance(open_inbox("postgresql://u@h:5432/db"), PostgresInbox)
    with pytest.raises(Exception, match="inbox"):
        open_inbox("redis://nope")


@pytest.mark.postgres
async def test_an_insert_wakes_a_worker_in_another_process(pg_dsn: str) -> None:
    """Another PostgresInbox on the same table stands for another process: NOTIFY wakes it."""
    writer, worker = PostgresInbox(pg_dsn, table="wake"), PostgresInbox(pg_dsn, table="wake")
    await writer.open()
    await worker.open()
    try:
        await worker.wait(0)  # starts LISTEN
        waiter = asyncio.create_task(worker.wait(30))
        await writer.insert(item("k"))
        await asyncio.wait_for(waiter, 5)
    finally:
        await writer.close()
        await worker.close()
