"""Operational events on both stores: sent once each, with their data, signed, to a real
receiver endpoint of the operations app; none without one, none about the operations app's
own endpoints, none for a change that rolled back."""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from hookwise.domain import operational
from hookwise.domain.ids import new_id
from hookwise.store.operational import notify
from hookwise.store.rules.operational import Notice
from hookwise.store.sql import Tx
from tests.conftest import Api
from tests.receivers import Receiver

SECRET = "whsec_" + base64.b64encode(b"operations-secret-24byte").decode()


async def _ops(api: Api, receiver: Receiver, **endpoint: Any) -> dict[str, Any]:
    """The operations app (uid ``ops``, as the settings name it) and its endpoint ``/ops``."""
    app = await api.app(name="operations", uid="ops")
    await api.endpoint(app["id"], url=receiver.url("/ops"), secret=SECRET, **endpoint)
    return app


def _told(receiver: Receiver) -> list[dict[str, Any]]:
    """The events ``/ops`` received, each verified with the reference verifier."""
    out = []
    for got in receiver.at("/ops"):
        headers = {k.lower(): v for k, v in got.headers.items()}
        out.append(Webhook(SECRET).verify(got.body, headers))
    return out


def _of(told: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [t["data"] for t in told if t["event"] == event]


async def _patch(api: Api, app_id: str, ep_id: str, **changes: Any) -> dict[str, Any]:
    r = await api.http.patch(f"/v1/apps/{app_id}/endpoints/{ep_id}", json=changes)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_each_event_is_told_once_signed_with_its_data(
    api_factory: Any, receiver: Receiver
) -> None:
    api: Api = await api_factory(operations_app="ops", auto_pause_after=4)
    await _ops(api, receiver)
    app = await api.app(uid="acme")
    ep = await api.endpoint(app["id"], url=receiver.url("/down"), retry_schedule=[])
    receiver.always("/down", 500)
    sent = []
    for _ in range(2):  # two failures: the streak reaches half of 4, the endpoint is failing
        sent.append(await api.send(app["id"], "order.created"))
        await api.drain()
    (failing,) = _of(_told(receiver), operational.FAILING)
    assert "last_error" in failing
    del failing["last_error"]
    assert failing == {
        "app_id": app["id"], "app_uid": "acme", "endpoint_id": ep["id"], "url": ep["url"],
        "consecutive_failures": 2, "pause_after": 4, "last_status_code": 500,
    }  # fmt: skip
    for _ in range(2):  # two more: paused
        sent.append(await api.send(app["id"], "order.created"))
        await api.drain()
    await _patch(api, app["id"], ep["id"], status="active")
    await api.drain()

    told = _told(receiver)
    assert [t["event"] for t in told].count(operational.FAILING) == 1  # once per streak
    (paused,) = _of(told, operational.PAUSED)
    assert paused == {
        "app_id": app["id"], "app_uid": "acme", "endpoint_id": ep["id"], "url": ep["url"],
        "trigger": "automatic", "reason": "4 consecutive failed attempts",
        "consecutive_failures": 4,
    }  # fmt: skip
    (enabled,) = _of(told, operational.ENABLED)
    assert enabled == {
        "app_id": app["id"], "app_uid": "acme", "endpoint_id": ep["id"], "url": ep["url"],
        "trigger": "manual",
    }  # fmt: skip
    exhausted = _of(told, operational.EXHAUSTED)
    assert [x["message_id"] for x in exhausted] == [m["id"] for m in sent]
    assert exhausted[0]["event_type"] == "order.created"
    assert exhausted[0]["attempts"] == 1 and exhausted[0]["last_status_code"] == 500
    assert exhausted[0]["delivery_id"].startswith("dlv_")
    # each is a message of the operations app in the envelope of every message
    first = told[0]
    assert set(first) == {"event", "id", "timestamp", "data"}
    assert first["id"].startswith("msg_") and first["timestamp"].endswith("Z")


async def test_a_pause_by_hand_is_told_and_a_repeat_is_not(
    api_factory: Any, receiver: Receiver
) -> None:
    api: Api = await api_factory(operations_app="ops")
    await _ops(api, receiver)
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url("/fine"))
    await _patch(api, app["id"], ep["id"], status="paused")
    await _patch(api, app["id"], ep["id"], status="paused")  # no change: nothing to tell
    await _patch(api, app["id"], ep["id"], description="renamed")
    await api.drain()
    (paused,) = _of(_told(receiver), operational.PAUSED)
    assert paused["trigger"] == "manual" and paused["reason"] == "paused by hand"
    assert paused["app_uid"] is None
    assert _of(_told(receiver), operational.ENABLED) == []


