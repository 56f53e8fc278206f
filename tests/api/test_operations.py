"""A recover over thousands of failed deliveries (issue 19): ``POST …/recover`` answers 202 at
once with a running operation, ``GET …/operations/{id}`` follows it to done, and each failed
delivery is re-queued exactly once; an operation is read only with its app's key."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from hookwise.store.rules import operations as rules
from hookwise.store.sql import Tx, fetchval
from hookwise.store.stepper import Stepper
from tests.conftest import Api
from tests.store.backlog import hold_backlog

N = 5000


async def _requeued(api: Api, app_id: str) -> int:
    def tx() -> Tx[int]:
        n = yield fetchval(
            "SELECT count(*) FROM deliveries WHERE app_id = $1 AND status = 'pending'"
            " AND trigger = 'manual' AND retry_base = attempt_count AND attempt_count = 1",
            app_id,
        )
        return int(n)

    return await api.store._handle.read(tx)  # type: ignore[no-any-return]


async def _recover(api: Api) -> tuple[dict[str, Any], dict[str, Any], float]:
    app = await api.app()
    ep = await api.endpoint(app["id"], url="http://127.0.0.1:9/h")
    await hold_backlog(api.store, app["id"], ep["id"], N, status="failed")
    began = time.perf_counter()
    r = await api.http.post(
        f"/v1/apps/{app['id']}/endpoints/{ep['id']}/recover", json={"since": "2000-01-01T00:00:00Z"}
    )
    took = time.perf_counter() - began
    assert r.status_code == 202, r.text
    return app, r.json(), took


async def test_a_large_recover_answers_at_once_and_is_followed_to_done(api: Api) -> None:
    app, op, took = await _recover(api)
    assert (op["kind"], op["status"], op["done"], op["total"]) == (
        "recover", "running", rules.FIRST, None,
    )  # fmt: skip
    assert op["created_at"].endswith("Z") and op["updated_at"] >= op["created_at"]
    path = f"/v1/apps/{app['id']}/operations/{op['id']}"
    assert (await api.http.get(path)).json() == op  # nothing steps it yet

    stop = asyncio.Event()
    stepper = asyncio.create_task(Stepper(api.store.operations, poll_seconds=0.05).run(stop))
    seen = [op["done"]]
    deadline = time.monotonic() + 60
    while op["status"] == "running":
        assert time.monotonic() < deadline, op
        await asyncio.sleep(0.02)
        r = await api.http.get(path)
        assert r.status_code == 200, r.text
        op = r.json()
        seen.append(op["done"])
    stop.set()
    await stepper
    backend = api.store.url.split(":")[0]
    steps = sorted(set(seen))
    print(f"\n{backend}: recover of {N} answered in {took * 1000:.1f} ms; done seen {steps}")
    assert took < 0.2
    assert (op["status"], op["done"], op["total"]) == ("done", N, N)
    assert seen == sorted(seen)  # the count only goes up
    assert await _requeued(api, app["id"]) == N  # each once: attempted once, re-queued by hand


async def test_an_operation_is_read_with_its_apps_key_only(api: Api) -> None:
    app, op, _ = await _recover(api)
    other = await api.app(name="other")
    missing = await api.http.get(f"/v1/apps/{app['id']}/operations/op_gone")
    assert missing.status_code == 404
    assert missing.json()["error"]["details"] == {"resource": "operation", "id": "op_gone"}
    r = await api.http.post("/v1/keys", json={"name": "other only", "app_id": other["id"]})
    key = r.json()["key"]
    async with httpx.AsyncClient(
        base_url=api.base_url, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        # another app's key: answered as a missing app, as on every app route
        r = await client.get(f"/v1/apps/{app['id']}/operations/{op['id']}")
        assert r.status_code == 404
        assert r.json()["error"]["details"] == {"resource": "app", "id": app["id"]}
        # nor is the operation found under its own app
        r = await client.get(f"/v1/apps/{other['id']}/operations/{op['id']}")
        assert r.status_code == 404
        assert r.json()["error"]["details"] == {"resource": "operation", "id": op["id"]}
