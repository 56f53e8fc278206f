"""Bulk resend (issue 19): ``POST /v1/apps/{app}/resend`` answers 202 at once with a
``resend`` operation, re-queues what its filter takes (each delivery once, trigger ``manual``),
is followed to done, listed with the app's operations, and refuses bad filters by name."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from hookwise.store.stepper import Stepper
from tests.conftest import Api
from tests.receivers import Receiver
from tests.store.backlog import counts, hold_backlog

N = 5000
SINCE = "2000-01-01T00:00:00Z"


async def test_a_resend_requeues_the_filtered_failures_and_they_go_out(
    api: Api, receiver: Receiver
) -> None:
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url("/r"), retry_schedule=[])
    receiver.answer("/r", 500, 500, 500)
    orders = [await api.send(app["id"], "order.created") for _ in range(2)]
    await api.send(app["id"], "user.created")
    await api.drain()
    ok = await api.send(app["id"], "order.created")  # succeeded: not a failure
    await api.drain()
    assert len(receiver.at("/r")) == 4

    r = await api.http.post(
        f"/v1/apps/{app['id']}/resend",
        json={"since": SINCE, "event_type": "order.created", "endpoint_id": ep["id"]},
    )
    assert r.status_code == 202, r.text
    op = r.json()
    assert (op["kind"], op["status"], op["done"], op["total"]) == ("resend", "done", 2, 2)
    assert op["endpoint_id"] == ep["id"]
    await api.drain()
    again = [x.headers["webhook-id"] for x in receiver.at("/r")[4:]]
    assert sorted(again) == sorted(m["id"] for m in orders)
    attempts = await api.attempts(app["id"], message_id=orders[0]["id"])
    assert [(a["status"], a["trigger"]) for a in attempts] == [
        ("failed", "scheduled"), ("succeeded", "manual"),
    ]  # fmt: skip

    # status "all": every finished delivery, the succeeded ones too
    r = await api.http.post(f"/v1/apps/{app['id']}/resend", json={"since": SINCE, "status": "all"})
    assert (r.json()["status"], r.json()["done"]) == ("done", 4)
    await api.drain()
    assert ok["id"] in [x.headers["webhook-id"] for x in receiver.at("/r")[6:]]
    listed = (await api.http.get(f"/v1/apps/{app['id']}/operations")).json()
    assert [o["id"] for o in listed["data"]] == [r.json()["id"], op["id"]]  # newest first
    assert listed["next_cursor"] is None


async def test_a_large_resend_answers_at_once_and_is_followed_to_done(api: Api) -> None:
    app = await api.app()
    ep = await api.endpoint(app["id"], url="http://127.0.0.1:9/h")
    await hold_backlog(api.store, app["id"], ep["id"], N, status="failed")
    began = time.perf_counter()
    r = await api.http.post(f"/v1/apps/{app['id']}/resend", json={"since": SINCE})
    took = time.perf_counter() - began
    assert r.status_code == 202, r.text
    op = r.json()
    assert (op["kind"], op["status"], op["total"]) == ("resend", "running", None)
    path = f"/v1/apps/{app['id']}/operations/{op['id']}"
    stop = asyncio.Event()
    stepper = asyncio.create_task(Stepper(api.store.operations, poll_seconds=0.05).run(stop))
    deadline = time.monotonic() + 60
    while op["status"] == "running":
        assert time.monotonic() < deadline, op
        await asyncio.sleep(0.02)
        op = (await api.http.get(path)).json()
    stop.set()
    await stepper
    print(f"\n{api.store.url.split(':')[0]}: resend of {N} answered in {took * 1000:.1f} ms")
    assert took < 0.2
    assert (op["status"], op["done"], op["total"]) == ("done", N, N)
    assert await counts(api.store, app["id"]) == {(ep["id"], "pending", True): N}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "since"),  # no zone
        ({"since": SINCE, "until": "1999-01-01T00:00:00Z"}, "until"),
        ({"since": SINCE, "status": "succeeded"}, "status"),
        ({"since": SINCE, "event_type": "no spaces"}, "event_type"),
        ({"since": SINCE, "nope": 1}, "nope"),
    ],
)
async def test_a_bad_filter_is_a_422_naming_its_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    app = await api.app()
    r = await api.http.post(f"/v1/apps/{app['id']}/resend", json=body)
    assert r.status_code == 422, r.text
    assert field in r.text


async def test_a_resend_to_an_unknown_endpoint_is_a_404(api: Api) -> None:
    app = await api.app()
    r = await api.http.post(
        f"/v1/apps/{app['id']}/resend", json={"since": SINCE, "endpoint_id": "ep_gone"}
    )
    assert r.status_code == 404
    assert r.json()["error"]["details"] == {"resource": "endpoint", "id": "ep_gone"}
