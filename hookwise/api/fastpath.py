"""The ingest fast path: ``POST /v1/apps/{app}/messages`` served without FastAPI's routing and
dependency machinery, which cost more CPU than the rest of the request put together.

It is an ASGI middleware, the innermost one: every middleware of the application (and any
added later, CORS or tracing) runs around it, so it skips routing, never the middleware stack.
It serves only the plain case (a JSON body that validates, a usual ``Idempotency-Key``) with the
documented route's own pieces (the same model, ``accept`` function and error answers); every
other request, a bad body included, goes on to the documented route with its body replayed, so
the route's answer is the answer. ``tests/api/test_fastpath.py`` holds the two to parity.
"""

from __future__ import annotations

import re

from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookwise.api.context import ApiContext
from hookwise.api.errors import hookwise_error_response
from hookwise.api.routes.messages import accept
from hookwise.api.schemas import MessageIn
from hookwise.domain.errors import HookwiseError
from hookwise.domain.text import NUL

_PATH = re.compile(r"/v1/apps/([^/]{1,200})/messages")
_JSON = b"application/json"
_MAX_IDEMPOTENCY_KEY = 256  # the route's Header(max_length=256)


class IngestFastPath:
    """Answers message creation directly, inside the middleware stack, before routing."""

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        m = None
        if scope["type"] == "http" and scope["method"] == "POST":
            m = _PATH.fullmatch(scope["path"])
        if m is None or NUL in m.group(1):
            await self.app(scope, receive, send)
            return
        authorization = idempotency_key = None
        for name, value in scope["headers"]:
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"idempotency-key" and idempotency_key is None:
                idempotency_key = value.decode("latin-1")
            elif name == b"content-type" and not (value == _JSON or value.startswith(_JSON + b";")):
                await self.app(scope, receive, send)
                return
        body = await _read(receive)
        try:
            message = MessageIn.model_validate_json(body)
        except ValidationError:
            message = None
        if message is None or len(idempotency_key or "") > _MAX_IDEMPOTENCY_KEY:
            await self.app(scope, _replay(body, receive), send)  # the route's answer
            return
        try:
            response = await self._accept(m.group(1), authorization, idempotency_key, message)
        except HookwiseError as exc:
            response = hookwise_error_response(exc)
        # what Response.__call__ sends (it has no background task here), without its layers
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    async def _accept(
        self, app_ref: str, authorization: str | None, idempotency_key: str | None, body: MessageIn
    ) -> Response:
        caller = await self.ctx.auth.authenticate(authorization)
        app = await self.ctx.app(app_ref)
        caller.require_app(app.id, app_ref)
        return await accept(self.ctx, app, body, idempotency_key)


async def _read(receive: Receive) -> bytes:
    """The whole body (the application's BodyLimit, outside, bounds its size)."""
    chunks = []
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then waits on the real one (disconnects)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
