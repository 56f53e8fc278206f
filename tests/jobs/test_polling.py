"""A webhook_url that is down for the whole schedule: every attempt is logged, the target is
never paused, and the job stays readable by polling."""

from __future__ import annotations

from typing import Any

import orjson

from hookwise.domain.signing import Verifier
from tests.conftest import Api
from tests.jobs.helpers import create_job, finish, job_secret, report
from tests.receivers import Receiver


async def test_down_webhook_url_leaves_the_job_pollable(
    api_factory: Any, receiver: Receiver
) -> None:
    api: Api = await api_factory(workers=1, auto_pause_after=2)
    app = await api.app()
    receiver.always("/down", 503)
    job = await create_job(
        api, app["id"], total=3, webhook_url=receiver.url("/down"),
        webhook_retry_schedule=[0.1, 0.2, 0.3],
    )  # fmt: skip
    items = [{"id": f"i{n}", "status": "succeeded", "result": {"n": n}} for n in range(3)]
    await report(api, app["id"], job["id"], items)
    await finish(api, app["id"], job["id"], summary={"credits": 3})
    await api.drain()

    got = receiver.at("/down")
    assert len(got) == 4  # the first attempt and three retries, same message every time
    assert len({r.headers["webhook-id"] for r in got}) == 1
    assert len({r.body for r in got}) == 1
    verifier = Verifier.from_secrets(await job_secret(api, app["id"]))
    assert all(verifier.verify(r.body, r.headers) for r in got)

    attempts = await api.attempts(app["id"], job_id=job["id"])
    assert [a["attempt_number"] for a in attempts] == [1, 2, 3, 4]
    assert {a["status"] for a in attempts} == {"failed"}
    assert {a["response_status_code"] for a in attempts} == {503}
    assert {a["url"] for a in attempts} == {receiver.url("/down")}
    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"job_id": job["id"]})
    (delivery,) = r.json()["data"]
    assert delivery["status"] == "failed" and delivery["attempt_count"] == 4
    # the one-off target is never auto-paused, though it failed more than auto_pause_after
    target = await api.http.get(f"/v1/apps/{app['id']}/endpoints/{delivery['endpoint_id']}")
    assert target.json()["status"] == "active"

    polled = (await api.http.get(f"/v1/apps/{app['id']}/jobs/{job['id']}")).json()
    sent = orjson.loads(got[0].body)
    assert polled["status"] == "completed" and polled["event"] == "job.completed"
    for key in ("job_id", "type", "status", "summary", "results", "custom", "completed_at"):
        assert polled[key] == sent[key], key
    assert polled["results"] == items
    assert polled["summary"] == {"total": 3, "succeeded": 3, "failed": 0, "credits": 3}
