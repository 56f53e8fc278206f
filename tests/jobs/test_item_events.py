"""Per-item events (seed 004) arrive as items are reported, and endpoints subscribed to job
events get the same events as the job's webhook_url."""

from __future__ import annotations

from typing import Any

import orjson

from hookwise.domain.signing import Verifier
from tests.conftest import Api
from tests.jobs.helpers import create_job, events, finish, job_secret, report
from tests.receivers import Receiver


async def test_item_events_arrive_as_items_are_reported(
    api_factory: Any, receiver: Receiver
) -> None:
    api: Api = await api_factory(workers=1)
    app = await api.app()
    job = await create_job(
        api, app["id"], total=2, webhook_url=receiver.url("/cb"),
        webhook_events={"item_finished": True}, custom={"user": "u-7"},
    )  # fmt: skip

    answer = await report(
        api, app["id"], job["id"], [{"id": "c1", "status": "succeeded", "result": {"x": 1}}]
    )
    assert answer["events"] == 1
    # the first item's event is delivered while the job is still running
    await receiver.wait_for(lambda r: len(r.at("/cb")) == 1, timeout=10)
    (first,) = events(receiver.at("/cb"))
    polled = (await api.http.get(f"/v1/apps/{app['id']}/jobs/{job['id']}")).json()
    assert polled["status"] == "running"
    assert first == {
        "event": "job.item_finished",
        "id": first["id"],
        "timestamp": first["timestamp"],
        "job_id": job["id"],
        "type": "enrich.bulk",
        "item": {"id": "c1", "status": "succeeded", "result": {"x": 1}},
        "progress": {"total": 2, "succeeded": 1, "failed": 0},
        "custom": {"user": "u-7"},
    }

    await report(api, app["id"], job["id"], [{"id": "c2", "status": "failed", "error": "nope"}])
    await receiver.wait_for(lambda r: len(r.at("/cb")) == 2, timeout=10)
    await finish(api, app["id"], job["id"])
    await receiver.wait_for(lambda r: len(r.at("/cb")) == 3, timeout=10)

    got = receiver.at("/cb")
    assert [b["event"] for b in events(got)] == [
        "job.item_finished", "job.item_finished", "job.completed",
    ]  # fmt: skip
    assert events(got)[1]["progress"] == {"total": 2, "succeeded": 1, "failed": 1}
    verifier = Verifier.from_secrets(await job_secret(api, app["id"]))
    for r in got:
        assert verifier.verify(r.body, r.headers) == orjson.loads(r.body)["id"]
    assert len({r.headers["webhook-id"] for r in got}) == 3


async def test_subscribed_endpoints_get_the_same_events(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url("/all-jobs"), events=["job.*"])
    await api.endpoint(app["id"], url=receiver.url("/completed"), events=["job.completed"])
    await api.endpoint(app["id"], url=receiver.url("/email"), events=["email.*"])
    job = await create_job(
        api, app["id"], webhook_url=receiver.url("/cb"), webhook_events={"item_finished": True}
    )
    await report(api, app["id"], job["id"], [{"id": "a", "status": "succeeded"}])
    await finish(api, app["id"], job["id"])
    # a job that asked for no item events sends none to anyone
    quiet = await create_job(api, app["id"])
    await report(api, app["id"], quiet["id"], [{"id": "a", "status": "succeeded"}])
    await finish(api, app["id"], quiet["id"], status="canceled")
    await api.drain()

    # deliveries of separate messages run concurrently: compare without order
    own = {r.body for r in receiver.at("/cb")}
    assert sorted(b["event"] for b in events(receiver.at("/cb"))) == [
        "job.completed", "job.item_finished",
    ]  # fmt: skip
    everything = {r.body for r in receiver.at("/all-jobs")}
    assert len(everything) == 3 and own < everything
    assert sorted(b["event"] for b in events(receiver.at("/all-jobs"))) == [
        "job.canceled", "job.completed", "job.item_finished",
    ]  # fmt: skip
    (completed,) = receiver.at("/completed")
    assert completed.body in own and orjson.loads(completed.body)["event"] == "job.completed"
    assert receiver.at("/email") == []

    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"job_id": job["id"]})
    assert len(r.json()["data"]) == 2 + 3
    assert {d["status"] for d in r.json()["data"]} == {"succeeded"}
