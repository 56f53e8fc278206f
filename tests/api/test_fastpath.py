"""The ingest fast path: inside the middleware stack, and answering as the documented route does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from hookwise.api.app import create_app
from hookwise.api.auth import create_key
from tests.conftest import Api, start_uvicorn

MAX_PAYLOAD = 4096


async def _serve(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    server, task, base = await start_uvicorn(app)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await task


class Seen:
    """A user middleware that records the paths it saw."""

    paths: list[str] = []

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


async def test_a_middleware_added_later_sees_message_ingest(api: Api) -> None:
    app = await api.app()
    later = create_app(api.services.api.state.ctx)
    later.add_middleware(Seen)
    later.add_middleware(CORSMiddleware, allow_origins=["https://ui.example"])
    Seen.paths = []
    path = f"/v1/apps/{app['id']}/messages"
    async for client in _serve(later):
        r = await client.post(
            path,
            json={"event_type": "a.b", "payload": {"n": 1}},
            headers={"Authorization": f"Bearer {api.admin_key}", "Origin": "https://ui.example"},
        )
        assert r.status_code == 202, r.text
        assert r.headers["access-control-allow-origin"] == "https://ui.example"
    assert Seen.paths == [path]


# -- parity ------------------------------------------------------------------------------

Case = tuple[str, dict[str, str], bytes]  # path suffix (after the app), headers, body
VALID = b'{"event_type": "a.b", "payload": {"n": 1}, "tags": ["t"]}'
CASES: dict[str, Case] = {
    "valid": ("", {}, VALID),
    "valid, charset": ("", {"Content-Type": "application/json; charset=utf-8"}, VALID),
    "valid, no content type": ("", {"Content-Type": ""}, VALID),
    "valid, text/plain": ("", {"Content-Type": "text/plain"}, VALID),
    "event_id": ("", {}, b'{"event_type": "a.b", "payload": 1, "event_id": "e-SIDE"}'),
    "invalid json": ("", {}, b'{"event_type": "a.b", "payload": '),
    "empty body": ("", {}, b""),
    "null body": ("", {}, b"null"),
    "array body": ("", {}, b"[]"),
    "NaN": ("", {}, b'{"event_type": "a.b", "payload": NaN}'),
    "wrong type": ("", {}, b'{"event_type": 1, "payload": {}}'),
    "wrong tags": ("", {}, b'{"event_type": "a.b", "payload": {}, "tags": "t"}'),
    "string for a list": ("", {}, b'{"event_type": "a.b", "payload": {}, "tags": [1]}'),
    "missing payload": ("", {}, b'{"event_type": "a.b"}'),
    "missing all": ("", {}, b"{}"),
    "unknown field": ("", {}, b'{"event_type": "a.b", "payload": {}, "x": 1}'),
    "bad event type": ("", {}, b'{"event_type": "A B", "payload": {}}'),
    "NUL in name": ("", {}, b'{"event_type": "a.\\u0000", "payload": {}}'),
    "NUL in payload": ("", {}, b'{"event_type": "a.b", "payload": {"s": "\\u0000"}}'),
    "NUL in app": ("%00", {}, VALID),
    "bad app": ("nope", {}, VALID),
    "no key": ("", {"Authorization": ""}, VALID),
    "wrong key": ("", {"Authorization": "Bearer hwk_wrong"}, VALID),
    "not bearer": ("", {"Authorization": "Basic eDp5"}, VALID),
    "wrong key, invalid json": ("", {"Authorization": "Bearer hwk_wrong"}, b"{"),
    "other app's key": ("", {"Authorization": "OTHER"}, VALID),
    "payload too large": ("", {}, b'{"event_type": "a.b", "payload": "%s"}' % (b"x" * MAX_PAYLOAD)),
    "body over the limit": ("", {}, b"[" + b"1," * 40_000 + b"1]"),
    "long idempotency key": ("", {"Idempotency-Key": "k" * 300}, VALID),
    "long key, bad body": ("", {"Idempotency-Key": "k" * 300}, b'{"event_type": 1}'),
}


def _shape(r: httpx.Response) -> dict[str, Any]:
    """What must match between the two: status, the headers that matter, the body's shape."""
    out: dict[str, Any] = {
        "status": r.status_code,
        "content-type": r.headers.get("content-type"),
        "retry-after": r.headers.get("retry-after"),
        "replayed": r.headers.get("idempotent-replayed"),
    }
    body = r.json()
    if "error" in body:
        out["error"] = body["error"]
    else:
        out["keys"] = sorted(body)
        out["values"] = {k: body[k] for k in ("event_type", "payload", "tags", "deliveries")}
        out["event_id"] = body["event_id"] is not None
    return out


