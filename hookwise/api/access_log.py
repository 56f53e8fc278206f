"""One log line per HTTP request: method, path, status, duration.

Never the query string, a header or a body: the path is all the line needs, and keys, cursors
and payloads stay out of the log. A portal link's path is its credential: logged as
``/portal/***``.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("hookwise.access")
_PORTAL = "/portal/"


def logged_path(path: str) -> str:
    """The path as the log shows it (a portal link's token masked)."""
    return _PORTAL + "***" if path.startswith(_PORTAL) else path


class AccessLog:
    """ASGI middleware, outermost: it sees every answer, the fast path's and the 413s too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500  # what the server answers when the app raises before starting a response

        async def seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, seen)
        finally:
            ms = (time.perf_counter() - t0) * 1000
            method, path = scope["method"], logged_path(scope["path"])
            log.info(
                "%s %s %d %.1f ms",
                method,
                path,
                status,
                ms,
                extra={
                    "event": "request",
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": round(ms, 1),
                },
            )
