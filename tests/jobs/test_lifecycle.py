"""The job lifecycle's rules: idempotent create, clear errors for a second finish, items after
the finish, an unknown job, a total overrun; retried batches are harmless."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.jobs.helpers import create_job, error, finish, report


async def test_same_id_twice_is_the_same_job(api: Api) -> None:
    app = await api.app()
    first = await create_job(api, app["id"], id="wf_4d6f2c3a", total=3, custom={"u": "1"})
    assert first["id"] == "wf_4d6f2c3a"
    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs",
        json={"type": "enrich.bulk", "id": "wf_4d6f2c3a", "total": 3, "custom": {"u": "1"}},
    )
    assert r.status_code == 200, r.text
    assert r.json() == first
    assert r.headers["idempotent-replayed"] == "true"
    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs", json={"type": "other", "id": "wf_4d6f2c3a"}
    )
    e = error(r, 409, "conflict")
    assert e["details"]["field"] == "type"
    listed = await api.http.get(f"/v1/apps/{app['id']}/jobs")
    assert [j["id"] for j in listed.json()["data"]] == ["wf_4d6f2c3a"]


async def test_finish_twice_items_after_finish_and_unknown_job(api: Api) -> None:
    app = await api.app()
    job = await create_job(api, app["id"])
    await report(api, app["id"], job["id"], [{"id": "a", "status": "succeeded"}])
    done = await finish(api, app["id"], job["id"], status="completed_with_errors")
    assert done["status"] == "completed_with_errors" and done["event"] == "job.completed"

    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs/{job['id']}/finish", json={"status": "failed"}
    )
    e = error(r, 409, "conflict")
    assert "already completed_with_errors" in e["message"]
    assert e["details"] == {
        "reason": "job_finished", "job_id": job["id"], "status": "completed_with_errors",
    }  # fmt: skip

    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs/{job['id']}/items",
        json={"items": [{"id": "b", "status": "succeeded"}]},
    )
    e = error(r, 409, "conflict")
    assert "items can no longer be reported" in e["message"]

    for method, path, body in [
        ("GET", "", None),
        ("GET", "/results", None),
        ("POST", "/items", {"items": [{"id": "x", "status": "failed"}]}),
        ("POST", "/finish", {"status": "completed"}),
    ]:
        r = await api.http.request(method, f"/v1/apps/{app['id']}/jobs/job_nope{path}", json=body)
        e = error(r, 404, "not_found")
        assert e["details"] == {"resource": "job", "id": "job_nope"}


async def test_retried_batch_is_skipped_and_total_is_enforced(api: Api) -> None:
    app = await api.app()
    job = await create_job(api, app["id"], total=3)
    items: list[dict[str, Any]] = [
        {"id": "a", "status": "succeeded", "result": {"n": 1}},
        {"id": "b", "status": "failed", "error": {"code": "bounced"}},
    ]
    first = await report(api, app["id"], job["id"], items)
    assert first["accepted"] == 2 and first["duplicates"] == []
    again = await report(api, app["id"], job["id"], items)
    assert again["accepted"] == 0 and again["duplicates"] == ["a", "b"]
    assert (again["succeeded"], again["failed"]) == (1, 1)

    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs/{job['id']}/items",
        json={"items": [{"id": "c", "status": "succeeded"}, {"id": "d", "status": "succeeded"}]},
    )
    e = error(r, 409)
    assert e["details"]["reason"] == "total_exceeded"
    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs/{job['id']}/items",
        json={"items": [{"id": "c", "status": "succeeded"}, {"id": "c", "status": "failed"}]},
    )
    assert error(r, 422)["details"]["field"] == "items[1].id"
    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs/{job['id']}/items", json={"items": [{"status": "done"}]}
    )
    assert error(r, 422)["details"]["field"] == "items.0.status"
    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs/{job['id']}/items",
        json={"items": [{"status": "succeeded"}] * 1001},
    )
    assert error(r, 422)["details"]["field"] == "items"

    polled = (await api.http.get(f"/v1/apps/{app['id']}/jobs/{job['id']}")).json()
    assert polled["results"] == items
    assert polled["summary"] == {"total": 3, "succeeded": 1, "failed": 1}
    assert polled["status"] == "running" and polled["event"] is None


async def test_summary_counts_are_hookwise_s_unless_no_items_were_reported(api: Api) -> None:
    app = await api.app()
    job = await create_job(api, app["id"])
    await report(api, app["id"], job["id"], [{"id": "a", "status": "succeeded"}])
    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs/{job['id']}/finish",
        json={"status": "completed", "summary": {"succeeded": 5}},
    )
    assert error(r, 422)["details"]["field"] == "summary.succeeded"
    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs/{job['id']}/finish",
        json={"status": "completed", "summary": {"nested": {"a": 1}}},
    )
    assert error(r, 422)["details"]["field"] == "summary.nested"
    done = await finish(api, app["id"], job["id"], summary={"succeeded": 1, "credits_used": 3})
    assert done["summary"] == {"total": 1, "succeeded": 1, "failed": 0, "credits_used": 3}

    bare = await create_job(api, app["id"], total=1000)
    done = await finish(
        api, app["id"], bare["id"], status="insufficient_credits",
        summary={"succeeded": 640, "failed": 10},
    )  # fmt: skip
    assert done["event"] == "job.failed"
    assert done["summary"] == {"total": 1000, "succeeded": 640, "failed": 10}


async def test_bad_inputs_name_their_field(api: Api) -> None:
    app = await api.app()
    path = f"/v1/apps/{app['id']}/jobs"
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "type"),
        ({"type": "has space"}, "type"),
        ({"type": "t", "id": "bad/id"}, "id"),
        ({"type": "t", "total": -1}, "total"),
        ({"type": "t", "webhook_url": "ftp://example.com/x"}, "webhook_url"),
        ({"type": "t", "webhook_url": "http://169.254.169.254/latest"}, "webhook_url"),
        (
            {"type": "t", "webhook_events": {"contact_finished": True}},
            "webhook_events.contact_finished",
        ),
        ({"type": "t", "webhook_retry_schedule": [1, -1]}, "webhook_retry_schedule[1]"),
        ({"type": "t", "custom": {"ok": "1", "n": None}}, "custom.n"),
        ({"type": "t", "surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        e = error(await api.http.post(path, json=body), 422)
        assert e["details"]["field"] == field, (body, e)
    r = await api.http.get(f"{path}?cursor=nonsense")
    assert error(r, 422)["details"]["field"] == "cursor"


async def test_jobs_list_pages_newest_first_and_filters(api: Api) -> None:
    app = await api.app()
    made = [
        (await create_job(api, app["id"], id=f"j{n}", type=f"t{n % 2}"))["id"] for n in range(5)
    ]
    await finish(api, app["id"], "j3", status="canceled")
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.http.get(f"/v1/apps/{app['id']}/jobs", params=params)).json()
        seen += [j["id"] for j in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
    r = await api.http.get(f"/v1/apps/{app['id']}/jobs", params={"status": "canceled"})
    assert [j["id"] for j in r.json()["data"]] == ["j3"]
    r = await api.http.get(f"/v1/apps/{app['id']}/jobs", params={"type": "t0", "limit": 1})
    assert [j["id"] for j in r.json()["data"]] == ["j4"]
    assert r.json()["next_cursor"] is not None
