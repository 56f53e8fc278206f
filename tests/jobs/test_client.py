"""``hookwise.client``: the sync and async clients against the real service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookwise.client import ApiError, AsyncClient, Client, TransportError
from hookwise.domain.signing import Verifier
from tests.conftest import Api
from tests.jobs.helpers import events
from tests.receivers import Receiver


def _sync_flow(base_url: str, key: str, hook: str) -> dict[str, Any]:
    """A sender's whole job with the blocking client (run in a thread: the service shares
    the test's event loop)."""
    with Client(base_url, key) as hw:
        assert hw.keys.validate()["scope"] == "admin"
        app = hw.apps.create("acme", uid="acme", max_items_per_job=5000)
        assert app["max_items_per_job"] == 5000
        changed = hw.apps.update("acme", job_profile={"fields": {"job_id": "workflow_id"}})
        assert changed["job_profile"] == {"fields": {"job_id": "workflow_id"}}
        assert hw.apps.update("acme", job_profile=None)["job_profile"] is None
        ep = hw.endpoints.create("acme", hook + "-sub", events=["job.*"], retry_schedule=[1])
        assert [e["id"] for e in hw.endpoints.list("acme")] == [ep["id"]]
        assert any(a["id"] == app["id"] for a in hw.apps.list())
        msg = hw.messages.create("acme", "user.created", {"name": "Ada"}, event_id="evt-1")
        assert hw.messages.create("acme", "user.created", {"x": 1}, event_id="evt-1") == msg

        job = hw.jobs.create(
            "acme", "enrich.bulk", id="wf-1", total=2500, webhook_url=hook,
            custom={"crm_id": "42"},
        )  # fmt: skip
        assert job["status"] == "running"
        items = [{"id": f"c{n}", "status": "succeeded", "result": {"n": n}} for n in range(2500)]
        reported = hw.jobs.report("acme", "wf-1", items)  # sent as three batches
        assert reported["accepted"] == 2500 and reported["succeeded"] == 2500
        assert hw.jobs.report("acme", "wf-1", items[:10])["duplicates"] == [
            f"c{n}" for n in range(10)
        ]
        done = hw.jobs.finish("acme", "wf-1", summary={"emails_found": 2500})
        assert done["status"] == "completed"
        with pytest.raises(ApiError) as err:
            hw.jobs.finish("acme", "wf-1")
        assert (err.value.status, err.value.code) == (409, "conflict")
        with pytest.raises(ApiError) as err:
            hw.jobs.create("acme", "enrich.bulk", custom={"crm_id": 42})  # type: ignore[dict-item]
        assert (err.value.status, err.value.field) == (422, "custom.crm_id")
        with pytest.raises(ApiError) as err:
            hw.jobs.get("acme", "nope")
        assert err.value.status == 404 and err.value.details["resource"] == "job"

        polled = hw.jobs.get("acme", "wf-1", results=10)
        assert polled["results"] == items[:10] and polled["results_truncated"] == 2490
        assert list(hw.jobs.results("acme", "wf-1", page_size=700)) == items
        assert [j["id"] for j in hw.jobs.list("acme")] == ["wf-1"]
        return {"app": app, "secret": hw.jobs.secret("acme")["key"]}


async def test_sync_client(api_factory: Any, receiver: Receiver) -> None:
    api: Api = await api_factory(workers=1)
    out = await asyncio.to_thread(_sync_flow, api.base_url, api.admin_key, receiver.url("/cb"))
    await receiver.wait_for(lambda r: r.at("/cb") and r.at("/cb-sub"), timeout=20)
    (got,) = receiver.at("/cb")
    Verifier.from_secrets(out["secret"]).verify(got.body, got.headers)
    (completed,) = events([got])
    assert completed["job_id"] == "wf-1" and completed["custom"] == {"crm_id": "42"}
    assert len(completed["results"]) + completed["results_truncated"] == 2500

    def attempts() -> list[dict[str, Any]]:
        with Client(api.base_url, api.admin_key) as hw:
            return list(hw.attempts.list("acme", job_id="wf-1"))

    await api.drain()
    found = await asyncio.to_thread(attempts)
    assert len(found) == 2 and {a["status"] for a in found} == {"succeeded"}


async def test_async_client(api_factory: Any, receiver: Receiver) -> None:
    api: Api = await api_factory(workers=1)
    async with AsyncClient(api.base_url, api.admin_key) as hw:
        app = await hw.apps.create("acme")
        job = await hw.jobs.create(
            app["id"], "find_email", webhook_url=receiver.url("/cb"), item_events=True
        )
        await hw.jobs.report(app["id"], job["id"], [{"id": "t1", "status": "failed", "error": "x"}])
        await hw.jobs.finish(app["id"], job["id"], "failed")
        assert [r async for r in hw.jobs.results(app["id"], job["id"])] == [
            {"id": "t1", "status": "failed", "error": "x"}
        ]
        await receiver.wait_for(lambda r: len(r.at("/cb")) == 2, timeout=10)
        await api.drain()
        found = [a async for a in hw.attempts.list(app["id"], job_id=job["id"])]
        assert len(found) == 2
        assert sorted(b["event"] for b in events(receiver.at("/cb"))) == [
            "job.failed", "job.item_finished",
        ]  # fmt: skip
        with pytest.raises(ApiError) as err:
            await hw.jobs.report(app["id"], job["id"], [{"id": "t2", "status": "succeeded"}])
        assert err.value.status == 409 and err.value.details["reason"] == "job_finished"
        # a recover is an operation, answered at once and followed to its end
        ep = await hw.endpoints.create(app["id"], receiver.url("/sub"))
        op = await hw.endpoints.recover(app["id"], ep["id"], datetime.now(UTC) - timedelta(hours=1))
        assert (op["kind"], op["endpoint_id"], op["done"]) == ("recover", ep["id"], 0)
        assert await hw.operations.get(app["id"], op["id"]) == op  # nothing failed: done at once
        with pytest.raises(ApiError) as err:
            await hw.operations.get(app["id"], "op_nope")
        assert err.value.status == 404 and err.value.details["resource"] == "operation"
        # so is a bulk resend (nothing failed: done at once), and the app lists both
        hour_ago = datetime.now(UTC) - timedelta(hours=1)
        resend = await hw.messages.resend_many(app["id"], hour_ago, event_type="job.failed")
        assert (resend["kind"], resend["status"], resend["done"]) == ("resend", "done", 0)
        listed = [o["id"] async for o in hw.operations.list(app["id"])]
        assert listed == [resend["id"], op["id"]]
        msg = await hw.messages.create(app["id"], "user.created", {"a": 1})
        assert msg["event_type"] == "user.created"


async def test_transport_errors_and_bad_keys(api: Api) -> None:
    async with AsyncClient("http://127.0.0.1:9", "hwk_x", max_retries=1) as hw:
        with pytest.raises(TransportError):
            await hw.keys.validate()
    async with AsyncClient(api.base_url, "hwk_not_a_key") as hw:
        with pytest.raises(ApiError) as err:
            await hw.apps.create("x")
        assert (err.value.status, err.value.code) == (401, "unauthorized")
