"""Input the API must refuse before writing anything, or keep and give back exactly: each defect
found by the hardening probe (issue 13, items 1-7 and 12), on every store."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import Api
from tests.dashboard.console import console

DEPTH = 254  # the JSON encoder used for answers stops at 255 levels


def _nested(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


def _err(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if field is not None:
        assert body["error"]["details"]["field"] == field, body
    return body["error"]  # type: ignore[no-any-return]


async def _post(api: Api, path: str, raw: str) -> httpx.Response:
    return await api.http.post(path, content=raw, headers={"Content-Type": "application/json"})


async def _lists_still_work(api: Api, app_id: str) -> None:
    for path in ("/v1/apps", "/v1/event-types", f"/v1/apps/{app_id}/jobs"):
        r = await api.http.get(path)
        assert r.status_code == 200, (path, r.text)


async def test_deep_json_is_refused_before_it_is_written(api: Api) -> None:
    app = await api.app()
    before = len((await api.http.get("/v1/apps", params={"limit": 1000})).json()["data"])
    for depth in (65, DEPTH, 300, 999):
        r = await _post(api, "/v1/apps", '{"name":"deep","metadata":' + _nested(depth) + "}")
        _err(r, 400)
        r = await _post(
            api, "/v1/event-types", '{"name":"deep.schema","schema":' + _nested(depth) + "}"
        )
        _err(r, 400)
        r = await _post(
            api, f"/v1/apps/{app['id']}/jobs", '{"type":"t","metadata":' + _nested(depth) + "}"
        )
        _err(r, 400)
        r = await _post(
            api,
            f"/v1/apps/{app['id']}/messages",
            '{"event_type":"a.b","payload":' + _nested(depth) + "}",
        )
        _err(r, 400)
    after = len((await api.http.get("/v1/apps", params={"limit": 1000})).json()["data"])
    assert after == before
    await _lists_still_work(api, app["id"])

    # as deep as the documented limit is kept, and every read gives it back
    deep = json.loads(_nested(64))
    r = await api.http.post("/v1/apps", json={"name": "deep enough", "metadata": deep})
    assert r.status_code == 201, r.text
    assert (await api.http.get(f"/v1/apps/{r.json()['id']}")).json()["metadata"] == deep
    await _lists_still_work(api, app["id"])


@pytest.mark.parametrize(
    "number", ["18446744073709551616", "-9223372036854775809", "1" + "0" * 30, "9" * 4300]
)
async def test_integers_outside_64_bits_are_422_naming_the_field(api: Api, number: str) -> None:
    app = await api.app()
    base = f"/v1/apps/{app['id']}"
    cases = [
        (f"{base}/messages", '{"event_type":"a.b","payload":{"n":N}}', "payload.n"),
        ("/v1/apps", '{"name":"n","metadata":{"n":[N]}}', "metadata.n[0]"),
        (f"{base}/jobs", '{"type":"t","metadata":{"n":N}}', "metadata.n"),
        ("/v1/event-types", '{"name":"big.n","schema":{"maximum":N}}', "schema.maximum"),
    ]
    for path, template, field in cases:
        r = await _post(api, path, template.replace("N", number))
        _err(r, 422, field)
    job = (await api.http.post(f"{base}/jobs", json={"type": "t"})).json()
    r = await _post(
        api,
        f"{base}/jobs/{job['id']}/items",
        '{"items":[{"id":"i","status":"failed","error":{"code":N}}]}'.replace("N", number),
    )
    _err(r, 422, "items.0.error.code")
    r = await _post(
        api,
        f"{base}/jobs/{job['id']}/finish",
        '{"status":"completed","summary":{"n":N}}'.replace("N", number),
    )
    _err(r, 422, "summary.n")
    assert (await api.http.get(f"{base}/messages")).json()["data"] == []
    assert (await api.http.get(f"{base}/jobs/{job['id']}")).json()["status"] == "running"
    await _lists_still_work(api, app["id"])


async def test_integers_at_the_64_bit_edges_read_back_exactly(api: Api) -> None:
    app = await api.app()
    edges = {"min": -(2**63), "max": 2**63 - 1}
    msg = await api.send(app["id"], payload=edges)
    got = await api.http.get(f"/v1/apps/{app['id']}/messages/{msg['id']}")
    assert got.json()["payload"] == edges


async def test_infinite_numbers_are_refused(api: Api) -> None:
    app = await api.app()
    r = await _post(api, f"/v1/apps/{app['id']}/messages", '{"event_type":"a.b","payload":1e400}')
    _err(r, 422, "payload")


async def test_lone_surrogates_are_refused(api: Api) -> None:
    app = await api.app()
    base = f"/v1/apps/{app['id']}"
    job = (await api.http.post(f"{base}/jobs", json={"type": "t"})).json()
    cases = [
        ("/v1/apps", '{"name":"n","metadata":{"k":"\\ud800"}}'),
        ("/v1/apps", '{"name":"n","metadata":{"\\udfff":1}}'),
        ("/v1/apps", '{"name":"\\ud800"}'),
        ("/v1/event-types", '{"name":"s.s","schema":{"title":"\\ud800"}}'),
        (f"{base}/jobs", '{"type":"t","metadata":{"k":["\\ud800"]}}'),
        (f"{base}/jobs/{job['id']}/items", '{"items":[{"status":"succeeded","result":"\\ud800"}]}'),
        (f"{base}/jobs/{job['id']}/finish", '{"status":"completed","summary":{"k":"\\ud800"}}'),
        (f"{base}/messages", '{"event_type":"a.b","payload":{"k":"\\ud800"}}'),
    ]
    for path, raw in cases:
        r = await _post(api, path, raw)
        # 400 (not JSON the API takes) in free JSON; a typed text field says 422, naming it
        _err(r, 422 if raw.startswith('{"name":"\\') else 400)
    await _lists_still_work(api, app["id"])
    assert (await api.http.get(f"{base}/jobs/{job['id']}")).json()["succeeded"] == 0


async def test_tiny_rate_limit_is_refused_and_the_smallest_keeps_reads_working(api: Api) -> None:
    app = await api.app()
    r = await api.http.post(
        f"/v1/apps/{app['id']}/endpoints",
        json={"url": "https://example.com/h", "rate_limit_per_second": 1e-300},
    )
    _err(r, 422, "rate_limit_per_second")
    ep = await api.endpoint(app["id"], url="https://example.com/h", rate_limit_per_second=0.01)
    r = await api.http.patch(
        f"/v1/apps/{app['id']}/endpoints/{ep['id']}", json={"rate_limit_per_second": 1e-300}
    )
    _err(r, 422, "rate_limit_per_second")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("endpoint", {"url": None}, "url"),
        ("endpoint", {"status": None}, "status"),
        ("endpoint", {"description": None}, "description"),
        ("endpoint", {"timeout_seconds": None}, "timeout_seconds"),
        ("event_type", {"archived": None}, "archived"),
        ("event_type", {"description": None}, "description"),
        ("app", {"name": None}, "name"),
        ("app", {"metadata": None}, "metadata"),
    ],
)
async def test_patch_with_null_is_422_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    app = await api.app(uid="nulls")
    ep = await api.endpoint(app["id"], url="https://example.com/h")
    assert (await api.http.post("/v1/event-types", json={"name": "n.t"})).status_code == 201
    url = {
        "endpoint": f"/v1/apps/{app['id']}/endpoints/{ep['id']}",
        "event_type": "/v1/event-types/n.t",
        "app": f"/v1/apps/{app['id']}",
    }[path]
    before = (await api.http.get(url)).json() if path != "event_type" else None
    _err(await api.http.patch(url, json=body), 422, field)
    if before is not None:
        assert (await api.http.get(url)).json() == before


async def test_patch_null_where_null_means_clear(api: Api) -> None:
    app = await api.app(uid="has-uid")
    r = await api.http.patch(f"/v1/apps/{app['id']}", json={"uid": None})
    assert r.status_code == 200 and r.json()["uid"] is None
    ep = await api.endpoint(app["id"], url="https://example.com/h", rate_limit_per_second=5)
    r = await api.http.patch(
        f"/v1/apps/{app['id']}/endpoints/{ep['id']}", json={"rate_limit_per_second": None}
    )
    assert r.status_code == 200 and r.json()["rate_limit_per_second"] is None


@pytest.mark.parametrize(
    "cursor", [str(2**63), str(2**64), "-1", "1e400", "x", "nan~job_1", "inf~job_1", "1"]
)
async def test_garbage_cursors_are_4xx(api: Api, cursor: str) -> None:
    app = await api.app()
    job = (await api.http.post(f"/v1/apps/{app['id']}/jobs", json={"type": "t"})).json()
    base = f"/v1/apps/{app['id']}"
    for path in (f"{base}/jobs/{job['id']}/results", f"{base}/jobs", f"{base}/messages"):
        r = await api.http.get(path, params={"cursor": cursor})
        assert r.status_code in (200, 400, 422), (path, cursor, r.text)
        if r.status_code != 200:
            _err(r, r.status_code, "cursor")
    for limit in ("0", "-1", "1001", "1e3", "x", str(2**64)):
        _err(await api.http.get(f"{base}/messages", params={"limit": limit}), 422, "limit")


async def test_results_cursor_past_its_column_is_422(api: Api) -> None:
    app = await api.app()
    job = (await api.http.post(f"/v1/apps/{app['id']}/jobs", json={"type": "t"})).json()
    path = f"/v1/apps/{app['id']}/jobs/{job['id']}/results"
    for cursor in (str(2**31), str(2**63), "+1", " 1", "1_0", "\u0661"):
        _err(await api.http.get(path, params={"cursor": cursor}), 422, "cursor")
    r = await api.http.get(path, params={"cursor": str(2**31 - 1)})
    assert r.status_code == 200 and r.json()["data"] == []


async def test_trailing_newline_is_refused_everywhere(api: Api) -> None:
    app = await api.app()
    base = f"/v1/apps/{app['id']}"
    _err(await api.http.post("/v1/event-types", json={"name": "a.b\n"}), 422, "name")
    r = await api.http.post(f"{base}/messages", json={"event_type": "a.b\n", "payload": 1})
    _err(r, 422, "event_type")
    r = await api.http.post(
        f"{base}/endpoints", json={"url": "https://example.com/h", "events": ["a.b\n"]}
    )
    _err(r, 422, "events[0]")
    _err(await api.http.post(f"{base}/jobs", json={"type": "t", "id": "jid\n"}), 422, "id")
    _err(await api.http.post(f"{base}/jobs", json={"type": "t\n"}), 422, "type")
    assert (await api.http.get(f"{base}/jobs")).json()["data"] == []


async def test_app_key_dashboard_counts_only_its_own_queue(api: Api) -> None:
    a, b = await api.app(name="Alpha"), await api.app(name="Beta", uid="beta-uid")
    ep = await api.endpoint(b["id"], url="https://example.com/h", status="paused")
    for _ in range(3):
        await api.send(b["id"], "order.created")
    assert ep["status"] == "paused"
    key = (await api.http.post("/v1/keys", json={"name": "a", "app_id": a["id"]})).json()["key"]
    async with console(api, key) as c:
        home = (await c.get("/dashboard")).text
        assert "0 held" in home, home
        # another tenant's app by its uid reads exactly like a uid nobody has (no id shown)
        other = await c.get("/dashboard/apps/beta-uid")
        missing = await c.get("/dashboard/apps/free-uid")
        assert (other.status_code, missing.status_code) == (404, 404)
        assert other.text.replace("beta-uid", "free-uid") == missing.text
        assert b["id"] not in other.text
    async with console(api, api.admin_key) as c:
        assert "3 held" in (await c.get("/dashboard")).text
