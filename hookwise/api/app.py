"""The FastAPI application: routers, the error shape, the body-size limit."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookwise.api import errors, openapi
from hookwise.api.access_log import AccessLog
from hookwise.api.context import ApiContext
from hookwise.api.fastpath import IngestFastPath
from hookwise.api.routes import (
    apps,
    deliveries,
    endpoints,
    event_types,
    health,
    inspector,
    jobs,
    keys,
    listen,
    messages,
    operations,
    portal_links,
)
from hookwise.api.schemas import refuse_nul


class BodyLimit:
    """Answer 413 in the error shape for bodies over the limit, before reading them whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = ctype = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"content-type" and ctype is None:
                ctype = value
            elif name == b"transfer-encoding":
                chunked = True
        if ctype is None or ctype.startswith(_FORM):
            scope = _json_by_default(scope)
        declared = int(length) if length is not None and length.isdigit() else None
        if declared is not None and declared > self.limit:
            await self._reject(scope, receive, send)
            return
        if declared is not None and not chunked:  # the server holds the body to its length
            await self.app(scope, receive, send)
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
    """Read a body sent without a content type or as a form (curl's default) as JSON: the API
    takes nothing else."""
    if scope["method"] not in ("POST", "PATCH", "PUT") or not scope["path"].startswith("/v1/"):
        return scope
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
    return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}


def create_app(ctx: ApiContext, *, fast_path: bool = True, **extra: Any) -> FastAPI:
    """The API application over ``ctx``. The ingest fast path (``hookwise.api.fastpath``) is
    its innermost middleware: a middleware added later runs around it, as around every route;
    ``fast_path=False`` leaves message ingest to the documented route alone."""
    if "telemetry" in inspect.signature(FastAPI).parameters:
        # FastAPI's OpenTelemetry hook looks at the environment on every request
        extra.setdefault("telemetry", {"tracing": False, "metrics": False, "logs": False})
    app = FastAPI(
        title="hookwise",
        version="0.1.0",
        description="Webhooks done properly: signed, retried, logged, paused, replayable.",
        dependencies=[Depends(_nul_free_parameters)],
        **extra,
    )
    app.state.ctx = ctx
    errors.install(app)
    openapi.install(app)
    for module in (
        keys,
        apps,
        event_types,
        endpoints,
        messages,
        deliveries,
        jobs,
        operations,
        inspector,
        portal_links,
        health,
        listen,
    ):
        app.include_router(module.router)
    if fast_path:  # added first, so innermost: inside every middleware, before routing
        app.add_middleware(IngestFastPath, ctx=ctx)
    # one threshold: the request body and the signed message body answer to the same limit
    app.add_middleware(BodyLimit, limit=ctx.settings.max_payload_bytes)
    app.add_middleware(AccessLog)  # last added: outermost, it logs every answer
    return app


async def _nul_free_parameters(request: HTTPConnection) -> None:
    """Path and query parameters holding the NUL character are refused (422), on every store
    (a WebSocket's too: ``HTTPConnection``)."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        refuse_nul(name, value)
