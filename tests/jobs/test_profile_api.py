"""Job profiles, extra fields and the per-app item cap through the API (both stores)."""

from __future__ import annotations

from typing import Any

import orjson

from tests.conftest import Api
from tests.jobs.helpers import create_job, error, finish, report
from tests.receivers import Receiver


def _items(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"c{i}", "status": "succeeded", "result": {"i": i}} for i in range(start, n)]


async def test_the_item_cap_of_an_app_and_of_a_type(api: Api) -> None:
    app = await api.app(max_items_per_job=3, job_profile={"types": {"bulk": {"max_items": 5}}})
    assert (app["max_items_per_job"], app["job_profile"]["types"]["bulk"]) == (3, {"max_items": 5})
    base = f"/v1/apps/{app['id']}/jobs"
    too_many = await api.http.post(base, json={"type": "enrich", "total": 4})
    assert error(too_many, 422, "validation_error")["details"]["field"] == "total"
    assert (await api.http.post(base, json={"type": "bulk", "total": 5})).status_code == 201

    job = await create_job(api, app["id"], type="enrich")
    r = await api.http.post(f"{base}/{job['id']}/items", json={"items": _items(4)})
    assert error(r, 422, "validation_error")["details"]["field"] == "items"
    got = (await api.http.get(f"{base}/{job['id']}")).json()
    assert (got["succeeded"], got["results"]) == (0, [])  # nothing stored
    assert (await report(api, app["id"], job["id"], _items(3)))["accepted"] == 3
    r = await api.http.post(f"{base}/{job['id']}/items", json={"items": _items(4, 3)})
    assert error(r, 422)["details"]["field"] == "items"
    # a retried batch of items stored already is not past the cap
    assert (await report(api, app["id"], job["id"], _items(3)))["duplicates"] == ["c0", "c1", "c2"]

    bulk = await create_job(api, app["id"], type="bulk")
    assert (await report(api, app["id"], bulk["id"], _items(5)))["accepted"] == 5

    patched = await api.http.patch(f"/v1/apps/{app['id']}", json={"max_items_per_job": None})
    assert patched.json()["max_items_per_job"] is None
    free = await create_job(api, app["id"], type="enrich", total=1000)
    assert (await report(api, app["id"], free["id"], _items(10)))["accepted"] == 10


async def test_a_profile_is_validated_stored_and_changed(api: Api, receiver: Receiver) -> None:
    bad = await api.http.post("/v1/apps", json={"name": "a", "job_profile": {"fields": {"id": 1}}})
    assert error(bad, 422)["details"]["field"] == "job_profile.fields.id"
    app = await api.app()
    assert app["job_profile"] is None
    path = f"/v1/apps/{app['id']}"
    r = await api.http.patch(path, json={"job_profile": {"results_endpoint": "https://x/{ip}"}})
    assert error(r, 422)["details"]["field"] == "job_profile.results_endpoint"
    profile = {"events": {"completed": "enrichment.completed"},
               "fields": {"job_id": "workflow_id"}}  # fmt: skip
    r = await api.http.patch(path, json={"job_profile": profile})
    assert r.json()["job_profile"] == profile
    assert (await api.http.get(path)).json()["job_profile"] == profile

    job = await create_job(
        api, app["id"], webhook_url=receiver.url("/cb"), fields={"lead_list_id": "L1", "n": [1]}
    )
    taken = await api.http.post(
        f"{path}/jobs", json={"type": "enrich", "fields": {"workflow_id": "x"}}
    )
    assert error(taken, 422)["details"]["field"] == "fields.workflow_id"
    done = await finish(api, app["id"], job["id"])
    assert done["event"] == "enrichment.completed"
    assert done["fields"] == {"lead_list_id": "L1", "n": [1]}
    await api.drain()
    (got,) = receiver.at("/cb")
    body = orjson.loads(got.body)
    assert list(body)[:6] == ["event", "id", "timestamp", "workflow_id", "lead_list_id", "n"]
    assert body["event"] == "enrichment.completed"

    # back to hookwise's shape: the app cache forgets the old profile at once
    assert (await api.http.patch(path, json={"job_profile": None})).json()["job_profile"] is None
    again = await create_job(api, app["id"], webhook_url=receiver.url("/cb"))
    assert (await finish(api, app["id"], again["id"]))["event"] == "job.completed"
    await api.drain()
    assert orjson.loads(receiver.at("/cb")[-1].body)["job_id"] == again["id"]


async def test_a_raw_endpoint_gets_the_profiled_job_event_whole(
    api: Api, receiver: Receiver
) -> None:
    profile = {"events": {"completed": "enrichment.completed"}, "fields": {"id": None}}
    app = await api.app(job_profile=profile)
    await api.endpoint(
        app["id"], url=receiver.url("/raw"), events=["enrichment.*"], payload_format="raw"
    )
    job = await create_job(api, app["id"], fields={"lead_list_id": "L1"})
    await finish(api, app["id"], job["id"])
    await api.drain()
    (got,) = receiver.at("/raw")
    body = orjson.loads(got.body)
    assert (body["event"], body["job_id"], body["lead_list_id"]) == (
        "enrichment.completed", job["id"], "L1",
    )  # fmt: skip
    assert "id" not in body
