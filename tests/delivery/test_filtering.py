"""Endpoints receive only the event types they subscribe to (empty = all)."""

from __future__ import annotations

from tests.conftest import Api
from tests.receivers import Receiver


async def test_event_filters(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url("/replied"), events=["email.replied"])
    await api.endpoint(app["id"], url=receiver.url("/all"))
    await api.endpoint(app["id"], url=receiver.url("/email"), events=["email.*"])
    await api.endpoint(app["id"], url=receiver.url("/lead"), events=["lead.created"])
    a = await api.send(app["id"], "email.replied")
    b = await api.send(app["id"], "email.opened")
    c = await api.send(app["id"], "campaign.started")
    await api.drain()

    def ids(path: str) -> set[str]:
        return {r.headers["webhook-id"] for r in receiver.at(path)}

    assert ids("/replied") == {a["id"]}
    assert ids("/all") == {a["id"], b["id"], c["id"]}
    assert ids("/email") == {a["id"], b["id"]}
    assert ids("/lead") == set()
    assert (a["deliveries"], b["deliveries"], c["deliveries"]) == (3, 2, 1)


async def test_body_is_the_documented_envelope(api: Api, receiver: Receiver) -> None:
    import orjson

    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url())
    msg = await api.send(app["id"], "invoice.paid", payload={"amount": 12, "n": "é"})
    await api.drain()
    (got,) = receiver.requests
    body = orjson.loads(got.body)
    assert body == {
        "event": "invoice.paid", "id": msg["id"], "timestamp": msg["created_at"],
        "data": {"amount": 12, "n": "é"},
    }  # fmt: skip
    assert got.headers["Content-Type"] == "application/json"