@pytest.fixture
async def small(api_factory: Any) -> Api:
    return await api_factory(max_payload_bytes=MAX_PAYLOAD)  # type: ignore[no-any-return]


@pytest.fixture
async def route_only(small: Api) -> AsyncIterator[httpx.AsyncClient]:
    """The same service without the fast path: the documented FastAPI route alone."""
    async for client in _serve(create_app(small.services.api.state.ctx, fast_path=False)):
        yield client


async def test_fast_path_answers_as_the_route(small: Api, route_only: httpx.AsyncClient) -> None:
    api = small
    app = await api.app()
    other = await api.app(name="other")
    await api.endpoint(app["id"], url="http://127.0.0.1:9/hook")
    _, other_key = await create_key(api.store, "other", other["id"])
    fast = httpx.AsyncClient(base_url=api.base_url, timeout=30)  # no default Authorization
    for name, (suffix, headers, body) in CASES.items():
        path = f"/v1/apps/{suffix or app['id']}/messages"
        h = {"Authorization": f"Bearer {api.admin_key}", "Content-Type": "application/json"}
        h.update(headers)
        if h["Authorization"] == "OTHER":
            h["Authorization"] = f"Bearer {other_key}"
        h = {k: v for k, v in h.items() if v}
        answers = []
        for side, client in ((b"fast", fast), (b"route", route_only)):
            r = await client.post(path, content=body.replace(b"SIDE", side), headers=h)
            answers.append(_shape(r))
        assert answers[0] == answers[1], name
    await fast.aclose()


async def test_an_idempotent_repeat_answers_alike(
    small: Api, route_only: httpx.AsyncClient
) -> None:
    api = small
    app = await api.app()
    path = f"/v1/apps/{app['id']}/messages"
    auth = {"Authorization": f"Bearer {api.admin_key}"}
    shapes = []
    for client, key in ((api.http, "fast"), (route_only, "route")):
        headers = {**auth, "Idempotency-Key": f"k-{key}"}
        first = await client.post(path, json={"event_type": "a.b", "payload": 1}, headers=headers)
        again = await client.post(path, json={"event_type": "a.b", "payload": 1}, headers=headers)
        assert again.json()["id"] == first.json()["id"]
        shapes.append((_shape(first), _shape(again)))
    assert shapes[0] == shapes[1]
    assert shapes[0][1]["replayed"] == "true"


async def test_a_rate_limited_ingest_answers_alike(api_factory: Any) -> None:
    # half a request a second: the bucket never holds a whole token, every request is refused
    api = await api_factory(rate_limit_per_key=0.5)
    app = await api.store.resources.create_app(
        name="a", uid=None, metadata={}, results_inline_budget=1024
    )
    path = f"/v1/apps/{app.id}/messages"
    shapes = []
    async for route_only in _serve(create_app(api.services.api.state.ctx, fast_path=False)):
        for client in (api.http, route_only):
            r = await client.post(
                path,
                json={"event_type": "a.b", "payload": 1},
                headers={"Authorization": f"Bearer {api.admin_key}"},
            )
            shapes.append(_shape(r))
    assert shapes[0] == shapes[1]
    assert (shapes[0]["status"], shapes[0]["retry-after"]) == (429, "1")
