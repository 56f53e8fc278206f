"""The resources of the API behave as PRODUCT.md says."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api
from tests.receivers import Receiver


async def test_keys_lifecycle(api: Api) -> None:
    r = await api.http.get("/v1/auth/validate-key")
    assert r.json()["valid"] is True and r.json()["scope"] == "admin"
    app = await api.app()
    r = await api.http.post("/v1/keys", json={"name": "customer", "app_id": app["id"]})
    created = r.json()
    assert created["key"].startswith("hwk_") and created["scope"] == "app"
    listed = (await api.http.get("/v1/keys")).json()["data"]
    assert created["id"] in {k["id"] for k in listed}
    assert all("key" not in k for k in listed)  # shown once only
    async with httpx.AsyncClient(base_url=api.base_url) as c:
        h = {"Authorization": f"Bearer {created['key']}"}
        r = await c.get("/v1/auth/validate-key", headers=h)
        assert r.json() == {
            "valid": True,
            "key_id": created["id"],
            "scope": "app",
            "app_id": app["id"],
        }
        assert (await api.http.delete(f"/v1/keys/{created['id']}")).status_code == 204
        assert (await c.get("/v1/auth/validate-key", headers=h)).status_code == 401


async def test_apps_by_id_and_uid(api: Api) -> None:
    app = await api.app(uid="acme", metadata={"plan": "pro"})
    r = await api.http.get("/v1/apps/acme")
    assert r.json()["id"] == app["id"]
    r = await api.http.patch("/v1/apps/acme", json={"name": "Acme Inc"})
    assert r.json()["name"] == "Acme Inc"
    r = await api.http.post("/v1/apps", json={"name": "dup", "uid": "acme"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert (await api.http.delete(f"/v1/apps/{app['id']}")).status_code == 204
    assert (await api.http.get("/v1/apps/acme")).status_code == 404


async def test_pagination_visits_every_row_once(api: Api) -> None:
    app = await api.app()
    sent = {(await api.send(app["id"], payload={"i": i}))["id"] for i in range(25)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        body = (await api.http.get(f"/v1/apps/{app['id']}/messages", params=params)).json()
        seen += [m["id"] for m in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 25 and set(seen) == sent
    assert seen == sorted(seen, reverse=True)  # newest first


async def test_event_types_catalog(api: Api) -> None:
    r = await api.http.post(
        "/v1/event-types",
        json={"name": "email.replied", "description": "a reply came", "schema": {"type": "object"}},
    )
    assert r.status_code == 201
    assert (
        await api.http.post("/v1/event-types", json={"name": "email.replied"})
    ).status_code == 409
    r = await api.http.patch("/v1/event-types/email.replied", json={"archived": True})
    assert r.json()["archived"] is True
    assert (await api.http.get("/v1/event-types")).json()["data"] == []
    r = await api.http.get("/v1/event-types", params={"include_archived": "true"})
    assert [e["name"] for e in r.json()["data"]] == ["email.replied"]
    assert (await api.http.delete("/v1/event-types/email.replied")).status_code == 204


async def test_idempotent_messages(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url())
    a = await api.send(app["id"], event_id="order-1")
    b = await api.send(app["id"], event_id="order-1", payload={"other": True})
    assert a["id"] == b["id"]
    r1 = await api.http.post(
        f"/v1/apps/{app['id']}/messages",
        headers={"Idempotency-Key": "k1"},
        json={"event_type": "a.b", "payload": 1},
    )
    r2 = await api.http.post(
        f"/v1/apps/{app['id']}/messages",
        headers={"Idempotency-Key": "k1"},
        json={"event_type": "a.b", "payload": 1},
    )
    assert r1.json()["id"] == r2.json()["id"]
    assert r2.headers.get("Idempotent-Replayed") == "true"
    await api.drain()
    assert len(receiver.requests) == 2


async def test_resend_and_recover(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url(), retry_schedule=[])
    receiver.answer("/hook", 500)
    msg = await api.send(app["id"], tags=["vip"])
    await api.drain()
    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"tag": "vip"})
    assert r.json()["data"][0]["status"] == "failed"

    r = await api.http.post(
        f"/v1/apps/{app['id']}/endpoints/{ep['id']}/recover", json={"since": "2000-01-01T00:00:00Z"}
    )
    assert r.status_code == 202
    op = r.json()
    assert (op["kind"], op["status"], op["done"], op["total"]) == ("recover", "done", 1, 1)
    assert op["endpoint_id"] == ep["id"] and op["id"].startswith("op_")
    await api.drain()
    r = await api.http.post(f"/v1/apps/{app['id']}/messages/{msg['id']}/resend")
    assert r.json() == {"requeued": 1}
    await api.drain()
    attempts = await api.attempts(app["id"], message_id=msg["id"])
    assert [(a["attempt_number"], a["status"], a["trigger"]) for a in attempts] == [
        (1, "failed", "scheduled"),
        (2, "succeeded", "manual"),
        (3, "succeeded", "manual"),
    ]
    r = await api.http.get(f"/v1/apps/{app['id']}/attempts", params={"tag": "vip"})
    assert len(r.json()["data"]) == 3


async def test_test_ping_returns_its_attempt(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url("/ping"))
    r = await api.http.post(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/test")
    assert r.status_code == 200, r.text
    attempt = r.json()
    assert attempt["status"] == "succeeded" and attempt["trigger"] == "test"
    assert attempt["response_status_code"] == 200
    (got,) = receiver.at("/ping")
    assert b'"event":"webhook.test"' in got.body
    attempts = await api.attempts(app["id"], endpoint_id=ep["id"])
    assert [a["id"] for a in attempts] == [attempt["id"]]


async def test_a_test_ping_a_worker_takes_first_answers_with_the_workers_attempt(
    api: Api, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers look for due work too: when one takes the ping first, the API answers with the
    attempt that worker recorded (it answered 409 "claimed by a worker first" before)."""
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url("/ping"))
    claim_delivery = api.store.queue.claim_delivery

    async def worker_first(*args: Any, **kwargs: Any) -> Any:
        await api.drain()  # the real worker claims, sends and records the ping
        return await claim_delivery(*args, **kwargs)

    monkeypatch.setattr(api.store.queue, "claim_delivery", worker_first)
    r = await api.http.post(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/test")
    assert r.status_code == 200, r.text
    attempt = r.json()
    assert attempt["status"] == "succeeded" and attempt["trigger"] == "test"
    assert len(receiver.at("/ping")) == 1  # sent once, by the worker
    attempts = await api.attempts(app["id"], endpoint_id=ep["id"])
    assert [a["id"] for a in attempts] == [attempt["id"]]


async def test_delete_endpoint_cancels_pending(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url())
    msg = await api.send(app["id"])
    assert (await api.http.delete(f"/v1/apps/{app['id']}/endpoints/{ep['id']}")).status_code == 204
    await api.drain()
    assert receiver.requests == []
    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"message_id": msg["id"]})
    assert r.json()["data"][0]["status"] == "canceled"


async def test_health_metrics_openapi(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url())
    await api.send(app["id"])
    await api.drain()
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    text = (await api.http.get("/metrics")).text
    assert 'hookwise_attempts_total{outcome="succeeded"}' in text
    assert "hookwise_queue_depth" in text and "hookwise_delivery_latency_seconds" in text
    spec = (await api.http.get("/openapi.json")).json()
    assert "/v1/apps/{app}/messages" in spec["paths"]
