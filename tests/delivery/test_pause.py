"""Auto-pause after consecutive failures; held deliveries resume on re-enable."""

from __future__ import annotations

from tests.conftest import Api
from tests.receivers import Receiver


async def test_ten_failures_pause_hold_and_resume(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url("/down"), retry_schedule=[])
    receiver.always("/down", 500)
    for i in range(10):
        await api.send(app["id"], payload={"i": i})
    await api.drain()
    r = await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}")
    endpoint = r.json()
    assert endpoint["status"] == "paused"
    assert endpoint["consecutive_failures"] == 10
    assert "10 consecutive" in endpoint["paused_reason"]

    held = [await api.send(app["id"], payload={"later": i}) for i in range(3)]
    await api.drain()
    assert len(receiver.at("/down")) == 10  # nothing sent while paused
    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"status": "held"})
    assert {d["message_id"] for d in r.json()["data"]} == {m["id"] for m in held}

    receiver.always("/down", 200)
    r = await api.http.patch(
        f"/v1/apps/{app['id']}/endpoints/{ep['id']}", json={"status": "active"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["consecutive_failures"] == 0
    assert r.json()["paused_reason"] is None
    await api.drain()
    got = {x.headers["webhook-id"] for x in receiver.at("/down")[10:]}
    assert got == {m["id"] for m in held}
    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"status": "held"})
    assert r.json()["data"] == []


async def test_a_success_resets_the_counter(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url("/flaky"), retry_schedule=[])
    receiver.answer("/flaky", *([500] * 9), 200, *([500] * 9))
    for i in range(19):
        await api.send(app["id"], payload={"i": i})
        await api.services.worker.drain(timeout=10)
    r = await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}")
    assert r.json()["status"] == "active"
    assert r.json()["consecutive_failures"] == 9


async def test_pause_by_hand_holds_new_messages(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url())
    r = await api.http.patch(
        f"/v1/apps/{app['id']}/endpoints/{ep['id']}", json={"status": "paused"}
    )
    assert r.json()["status"] == "paused"
    msg = await api.send(app["id"])
    await api.drain()
    assert receiver.requests == []
    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"message_id": msg["id"]})
    assert r.json()["data"][0]["status"] == "held"
