"""Retries follow the endpoint's schedule, with the same webhook-id on every attempt."""

from __future__ import annotations

import itertools

from tests.conftest import Api
from tests.receivers import Receiver


async def test_500_500_200_gives_three_attempts_spaced_by_schedule(
    api: Api, receiver: Receiver
) -> None:
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url(), retry_schedule=[0.5, 1.0])
    receiver.answer("/hook", 500, 500, 200)
    msg = await api.send(app["id"])
    await api.drain()

    got = receiver.at("/hook")
    assert len(got) == 3
    assert {r.headers["webhook-id"] for r in got} == {msg["id"]}
    gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
    assert 0.45 <= gaps[0] <= 1.2, gaps
    assert 0.95 <= gaps[1] <= 1.8, gaps

    attempts = await api.attempts(app["id"], message_id=msg["id"])
    assert [a["attempt_number"] for a in attempts] == [1, 2, 3]
    assert [a["status"] for a in attempts] == ["failed", "failed", "succeeded"]
    assert [a["response_status_code"] for a in attempts] == [500, 500, 200]
    assert attempts[0]["error_message"] == "HTTP 500"
    assert attempts[2]["error_message"] is None
    assert all(a["duration_ms"] >= 0 and a["endpoint_id"] == ep["id"] for a in attempts)
    assert all(a["trigger"] == "scheduled" for a in attempts)

    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"message_id": msg["id"]})
    (delivery,) = r.json()["data"]
    assert delivery["status"] == "succeeded"
    assert delivery["attempt_count"] == 3
