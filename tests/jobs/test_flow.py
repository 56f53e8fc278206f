"""The seed 001 flow end to end: create with a webhook_url, report, finish, one signed
job.completed that matches the contract and agrees with the polling answer."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from hookwise.domain.signing import Verifier
from tests.conftest import Api
from tests.jobs.helpers import create_job, finish, job_secret, report
from tests.receivers import Receiver


async def test_seed_001_flow(api_factory, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    api: Api = await api_factory(workers=1)
    app = await api.app()
    created = await create_job(
        api, app["id"], total=2, webhook_url=receiver.url("/cb"), custom={"crm_id": "42"}
    )
    assert created["status"] == "running"
    assert created["id"].startswith("job_")
    assert created["status_url"] == f"{api.base_url}/v1/apps/{app['id']}/jobs/{created['id']}"
    job_id = created["id"]

    await report(api, app["id"], job_id, [
        {"id": "c1", "status": "succeeded", "result": {"email": "john@acme.com"}},
        {"id": "c2", "status": "failed", "error": "no email found"},
    ])  # fmt: skip
    done = await finish(api, app["id"], job_id, summary={"emails_found": 1})
    assert done["status"] == "completed"

    await receiver.wait_for(lambda r: r.at("/cb"))
    await api.drain()
    (got,) = receiver.at("/cb")
    secret = await job_secret(api, app["id"])
    assert Verifier.from_secrets(secret).verify(got.body, got.headers) == done["message_id"]
    body = orjson.loads(got.body)
    assert list(body) == [
        "event", "id", "timestamp", "job_id", "type", "status", "summary", "results", "custom",
        "completed_at", "results_truncated", "results_endpoint",
    ]  # fmt: skip
    assert body["event"] == "job.completed"
    assert body["id"] == got.headers["webhook-id"]
    assert body["job_id"] == job_id
    assert body["type"] == "enrich.bulk"
    assert body["status"] == "completed"
    assert body["summary"] == {"total": 2, "succeeded": 1, "failed": 1, "emails_found": 1}
    assert body["results"] == [
        {"id": "c1", "status": "succeeded", "result": {"email": "john@acme.com"}},
        {"id": "c2", "status": "failed", "error": "no email found"},
    ]
    assert body["custom"] == {"crm_id": "42"}
    assert body["results_truncated"] == 0
    assert body["results_endpoint"] == f"{created['status_url']}/results"
    completed_at = datetime.fromisoformat(body["completed_at"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - completed_at).total_seconds()) < 60

    r = await api.http.get(f"/v1/apps/{app['id']}/jobs/{job_id}")
    polled = r.json()
    assert r.status_code == 200
    for key in ("job_id", "type", "status", "summary", "results", "custom", "completed_at"):
        assert polled[key] == body[key], key
    assert polled["event"] == "job.completed"
    assert polled["results_truncated"] == 0 and polled["next_cursor"] is None
    assert (polled["succeeded"], polled["failed"], polled["total"]) == (1, 1, 2)


async def test_job_secret_is_per_app_and_rotates(api_factory, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    api: Api = await api_factory(workers=1)
    app, other = await api.app(), await api.app()
    old = await job_secret(api, app["id"])
    assert old.startswith("whsec_")
    assert await job_secret(api, app["id"]) == old
    assert await job_secret(api, other["id"]) != old
    # two URLs, one secret
    for path in ("/one", "/two?job=1"):
        job = await create_job(api, app["id"], webhook_url=receiver.url(path))
        await finish(api, app["id"], job["id"])
    await receiver.wait_for(lambda r: len(r.requests) == 2)
    for got in receiver.requests:
        Verifier.from_secrets(old).verify(got.body, got.headers)

    r = await api.http.post(f"/v1/apps/{app['id']}/job-secret/rotate", json={"grace_seconds": 60})
    assert r.status_code == 200, r.text
    new = r.json()["key"]
    assert new != old and [p["key"] for p in r.json()["previous"]] == [old]
    assert await job_secret(api, app["id"]) == new
    job = await create_job(api, app["id"], webhook_url=receiver.url("/one"))
    await finish(api, app["id"], job["id"])
    await receiver.wait_for(lambda r: len(r.requests) == 3)
    got = receiver.requests[2]
    assert len(got.headers["webhook-signature"].split()) == 2
    Verifier.from_secrets(new).verify(got.body, got.headers)
    Verifier.from_secrets(old).verify(got.body, got.headers)
