"""The FastAPI application: routers, the error shape, the body-size limit."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookwise.api import errors
from hookwise.api.context import ApiContext
from hookwise.api.fastpath import IngestFastPath
from hookwise.api.routes import (
    apps,
    deliveries,
    endpoints,
    event_types,
    health,
    jobs,
    keys,
    messages,
)
from hookwise.api.schemas import refuse_nul

_SLACK = 64 * 1024


class BodyLimit:
    """Answer 413 in the error shape for bodies over the limit, before reading them whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = _json_by_default(scope)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(scope, receive, send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return msg

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        resp = errors.error_response(
            413,
            "payload_too_large",
            f"the request body is over {self.limit} bytes",
            {"limit": self.limit},
        )
        await resp(scope, receive, send)


class _TooLarge(Exception):
    pass


_FORM = b"application/x-www-form-urlencoded"


def _json_by_default(scope: Scope) -> Scope:
    """Read a body sent without a JSON content type (curl's default is a form) as JSON:
    the API takes nothing else."""
    if scope.get("method") not in ("POST", "PATCH", "PUT") or not scope["path"].startswith("/v1/"):
        return scope
    headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"content-type"]
    ctype = next((v for k, v in scope.get("headers", ()) if k == b"content-type"), None)
    if ctype is not None and not ctype.startswith(_FORM):
        return scope
    return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}


def create_app(ctx: ApiContext, **extra: Any) -> HookwiseAPI:
    """The API application over ``ctx``."""
    if "telemetry" in inspect.signature(FastAPI).parameters:
        # FastAPI's OpenTelemetry hook looks at the environment on every request
        extra.setdefault("telemetry", {"tracing": False, "metrics": False, "logs": False})
    app = HookwiseAPI(
        title="hookwise",
        version="0.1.0",
        description="Webhooks done properly: signed, retried, logged, paused, replayable.",
        dependencies=[Depends(_nul_free_parameters)],
        **extra,
    )
    app.state.ctx = ctx
    errors.install(app)
    for module in (keys, apps, event_types, endpoints, messages, deliveries, jobs, health):
        app.include_router(module.router)
    limit = ctx.settings.max_payload_bytes + _SLACK
    app.fast_path = IngestFastPath(ctx, limit)
    app.add_middleware(BodyLimit, limit=limit)
    return app


async def _nul_free_parameters(request: Request) -> None:
    """Path and query parameters holding the NUL character are refused (422), on every store."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        refuse_nul(name, value)


class HookwiseAPI(FastAPI):
    """FastAPI with the ingest fast path in front of its middleware stack."""

    fast_path: IngestFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_path is not None and await self.fast_path.try_handle(scope, receive, send):
            return
        await super().__call__(scope, receive, send)
