"""The request inspector's API: bins record what is sent to them, answer their status, keep
their newest captures only, cut big bodies, and are another app's to read only as missing."""

from __future__ import annotations

import time

import httpx

from hookwise.store.inspector import Limits
from tests.conftest import Api


async def _bin(api: Api, **body: object) -> dict[str, object]:
    r = await api.http.post("/v1/inspector/bins", json=body or None)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_bin_records_every_request_newest_first(api: Api) -> None:
    b = await _bin(api)
    assert set(b) >= {"id", "url", "expires_at"} and b["status"] == 200
    assert b["url"] == f"{api.base_url}/inspect/{b['id']}"
    async with httpx.AsyncClient(timeout=10) as anon:  # no key: the URL is the capability
        r = await anon.post(
            f"{b['url']}/hooks/a?x=1&y=two", content=b'{"n": 1}', headers={"X-Test": "yes"}
        )
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        first = r.headers["X-Hookwise-Capture"]
        r = await anon.get(str(b["url"]))
        assert r.status_code == 200
        # a key sent by mistake, and the dashboard's cookie, are not the bin's to show
        await anon.put(
            str(b["url"]),
            content=b"\xff\xfe<script>alert(1)</script>",
            headers={"Authorization": "Bearer hwk_secretsecret", "Cookie": "a=1; hookwise_key=k"},
        )

    r = await api.http.get(f"/v1/inspector/bins/{b['id']}/requests", params={"limit": 2})
    assert r.status_code == 200
    page = r.json()
    assert [c["method"] for c in page["data"]] == ["PUT", "GET"] and page["next_cursor"]
    put = page["data"][0]
    assert put["body_encoding"] == "base64" and put["body_size"] == 27
    assert put["headers"]["authorization"] == "Bearer hwk_***"
    assert put["headers"]["cookie"] == "a=1; hookwise_key=***"
    r = await api.http.get(
        f"/v1/inspector/bins/{b['id']}/requests", params={"cursor": page["next_cursor"]}
    )
    (post,) = r.json()["data"]
    assert post["id"] == first and post["method"] == "POST"
    assert post["path"] == f"/inspect/{b['id']}/hooks/a" and post["query"] == "x=1&y=two"
    assert post["body"] == '{"n": 1}' and post["body_encoding"] == "utf-8"
    assert post["headers"]["x-test"] == "yes" and not post["truncated"]
    assert abs(time.time() - _epoch(post["received_at"])) < 60


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_status_cap_and_cut(api_factory: object) -> None:
    api: Api = await api_factory(  # type: ignore[operator]
        inspector_max_captures=3, inspector_max_body_bytes=10
    )
    b = await _bin(api, status=503, name="retries")
    assert b["status"] == 503 and b["name"] == "retries"
    async with httpx.AsyncClient(timeout=10) as anon:
        for i in range(5):
            r = await anon.post(str(b["url"]), content=f"{i} body number".encode())
            assert r.status_code == 503
    got = (await api.http.get(f"/v1/inspector/bins/{b['id']}/requests")).json()["data"]
    assert [c["body"] for c in got] == [
        "4 body num",
        "3 body num",
        "2 body num",
    ]  # the newest 3, cut at 10 bytes
    assert all(c["truncated"] and c["body_size"] == 13 for c in got)

    r = await api.http.post("/v1/inspector/bins", json={"status": 199})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "status"


async def test_another_apps_bin_is_missing_and_deleted_bins_are_gone(api: Api) -> None:
    mine = await api.app(name="mine")
    other = await api.app(name="other")
    keys = {}
    for a in (mine, other):
        r = await api.http.post("/v1/keys", json={"name": "k", "app_id": a["id"]})
        keys[a["id"]] = r.json()["key"]
    headers = {"Authorization": f"Bearer {keys[mine['id']]}"}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers) as c:
        r = await c.post("/v1/inspector/bins")
        assert r.status_code == 201, r.text
        b = r.json()
        assert b["app_id"] == mine["id"]
        assert (await c.get(f"/v1/inspector/bins/{b['id']}")).status_code == 200
    headers = {"Authorization": f"Bearer {keys[other['id']]}"}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers) as c:
        for path in (f"/v1/inspector/bins/{b['id']}", f"/v1/inspector/bins/{b['id']}/requests"):
            r = await c.get(path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert (await c.delete(f"/v1/inspector/bins/{b['id']}")).status_code == 404
        assert (await c.get("/v1/inspector/bins")).json()["data"] == []
    listed = (await api.http.get("/v1/inspector/bins")).json()["data"]
    assert [x["id"] for x in listed] == [b["id"]]  # an admin sees every bin

    assert (await api.http.delete(f"/v1/inspector/bins/{b['id']}")).status_code == 204
    async with httpx.AsyncClient(timeout=10) as anon:
        assert (await anon.post(str(b["url"]), content=b"x")).status_code == 404
    assert (await api.http.get(f"/v1/inspector/bins/{b['id']}")).status_code == 404


async def test_an_expired_bin_is_missing_then_pruned(api: Api) -> None:
    live = await _bin(api)
    api.store.inspector.limits = Limits(ttl_seconds=0.0)  # expired as soon as it is made
    gone = await _bin(api)
    async with httpx.AsyncClient(timeout=10) as anon:
        assert (await anon.post(str(gone["url"]), content=b"x")).status_code == 404
        assert (await anon.post(str(live["url"]), content=b"x")).status_code == 200
    assert (await api.http.get(f"/v1/inspector/bins/{gone['id']}")).status_code == 404
    r = await api.http.get(f"/v1/inspector/bins/{gone['id']}/requests")
    assert r.status_code == 404
    assert [b["id"] for b in (await api.http.get("/v1/inspector/bins")).json()["data"]] == [
        live["id"]
    ]
    assert await api.store.inspector.prune_expired() == 1  # the expired one, not the live one
    assert await api.store.inspector.prune_expired() == 0
    assert (await api.http.get(f"/v1/inspector/bins/{live['id']}/requests")).json()["data"]
