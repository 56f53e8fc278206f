"""One answer per question: durations in one number form, one 413 threshold."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


async def test_durations_come_back_in_one_number_form(api: Api) -> None:
    app = await api.app()
    given = await api.endpoint(
        app["id"], url="http://127.0.0.1:9/", retry_schedule=[2.0, 4, 0.5], timeout_seconds=10.0
    )
    default = await api.endpoint(app["id"], url="http://127.0.0.1:9/")
    for ep in (given, default):
        again = (await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}")).json()
        assert again["retry_schedule"] == ep["retry_schedule"]
        assert again["timeout_seconds"] == ep["timeout_seconds"] == 10
        assert type(again["timeout_seconds"]) is int
    assert given["retry_schedule"] == [2, 4, 0.5]
    assert [type(x) for x in given["retry_schedule"]] == [int, int, float]
    assert default["retry_schedule"] == [1, 2, 4, 8, 16]
    assert all(type(x) is int for x in default["retry_schedule"])


async def test_one_413_threshold(api_factory: Any) -> None:
    api: Api = await api_factory(max_payload_bytes=10_000)
    app = await api.app()
    body = b'{"event_type": "a.b", "payload": "%s"}' % (b"x" * 10_100)  # under the old slack
    r = await api.http.post(
        f"/v1/apps/{app['id']}/messages", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"]["details"] == {"limit": 10_000}
    r = await api.http.post(
        f"/v1/apps/{app['id']}/messages", json={"event_type": "a.b", "payload": "x" * 9_000}
    )
    assert r.status_code == 202, r.text
