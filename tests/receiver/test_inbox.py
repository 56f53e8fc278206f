"""The inbox contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookwise.receiver import Inbox, InboxUnavailable, NewItem, State
from hookwise.receiver.inbox import Failure, open_inbox
from hookwise.receiver.inbox_sql import MAX_ERROR, Dialect, SqlInbox
from hookwise.receiver.postgres_inbox import POSTGRES, PostgresInbox
from hookwise.receiver.sqlite_inbox import SQLITE, SqliteInbox


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


async def test_an_outcome_keeps_the_error_and_cuts_a_long_one(inbox: Inbox) -> None:
    await inbox.insert(item("k"))
    (first,) = await inbox.claim(1, 0)
    await inbox.fail([Failure(first.id, first.attempts, "x" * 5000, now())])
    (second,) = await inbox.claim(1, 60)
    assert second.last_error == "x" * MAX_ERROR
    await inbox.complete([(second.id, second.attempts)])
    done = await inbox.get(second.id)
    assert done is not None and done.state is State.DONE and done.next_try_at is None
    assert done.last_error == "x" * MAX_ERROR  # what the last failure said stays readable


async def test_expect_again_moves_a_pending_deadline_not_a_resolved_one(inbox: Inbox) -> None:
    soon, later = now() + timedelta(minutes=1), now() + timedelta(hours=1)
    await inbox.expect("job_1", "http://x/1", soon)
    await inbox.expect("job_1", "http://x/2", later, "job.completed")
    pending = await inbox.expectation("job_1")
    assert pending is not None and pending.status_url == "http://x/2"
    assert abs((pending.deadline - later).total_seconds()) < 0.01
    assert pending.next_poll_at == pending.deadline and pending.event_type == "job.completed"
    await inbox.settle("job_1", error=None, resolved=True)
    await inbox.expect("job_1", "http://x/3", soon)
    resolved = await inbox.expectation("job_1")
    assert resolved is not None and resolved.status_url == "http://x/2"


async def test_an_inbox_opens_again_after_close(make_inbox: Callable[[], Inbox]) -> None:
    box = make_inbox()
    await box.open()
    await box.insert(item("k"))
    await box.close()
    await box.open()
    try:
        assert (await box.counts())[State.RECEIVED] == 1
        assert await box.insert(item("k2")) is not None
    finally:
        await box.close()


class _Recorder:
    """A driver that keeps the statements instead of running them."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def insert(self, item: NewItem) -> str | None:
        return None

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.sql.append(sql)
        return []

    async def write(self, sql: str, params: Sequence[Any] = (), durable: bool = False) -> list[Any]:
        return await self.read(sql, params)

    async def write_many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        await self.read(sql, params)

    async def transaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        for sql, params in statements:
            await self.read(sql, params)
        return []

    async def listen(self, wake: Callable[[], None]) -> None: ...

    def notify(self) -> None: ...


async def _statements(dialect: Dialect) -> list[str]:
    recorder = _Recorder()
    box = SqlInbox(recorder, dialect, "t")
    await box.claim(1, 60)
    await box.complete([("i", 1)])
    await box.fail([Failure("i", 1, "e", None)])
    await box.get("i")
    await box.items(State.DEAD)
    await box.counts()
    await box.retry(["a", "b"])
    await box.prune(now())
    await box.expect("k", "http://x", now())
    await box.expectation("k")
    await box.claim_overdue(1, 60)
    await box.settle("k", error=None, resolved=True)
    return recorder.sql


async def test_both_dialects_run_the_same_rules() -> None:
    """Every rule is one statement for both databases: they differ in marks and locks only."""
    sqlite, postgres = await _statements(SQLITE), await _statements(POSTGRES)
    assert len(sqlite) == len(postgres) == 13
    assert all("$" not in s for s in sqlite)
    assert sum(" FOR UPDATE SKIP LOCKED" in s for s in postgres) == 2  # the two claims
    assert [s.replace(" FOR UPDATE SKIP LOCKED", "").replace("$", "?") for s in postgres] == sqlite
