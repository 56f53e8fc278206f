"""Bad input gets a clear error in the one shape, naming the problem."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api


def _err(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]  # type: ignore[no-any-return]


async def test_every_404_names_what_was_not_found(api: Api) -> None:
    app = await api.app(uid="acme")
    e = _err(await api.http.get("/v1/apps/nosuch/attempts"), 404, "not_found")
    assert e["message"] == "app 'nosuch' not found"
    e = _err(await api.http.get(f"/v1/apps/{app['id']}/endpoints/ep_x"), 404, "not_found")
    assert e["message"] == "endpoint 'ep_x' not found"
    e = _err(await api.http.get("/v1/nothing"), 404, "not_found")
    assert e["message"] == "no route for GET /v1/nothing"
    assert e["details"] == {"path": "/v1/nothing", "method": "GET"}
    # the README tour's failure: $APP unset leaves an empty segment
    e = _err(await api.http.post("/v1/apps//messages", json={}), 404, "not_found")
    assert "/v1/apps//messages" in e["message"] and "$APP" in e["message"]
    e = _err(await api.http.get("/v1/keys/key_x"), 405, "method_not_allowed")
    assert e["message"] == "GET is not allowed on /v1/keys/key_x (allowed: DELETE)"


async def test_malformed_json(api: Api) -> None:
    app = await api.app()
    r = await api.http.post(
        f"/v1/apps/{app['id']}/messages",
        content=b'{"event_type": "a.b", "payload": ',
        headers={"Content-Type": "application/json"},
    )
    _err(r, 400, "invalid_json")


async def test_wrong_types_name_the_field(api: Api) -> None:
    app = await api.app()
    r = await api.http.post(f"/v1/apps/{app['id']}/messages", json={"event_type": 5, "payload": {}})
    e = _err(r, 422, "validation_error")
    assert e["details"]["field"] == "event_type"
    r = await api.http.post(f"/v1/apps/{app['id']}/messages", json={"event_type": "a.b"})
    assert _err(r, 422)["details"]["field"] == "payload"
    r = await api.http.post(
        f"/v1/apps/{app['id']}/endpoints", json={"url": "http://127.0.0.1/x", "timeout_seconds": 99}
    )
    assert _err(r, 422)["details"]["field"] == "timeout_seconds"
    r = await api.http.post(
        f"/v1/apps/{app['id']}/endpoints",
        json={"url": "http://127.0.0.1/x", "retry_schedule": [1, -2]},
    )
    assert _err(r, 422)["details"]["field"] == "retry_schedule[1]"
    r = await api.http.post(
        f"/v1/apps/{app['id']}/messages", json={"event_type": "no spaces!", "payload": {}}
    )
    assert _err(r, 422)["details"]["field"] == "event_type"
    r = await api.http.post(
        f"/v1/apps/{app['id']}/messages", json={"event_type": "a.b", "payload": {}, "bogus": 1}
    )
    assert _err(r, 422)["details"]["field"] == "bogus"


async def test_nul_characters_are_refused_naming_the_field(api: Api) -> None:
    """PostgreSQL's text type cannot hold U+0000: every store refuses it up front with a 422
    that names the field or parameter, never a 503 from the database."""
    app = await api.app()
    base = f"/v1/apps/{app['id']}"
    r = await api.http.post("/v1/apps", json={"name": "a\x00b"})
    assert _err(r, 422, "validation_error")["details"]["field"] == "name"
    msg = {"event_type": "a.b", "payload": {}}
    r = await api.http.post(f"{base}/messages", json={**msg, "tags": ["ok", "x\x00"]})
    assert _err(r, 422)["details"]["field"] == "tags"
    r = await api.http.post(f"{base}/messages", json={**msg, "event_id": "e\x00"})
    assert _err(r, 422)["details"]["field"] == "event_id"
    r = await api.http.post(
        f"{base}/endpoints", json={"url": "http://127.0.0.1/x", "headers": {"X-A": "b\x00"}}
    )
    assert _err(r, 422)["details"]["field"] == "headers.X-A"
    r = await api.http.post(f"{base}/jobs", json={"type": "t\x00"})
    assert _err(r, 422)["details"]["field"] == "type"
    r = await api.http.get(f"{base}/messages", params={"tag": "a\x00"})
    assert _err(r, 422)["details"]["field"] == "tag"
    r = await api.http.get("/v1/apps/app%00x")
    assert _err(r, 422)["details"]["field"] == "app"
    r = await api.http.post("/v1/apps/app%00x/messages", json=msg)  # the ingest fast path
    assert _err(r, 422)["details"]["field"] == "app"
    # inside a payload, whatever its shape, it is JSON, stored escaped, and delivered as sent
    for payload in ({"s": "a\x00b"}, ["a\x00b"], "a\x00b"):
        r = await api.http.post(f"{base}/messages", json={**msg, "payload": payload})
        assert r.status_code == 202, r.text
        r = await api.http.get(f"{base}/messages/{r.json()['id']}")
        assert r.json()["payload"] == payload


async def test_oversize_payload_is_413(api_factory: Any) -> None:
    api: Api = await api_factory(max_payload_bytes=10_000)
    app = await api.app()
    r = await api.http.post(
        f"/v1/apps/{app['id']}/messages", json={"event_type": "a.b", "payload": "x" * 20_000}
    )
    _err(r, 413, "payload_too_large")
    r = await api.http.post(
        f"/v1/apps/{app['id']}/messages",
        content=b'{"event_type": "a.b", "payload": "' + b"x" * 200_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    _err(r, 413, "payload_too_large")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:10.0.0.1]/x",
        "http://[fe80::1]/x",
        "http://192.168.1.1/x",
        "http://100.64.0.1/x",
        "http://0xa000001/x",
        "http://167772161/x",
        "http://[fd00:ec2::254]/",
        "http://224.0.0.1/x",
    ],
)
async def test_blocked_url(api: Api, url: str) -> None:
    app = await api.app()
    r = await api.http.post(f"/v1/apps/{app['id']}/endpoints", json={"url": url})
    e = _err(r, 422, "blocked_url")
    assert e["details"]["field"] == "url"
    assert "HOOKWISE_ALLOW_NETWORKS" in e["message"]  # says how to let it through


async def test_bad_url_syntax(api: Api) -> None:
    app = await api.app()
    for url in ("ftp://example.com/x", "not a url", "http:///nohost"):
        r = await api.http.post(f"/v1/apps/{app['id']}/endpoints", json={"url": url})
        assert _err(r, 422)["details"]["field"] == "url"


async def test_unknown_app_is_404(api: Api) -> None:
    r = await api.http.get("/v1/apps/app_nope/endpoints")
    _err(r, 404, "not_found")
    r = await api.http.post("/v1/apps/app_nope/messages", json={"event_type": "a.b", "payload": 1})
    _err(r, 404, "not_found")


async def test_missing_or_wrong_key_is_401(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.base_url) as anon:
        _err(await anon.get("/v1/apps"), 401, "unauthorized")
        r = await anon.get("/v1/apps", headers={"Authorization": "Bearer hwk_wrong"})
        _err(r, 401, "unauthorized")
        r = await anon.get("/v1/apps", headers={"Authorization": "Basic abc"})
        _err(r, 401, "unauthorized")


async def test_app_key_on_another_app_is_answered_like_a_missing_app(api: Api) -> None:
    a, b = await api.app(), await api.app()
    missing = "app_0000000000000000000000000"
    r = await api.http.post("/v1/keys", json={"name": "a only", "app_id": a["id"]})
    assert r.status_code == 201
    key = r.json()["key"]
    async with httpx.AsyncClient(
        base_url=api.base_url, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        for ref in (b["id"], missing):
            # the same answer, but for the id it names: a key cannot tell taken ids from free
            other = await client.get(f"/v1/apps/{ref}/messages")
            _err(other, 404, "not_found")
            assert other.json()["error"]["details"] == {"resource": "app", "id": ref}
            r = await client.post(
                f"/v1/apps/{ref}/messages", json={"event_type": "a.b", "payload": 1}
            )
            assert (r.status_code, r.json()) == (other.status_code, other.json())
        assert (await client.get(f"/v1/apps/{a['id']}/messages")).status_code == 200
        _err(await client.post("/v1/apps", json={"name": "x"}), 403)
        _err(await client.get("/v1/keys"), 403)


async def test_unknown_route_and_method(api: Api) -> None:
    _err(await api.http.get("/v1/nothing"), 404)
    _err(await api.http.delete("/v1/apps"), 405)


async def test_bad_query_parameters(api: Api) -> None:
    app = await api.app()
    r = await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"status": "weird"})
    assert _err(r, 422)["details"]["field"] == "status"
    r = await api.http.get(f"/v1/apps/{app['id']}/messages", params={"limit": 0})
    assert _err(r, 422)["details"]["field"] == "limit"
