"""The ASGI adapter: run it with uvicorn, or mount it in FastAPI / Starlette.

``POST`` (any path) is a webhook; ``GET``/``HEAD`` answer ``{"status": "ok"}`` for health
checks; other methods get 405. When served directly, the ASGI lifespan opens the inbox and runs
the processor and reconciler in the same process. When mounted, Starlette does not pass the
lifespan on: use ``FastAPI(lifespan=receiver.lifespan)`` (or a separate ``--worker``); the inbox
itself is opened on the first request either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from hookwise.domain.errors import PayloadTooLarge
from hookwise.receiver.adapters.length import declared_length
from hookwise.receiver.reply import Reply

if TYPE_CHECKING:
    from hookwise.receiver.receiver import Receiver

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_HEALTH = Reply.json(200, {"status": "ok"})
_NOT_ALLOWED = Reply.json(
    405,
    {"error": {"code": "method_not_allowed", "message": "POST a webhook", "details": {}}},
    (("allow", "POST, GET, HEAD"),),
)


def scope_headers(scope: Scope) -> dict[str, str]:
    """Request headers as a dict with lower-case names; repeated headers joined by ``, ``."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


class ASGIReceiver:
    """An ASGI application answering webhooks for ``receiver``."""

    def __init__(self, receiver: Receiver, *, process: bool = True, reconcile: bool = True) -> None:
        self.receiver = receiver
        self.process = process
        self.reconcile = reconcile

    def __repr__(self) -> str:
        return f"ASGIReceiver({self.receiver!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        if method == "POST":
            body = await self._body(scope, receive)
            if body is None:
                return  # the client went away
            reply = (
                body
                if isinstance(body, Reply)
                else await self.receiver.handle(body, scope_headers(scope))
            )
        elif method in ("GET", "HEAD"):
            reply = _HEALTH
        else:
            reply = _NOT_ALLOWED
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(k.encode(), v.encode()) for k, v in reply.headers],
            }
        )
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else reply.body})

    async def _body(self, scope: Scope, receive: Receive) -> bytes | Reply | None:
        """The request body, or a 413 reply as soon as it is known to be too large."""
        limit = self.receiver.max_body_bytes
        too_large = Reply.error(PayloadTooLarge(f"body over {limit} bytes"))
        for name, value in scope.get("headers", ()):
            if name.lower() == b"content-length" and (declared_length(value) or 0) > limit:
                return too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        async with AsyncExitStack() as stack:
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    try:
                        await stack.enter_async_context(
                            self.receiver.running(process=self.process, reconcile=self.reconcile)
                        )
                    except Exception as exc:
                        await send({"type": "lifespan.startup.failed", "message": str(exc)})
                        return
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await stack.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
