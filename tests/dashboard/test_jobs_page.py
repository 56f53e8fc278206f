"""The console's jobs and event types: the list, one job's progress, results and attempts, and
the catalog."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Api
from tests.dashboard.console import console
from tests.jobs.helpers import create_job, finish, report
from tests.receivers import Receiver


async def test_jobs_list_and_detail(api: Api, receiver: Receiver) -> None:
    app = await api.app(name="Acme")
    done = await create_job(api, app["id"], total=3, webhook_url=receiver.url("/jobs"))
    running = await create_job(api, app["id"], type="export.csv", total=10)
    items: list[dict[str, Any]] = [
        {"id": "a", "status": "succeeded", "result": {"v": "<1>"}},
        {"id": "b", "status": "failed", "error": {"why": "bad"}},
        {"id": "c", "status": "succeeded"},
    ]
    await report(api, app["id"], done["id"], items)
    await report(api, app["id"], running["id"], [{"id": "x", "status": "succeeded"}])
    await finish(api, app["id"], done["id"], status="completed_with_errors")
    await api.drain()
    base = f"/dashboard/apps/{app['id']}/jobs"
    async with console(api, api.admin_key) as c:
        page = (await c.get(base)).text
        assert 'aria-current="page">Jobs</a>' in page
        assert re.findall(r'<tr data-job="(job_\w+)"', page) == [running["id"], done["id"]]
        assert '<progress max="10" value="1"' in page
        only = (await c.get(base, params={"status": "running"})).text
        assert re.findall(r'<tr data-job="(job_\w+)"', only) == [running["id"]]
        assert (await c.get(base, params={"status": "lost"})).status_code == 422

        detail = (await c.get(f"{base}/{done['id']}")).text
        assert 'id="job-status" class="bad">completed_with_errors' in detail
        assert '<progress max="3" value="3"' in detail
        assert 'id="job-succeeded">2<' in detail and 'id="job-failed">1<' in detail
        assert re.findall(r'<tr data-result="(\w+)"', detail) == ["a", "b", "c"]
        assert "&lt;1&gt;" in detail  # a result, escaped
        # the job's webhook attempt, linked to its detail
        (att,) = await api.attempts(app["id"], job_id=done["id"])
        assert f"/dashboard/apps/{app['id']}/attempts/{att['id']}" in detail
        assert receiver.url("/jobs") in detail
        assert (await c.get(f"{base}/job_nope")).status_code == 404


async def test_job_results_are_paged(api: Api) -> None:
    app = await api.app(name="Acme")
    job = await create_job(api, app["id"], total=60)
    await report(
        api, app["id"], job["id"], [{"id": f"i{n}", "status": "succeeded"} for n in range(60)]
    )
    path = f"/dashboard/apps/{app['id']}/jobs/{job['id']}"
    async with console(api, api.admin_key) as c:
        first = (await c.get(path)).text
        assert len(re.findall(r'<tr data-result="', first)) == 50
        nxt = re.search(r'<a href="([^"]+)" id="results-next"', first)
        assert nxt is not None
        second = (await c.get(nxt.group(1).replace("&amp;", "&"))).text
        assert re.findall(r'<tr data-result="(\w+)"', second) == [f"i{n}" for n in range(50, 60)]
        assert 'id="results-next"' not in second and 'id="results-first"' in second


async def test_another_apps_job_is_unknown(api: Api) -> None:
    a, b = await api.app(name="Alpha"), await api.app(name="Beta")
    theirs = await create_job(api, b["id"])
    key = (await api.http.post("/v1/keys", json={"name": "a", "app_id": a["id"]})).json()["key"]
    async with console(api, key) as c:
        assert (await c.get(f"/dashboard/apps/{a['id']}/jobs/{theirs['id']}")).status_code == 404
        assert (await c.get(f"/dashboard/apps/{b['id']}/jobs")).status_code == 404
        assert theirs["id"] not in (await c.get(f"/dashboard/apps/{a['id']}/jobs")).text


async def test_the_event_type_catalog(api: Api) -> None:
    app = await api.app(name="Acme")
    schema = {"type": "object", "properties": {"amount": {"type": "integer"}}}
    for body in (
        {"name": "invoice.paid", "description": "An <invoice> was paid", "schema": schema},
        {"name": "user.created"},
    ):
        assert (await api.http.post("/v1/event-types", json=body)).status_code == 201
    key = (await api.http.post("/v1/keys", json={"name": "a", "app_id": app["id"]})).json()["key"]
    async with console(api, key) as c:  # an app's key reads it too
        page = (await c.get(f"/dashboard/apps/{app['id']}/event-types")).text
    assert 'aria-current="page">Event types</a>' in page
    assert re.findall(r'<tr data-event-type="([\w.]+)"', page) == ["invoice.paid", "user.created"]
    assert "An &lt;invoice&gt; was paid" in page
    assert "<details><summary>Schema of invoice.paid</summary>" in page
    assert "&#34;amount&#34;" in page
    assert "<form" not in page.split("<main ")[1].split("Event types</h2>")[1]  # read-only
