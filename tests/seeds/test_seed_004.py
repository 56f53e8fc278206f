"""Seed 004 (batch enrichment with ``webhook_url`` and ``webhook_events.contact_finished``):
a ``contact_finished`` webhook per contact, one when the batch finishes, lacks credits or is
canceled, and ``custom`` returned exactly as provided (strings only: a number is an error)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.jobs.helpers import error
from tests.receivers import Receiver
from tests.seeds.shapes import EXAMPLE, bodies

PROFILE: dict[str, Any] = EXAMPLE.BATCHES
CUSTOM = {"user_id": "u_42", "crm_contact_id": "003XX0000"}


async def _batch(api: Api, app_id: str, url: str, contacts: int, status: str) -> str:
    jobs = f"/v1/apps/{app_id}/jobs"
    r = await api.http.post(
        jobs,
        json={"type": "enrich", "total": 3, "webhook_url": url, "custom": CUSTOM,
              "webhook_events": {"item_finished": True}},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    batch = str(r.json()["id"])
    for n in range(contacts):  # one contact at a time, as each one is enriched
        item = {"id": f"c{n}", "status": "succeeded", "result": {"email": f"p{n}@acme.com"}}
        r = await api.http.post(f"{jobs}/{batch}/items", json={"items": [item]})
        assert r.status_code == 200, r.text
    r = await api.http.post(f"{jobs}/{batch}/finish", json={"status": status})
    assert r.status_code == 200, r.text
    return batch


async def test_a_batch_with_per_contact_events(api: Api, receiver: Receiver) -> None:
    app = await api.app(job_profile=PROFILE)
    batch = await _batch(api, app["id"], receiver.url("/done"), 3, "completed")
    got = await bodies(api, receiver, "/done", 4)
    assert [b["event"] for b in got] == ["contact_finished"] * 3 + ["batch_finished"]
    assert all(b["batch_id"] == batch and b["custom"] == CUSTOM for b in got)
    assert [b["contact"]["result"]["email"] for b in got[:3]] == [
        "p0@acme.com",
        "p1@acme.com",
        "p2@acme.com",
    ]
    assert [b["progress"]["succeeded"] for b in got[:3]] == [1, 2, 3]
    assert got[3]["status"] == "completed" and len(got[3]["results"]) == 3


async def test_custom_values_must_be_strings(api: Api) -> None:
    app = await api.app(job_profile=PROFILE)
    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs", json={"type": "enrich", "custom": {"crm_id": 42}}
    )
    assert error(r, 422)["details"]["field"] == "custom.crm_id"


async def test_a_canceled_batch_and_one_out_of_credits(api: Api, receiver: Receiver) -> None:
    app = await api.app(job_profile=PROFILE)
    canceled = await _batch(api, app["id"], receiver.url("/canceled"), 1, "canceled")
    broke = await _batch(api, app["id"], receiver.url("/credits"), 2, "insufficient_credits")
    *_, stopped = await bodies(api, receiver, "/canceled", 2)
    *_, short = await bodies(api, receiver, "/credits", 3)
    assert (stopped["event"], stopped["status"], stopped["batch_id"]) == (
        "batch_canceled", "canceled", canceled,
    )  # fmt: skip
    assert (short["event"], short["status"], short["batch_id"]) == (
        "batch_failed", "out_of_credits", broke,
    )  # fmt: skip
    assert (stopped["custom"], short["custom"]) == (CUSTOM, CUSTOM)
    assert short["summary"] == {"total": 3, "succeeded": 2, "failed": 0}
    job = (await api.http.get(f"/v1/apps/{app['id']}/jobs/{broke}")).json()
    assert (job["status"], job["event"]) == ("insufficient_credits", "batch_failed")
