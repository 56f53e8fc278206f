"""The ingest fast path: ``POST /v1/apps/{app}/messages`` served without FastAPI's routing and
dependency machinery, which cost more CPU than the rest of the request put together.

It does exactly what the documented route does (same validation model, same ``accept``
function, same errors); the FastAPI route stays for the OpenAPI document and as the fallback.
"""

from __future__ import annotations

import logging
import re

from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hookwise.api.context import ApiContext
from hookwise.api.errors import error_response, hookwise_error_response, validation_response
from hookwise.api.routes.messages import accept
from hookwise.api.schemas import MessageIn, refuse_nul
from hookwise.domain.errors import HookwiseError, PayloadTooLarge

log = logging.getLogger("hookwise.api")
_PATH = re.compile(r"^/v1/apps/([^/]{1,200})/messages$")


class IngestFastPath:
    """Answers message creation directly, before FastAPI's middleware and routing."""

    def __init__(self, ctx: ApiContext, body_limit: int) -> None:
        self.ctx = ctx
        self.body_limit = body_limit

    async def try_handle(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Serve the request if it is a message creation; False (nothing sent) otherwise."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return False
        m = _PATH.fullmatch(scope["path"])
        if m is None:
            return False
        try:
            response = await self._handle(m.group(1), scope, receive)
        except HookwiseError as exc:
            response = hookwise_error_response(exc)
        except ValidationError as exc:
            response = validation_response(exc.errors())
        except Exception:
            log.exception("unhandled error on the ingest path")
            response = error_response(500, "internal_error", "an internal error occurred")
        # what Response.__call__ sends (it has no background task here), without its layers
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response.body})
        return True

    async def _handle(self, app_ref: str, scope: Scope, receive: Receive) -> Response:
        refuse_nul("app", app_ref)
        authorization = idempotency_key = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"idempotency-key":
                idempotency_key = value.decode("latin-1")
        caller = await self.ctx.auth.authenticate(authorization)
        app = await self.ctx.app(app_ref)
        caller.require_app(app.id, app_ref)
        if idempotency_key is not None and len(idempotency_key) > 256:
            return error_response(
                422, "validation_error", "idempotency-key: at most 256 characters",
                {"field": "idempotency-key"},
            )  # fmt: skip
        body = await self._read(receive)
        return await accept(self.ctx, app, MessageIn.model_validate_json(body), idempotency_key)

    async def _read(self, receive: Receive) -> bytes:
        chunks = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                break
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.body_limit:
                raise PayloadTooLarge(f"the request body is over {self.body_limit} bytes")
            chunks.append(chunk)
            if not msg.get("more_body", False):
                break
        return b"".join(chunks)
