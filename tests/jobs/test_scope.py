"""A customer's app-scoped key reads its own jobs, results and attempts, and nothing of
another app's."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Api
from tests.jobs.helpers import create_job, finish, report
from tests.receivers import Receiver


async def _key(api: Api, app_id: str) -> httpx.AsyncClient:
    r = await api.http.post("/v1/keys", json={"name": "customer", "app_id": app_id})
    assert r.status_code == 201, r.text
    return httpx.AsyncClient(
        base_url=api.base_url, headers={"Authorization": f"Bearer {r.json()['key']}"}
    )


async def test_app_keys_are_confined_to_their_app(api_factory: Any, receiver: Receiver) -> None:
    api: Api = await api_factory(workers=1)
    a, b = await api.app(name="a"), await api.app(name="b")
    job_a = await create_job(api, a["id"], webhook_url=receiver.url("/a"))
    job_b = await create_job(api, b["id"], webhook_url=receiver.url("/b"))
    for app, job in ((a, job_a), (b, job_b)):
        await report(api, app["id"], job["id"], [{"id": "x", "status": "succeeded"}])
        await finish(api, app["id"], job["id"])
    await receiver.wait_for(lambda r: r.at("/a") and r.at("/b"), timeout=10)
    await api.drain()

    customer_a = await _key(api, a["id"])
    async with customer_a:
        # app B's jobs, by B's path: the key's scope does not cover it, and B is answered
        # like an app that does not exist
        for path in ("", f"/{job_b['id']}", f"/{job_b['id']}/results"):
            r = await customer_a.get(f"/v1/apps/{b['id']}/jobs{path}")
            assert r.status_code == 404, (path, r.text)
            assert r.json()["error"]["details"] == {"resource": "app", "id": b["id"]}
        r = await customer_a.get(f"/v1/apps/{b['id']}/attempts", params={"job_id": job_b["id"]})
        assert r.status_code == 404
        r = await customer_a.get(f"/v1/apps/{b['id']}/job-secret")
        assert r.status_code == 404
        # app B's job through A's own path: it does not exist there
        r = await customer_a.get(f"/v1/apps/{a['id']}/jobs/{job_b['id']}")
        assert r.status_code == 404
        r = await customer_a.get(f"/v1/apps/{a['id']}/jobs/{job_b['id']}/results")
        assert r.status_code == 404
        r = await customer_a.get(f"/v1/apps/{a['id']}/attempts", params={"job_id": job_b["id"]})
        assert r.json()["data"] == []

        # its own job, results and attempts
        r = await customer_a.get(f"/v1/apps/{a['id']}/jobs/{job_a['id']}")
        assert r.status_code == 200 and r.json()["status"] == "completed"
        r = await customer_a.get(f"/v1/apps/{a['id']}/jobs/{job_a['id']}/results")
        assert r.json()["data"] == [{"id": "x", "status": "succeeded"}]
        r = await customer_a.get(f"/v1/apps/{a['id']}/jobs")
        assert [j["id"] for j in r.json()["data"]] == [job_a["id"]]
        r = await customer_a.get(f"/v1/apps/{a['id']}/attempts", params={"job_id": job_a["id"]})
        (attempt,) = r.json()["data"]
        assert attempt["job_id"] == job_a["id"] and attempt["status"] == "succeeded"
        assert attempt["url"] == receiver.url("/a")
        r = await customer_a.get(f"/v1/apps/{a['id']}/deliveries", params={"job_id": job_a["id"]})
        assert [d["status"] for d in r.json()["data"]] == ["succeeded"]