async def test_failing_is_told_once_per_streak(api_factory: Any, receiver: Receiver) -> None:
    api: Api = await api_factory(operations_app="ops", operations_failing_after=2)
    await _ops(api, receiver)
    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url("/flaky"), retry_schedule=[])
    # a streak of 3 failures, a success, then a streak of 2: two streaks past 2
    receiver.answer("/flaky", 500, 500, 500, 200, 500, 500)
    for _ in range(6):
        await api.send(app["id"])
        await api.drain()
    failing = _of(_told(receiver), operational.FAILING)
    assert [f["consecutive_failures"] for f in failing] == [2, 2]
    assert _of(_told(receiver), operational.PAUSED) == []


async def test_nothing_is_told_without_an_operations_app(
    api_factory: Any, receiver: Receiver
) -> None:
    api: Api = await api_factory(auto_pause_after=1)
    await _ops(api, receiver)
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url("/down"), retry_schedule=[])
    receiver.always("/down", 500)
    await api.send(app["id"])
    await api.drain()
    await _patch(api, app["id"], ep["id"], status="active")
    await api.drain()
    assert len(receiver.at("/down")) == 1 and receiver.at("/ops") == []
    r = await api.http.get("/v1/event-types")
    assert not {e["name"] for e in r.json()["data"]} & operational.NAMES


async def test_the_operations_apps_own_endpoints_are_not_told_of(
    api_factory: Any, receiver: Receiver
) -> None:
    """Its endpoint fails every event for good and pauses: that is told to nobody (an event
    about the delivery of an event would go round forever)."""
    api: Api = await api_factory(operations_app="ops", auto_pause_after=2)
    ops = await _ops(api, receiver, retry_schedule=[])
    receiver.always("/ops", 500)
    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url("/down"), retry_schedule=[])
    receiver.always("/down", 500)
    for _ in range(2):
        await api.send(app["id"])
        await api.drain()
    r = await api.http.get(f"/v1/apps/{ops['id']}/messages", params={"limit": 100})
    events = sorted(m["event_type"] for m in r.json()["data"])
    # about the customer's endpoint only: 2 exhausted, failing at 1, then paused
    assert events == sorted(["delivery.exhausted"] * 2 + ["endpoint.failing", "endpoint.paused"])
    assert len(receiver.at("/ops")) == 2  # the ops endpoint paused after 2: the rest are held


async def test_the_catalog_lists_them_with_their_schemas(api_factory: Any) -> None:
    api: Api = await api_factory(operations_app="ops")
    # an operator's own description is kept when the service starts again
    r = await api.http.patch("/v1/event-types/endpoint.paused", json={"description": "mine"})
    assert r.status_code == 200, r.text
    await api.store.operational.start("ops")
    r = await api.http.get("/v1/event-types")
    listed = {e["name"]: e for e in r.json()["data"]}
    assert set(listed) >= operational.NAMES
    assert listed["endpoint.paused"]["description"] == "mine"
    exhausted = listed["delivery.exhausted"]
    assert "failed for good" in exhausted["description"]
    assert {"app_id", "endpoint_id", "message_id", "event_type"} <= set(
        exhausted["schema"]["properties"]
    )


async def test_a_change_that_rolls_back_tells_nothing(api_factory: Any) -> None:
    api: Api = await api_factory(operations_app="ops")
    ops = await api.app(uid="ops")
    await api.endpoint(ops["id"], url="http://127.0.0.1:9/never")
    watch = api.store.operational.watch
    handle = api.store._handle  # the store's own transactions, to make one roll back
    about = {"app_id": "app_x", "endpoint_id": "ep_x", "url": "http://x", "trigger": "manual"}

    def tx() -> Tx[None]:
        yield from notify(handle.dialect, watch, [Notice("endpoint.enabled", "app_x", about)], 1.0)
        raise RuntimeError("the change fails after its event was written")

    with pytest.raises(RuntimeError):
        await handle.write(tx)
    r = await api.http.get(f"/v1/apps/{ops['id']}/messages")
    assert r.json()["data"] == []
    # the same statements committed: one message with one delivery
    await handle.write(lambda: _told_one(handle, watch, about))
    r = await api.http.get(f"/v1/apps/{ops['id']}/messages")
    (msg,) = r.json()["data"]
    assert msg["event_type"] == "endpoint.enabled" and msg["payload"]["endpoint_id"] == "ep_x"


def _told_one(handle: Any, watch: Any, about: dict[str, Any]) -> Tx[bool]:
    due: bool = yield from notify(
        handle.dialect, watch, [Notice("endpoint.enabled", "app_x", about)], time.time()
    )
    return due


def test_the_envelope_is_a_messages() -> None:
    body = operational.body("endpoint.enabled", new_id("msg"), 0.0, {"app_id": "a"})
    assert list(orjson.loads(body)) == ["event", "id", "timestamp", "data"]
    assert orjson.loads(body)["timestamp"] == "1970-01-01T00:00:00.000Z"
