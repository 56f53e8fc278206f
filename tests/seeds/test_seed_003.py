"""Seed 003 (async jobs with ``webhook_url``, polling ``/job-status/{task_id}``): one task's
webhook is ``{task_id, status: "completed", task_type, result: {…}}`` or ``{task_id, status:
"failed", task_type, error: "…"}``, exactly those keys; bulk jobs take up to 100 leads."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.jobs.helpers import error
from tests.receivers import Receiver
from tests.seeds.shapes import EXAMPLE, bodies, shape

# the seed's payload fields table: task_id string, status string, task_type string,
# result object (completed only), error string (failed only)
SUCCEEDED = {"task_id": "str", "status": "str", "task_type": "str", "result": {}}
FAILED = {"task_id": "str", "status": "str", "task_type": "str", "error": "str"}

PROFILE: dict[str, Any] = EXAMPLE.TASKS


async def _task(api: Api, app_id: str, url: str, item: dict[str, Any], status: str) -> str:
    jobs = f"/v1/apps/{app_id}/jobs"
    r = await api.http.post(jobs, json={"type": "find_email", "webhook_url": url})
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    r = await api.http.post(f"{jobs}/{task_id}/items", json={"items": [item]})
    assert r.status_code == 200, r.text
    # one task holds one item: a second is refused, nothing stored
    r = await api.http.post(f"{jobs}/{task_id}/items", json={"items": [{**item, "id": "2"}]})
    assert error(r, 422)["details"]["field"] == "items"
    r = await api.http.post(f"{jobs}/{task_id}/finish", json={"status": status})
    assert r.status_code == 200, r.text
    return str(task_id)


async def test_one_task_succeeds_and_one_fails(api: Api, receiver: Receiver) -> None:
    app = await api.app(job_profile=PROFILE, max_items_per_job=100)
    url = receiver.url("/webhook")
    found = {"email": "john@acme.com", "confidence": 97}
    succeeded = {"id": "1", "status": "succeeded", "result": found}
    failed = {"id": "1", "status": "failed", "error": "no email found"}
    ok = await _task(api, app["id"], url, succeeded, "completed")
    bad = await _task(api, app["id"], url, failed, "failed")

    first, second = await bodies(api, receiver, "/webhook", 2)
    assert first == {
        "task_id": ok,
        "status": "completed",
        "task_type": "find_email",
        "result": found,
    }
    assert second == {
        "task_id": bad,
        "status": "failed",
        "task_type": "find_email",
        "error": "no email found",
    }
    assert {**shape(first), "result": {}} == SUCCEEDED
    assert shape(second) == FAILED


async def test_a_bulk_job_takes_up_to_100_leads(api: Api) -> None:
    app = await api.app(
        job_profile={**PROFILE, "types": {"find_email_bulk": {"single_result": False}}},
        max_items_per_job=100,
    )
    jobs = f"/v1/apps/{app['id']}/jobs"
    r = await api.http.post(jobs, json={"type": "find_email_bulk", "total": 101})
    assert error(r, 422)["details"]["field"] == "total"
    r = await api.http.post(jobs, json={"type": "find_email_bulk", "total": 100})
    assert r.status_code == 201, r.text
