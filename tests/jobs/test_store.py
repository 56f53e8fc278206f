"""The job operations of every Store under concurrency: counts, order and events stay exact
when batches, creates and the finish race (several stores = several processes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import orjson
import pytest

from hookwise.domain.errors import Conflict
from hookwise.domain.models import DeliveryFilter, JobFinish, JobItem, NewEndpoint, NewJob
from hookwise.store import Store, open_store

OpenStore = Callable[[], Coroutine[Any, Any, Store]]
URL = "http://127.0.0.1:9/results"


@pytest.fixture
async def stores(db_url: str) -> AsyncIterator[OpenStore]:
    opened: list[Store] = []

    async def make() -> Store:
        s = await open_store(db_url)
        opened.append(s)
        return s

    yield make
    for s in opened:
        await s.close()


def _items(prefix: str, n: int) -> list[JobItem]:
    return [
        JobItem(f"{prefix}{i}", "succeeded" if i % 3 else "failed", orjson.dumps(i).decode())
        for i in range(n)
    ]


async def _all_results(store: Store, app_id: str, job_id: str) -> list[Any]:
    out: list[Any] = []
    cursor = None
    while True:
        page = await store.jobs.list_job_results(app_id, job_id, limit=333, cursor=cursor)
        out += page.data
        cursor = page.next_cursor
        if cursor is None:
            return out


async def test_concurrent_batches_are_counted_exactly(stores: OpenStore) -> None:
    s1, s2, s3 = await stores(), await stores(), await stores()
    app = await s1.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=262144
    )
    await s1.jobs.create_job(
        NewJob(app_id=app.id, id="j", type="t", webhook_url=URL, item_events=True)
    )
    batches = [_items(f"b{b}-", 100) for b in range(12)]
    # every batch twice, from three stores at once: the repeats are all duplicates
    calls = [
        (s1, s2, s3)[n % 3].jobs.report_job_items(app.id, "j", batch)
        for n, batch in enumerate(batches + batches)
    ]
    answers = await asyncio.gather(*calls)
    assert sum(a.accepted for a in answers) == 1200
    assert sum(len(a.duplicates) for a in answers) == 1200
    assert sum(len(a.message_ids) for a in answers) == 1200
    job = await s1.jobs.get_job(app.id, "j")
    assert (job.succeeded, job.failed) == (792, 408)
    rows = await _all_results(s2, app.id, "j")
    assert [r.seq for r in rows] == list(range(1, 1201))
    assert len({r.id for r in rows}) == 1200
    first = await s1.messages.list_messages(app.id, limit=1000, cursor=None, job_id="j")
    rest = await s1.messages.list_messages(app.id, limit=1000, cursor=first.next_cursor, job_id="j")
    events = first.data + rest.data
    assert len(events) == 1200
    assert {m.event_type for m in events} == {"job.item_finished"}
    # each item's progress counts include it: the last event of all says 792 and 408
    progress = [orjson.loads(m.body)["progress"] for m in events]
    assert {"total": None, "succeeded": 792, "failed": 408} in progress


async def test_concurrent_creates_of_one_id_make_one_job_and_one_target(
    stores: OpenStore,
) -> None:
    s1, s2 = await stores(), await stores()
    app = await s1.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=262144
    )
    new = NewJob(app_id=app.id, id="same", type="t", webhook_url=URL)
    made = await asyncio.gather(*[(s1, s2)[n % 2].jobs.create_job(new) for n in range(8)])
    assert sum(m.created for m in made) == 1
    assert len({m.job.webhook_endpoint_id for m in made}) == 1
    other = await s2.jobs.create_job(NewJob(app_id=app.id, id="other", type="t", webhook_url=URL))
    assert other.job.webhook_endpoint_id == made[0].job.webhook_endpoint_id
    slower = NewJob(app_id=app.id, id="slow", type="t", webhook_url=URL, webhook_retry_schedule=())
    assert (
        await s1.jobs.create_job(slower)
    ).job.webhook_endpoint_id != other.job.webhook_endpoint_id
    secrets = await asyncio.gather(s1.jobs.job_secret(app.id), s2.jobs.job_secret(app.id))
    assert secrets[0] == secrets[1]
    target = await s1.resources.get_endpoint(app.id, other.job.webhook_endpoint_id or "")
    assert target.kind == "job_target" and target.secret == secrets[0][0]


async def test_a_batch_racing_the_finish_is_in_it_or_refused(stores: OpenStore) -> None:
    s1, s2 = await stores(), await stores()
    app = await s1.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=262144
    )
    for round_ in range(5):
        job_id = f"race{round_}"
        await s1.jobs.create_job(NewJob(app_id=app.id, id=job_id, type="t"))
        await s1.jobs.report_job_items(app.id, job_id, _items("a", 10))
        finish = JobFinish("completed", {}, URL, 262144)
        got = await asyncio.gather(
            s2.jobs.report_job_items(app.id, job_id, _items("b", 10)),
            s1.jobs.finish_job(app.id, job_id, finish),
            return_exceptions=True,
        )
        assert not isinstance(got[1], BaseException)
        body = orjson.loads((await s1.messages.get_message(app.id, got[1].message_id)).body)
        stored = await _all_results(s1, app.id, job_id)
        if isinstance(got[0], BaseException):
            assert isinstance(got[0], Conflict)
            assert len(stored) == 10
        assert len(body["results"]) == len(stored) == body["summary"]["total"]
        with pytest.raises(Conflict):
            await s2.jobs.finish_job(app.id, job_id, finish)


async def test_job_events_to_a_paused_endpoint_wait_held(stores: OpenStore) -> None:
    # the same rule as any message's: a paused endpoint's deliveries start held, its target's not
    store = await stores()
    app = await store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=1024
    )
    paused = await store.resources.create_endpoint(
        NewEndpoint(app_id=app.id, url="http://127.0.0.1:9/p", secret="whsec_x", events=("job.*",))
    )
    await store.resources.update_endpoint(app.id, paused.id, {"status": "paused"})
    made = await store.jobs.create_job(
        NewJob(app_id=app.id, id="j", type="t", webhook_url=URL, item_events=True)
    )
    await store.jobs.report_job_items(app.id, "j", _items("i", 2))
    await store.jobs.finish_job(app.id, "j", JobFinish("completed", {}, URL, 262144))
    deliveries = (
        await store.messages.list_deliveries(app.id, DeliveryFilter(), limit=100, cursor=None)
    ).data
    by_endpoint = {ep: sorted(d.status for d in deliveries if d.endpoint_id == ep)
                   for ep in {d.endpoint_id for d in deliveries}}  # fmt: skip
    assert by_endpoint == {
        paused.id: ["held"] * 3,  # two item events and the completion
        made.job.webhook_endpoint_id: ["pending"] * 3,
    }
