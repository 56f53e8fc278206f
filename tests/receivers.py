"""A scriptable webhook receiver: a real aiohttp server on 127.0.0.1 for tests."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Script:
    """How a path answers: a queue of (status, headers, delay) then ``default``."""

    queue: deque[tuple[int, dict[str, str], float]] = field(default_factory=deque)
    default: tuple[int, dict[str, str], float] = (200, {}, 0.0)


class Receiver:
    """Records every request; answers as scripted per path."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.scripts: dict[str, Script] = defaultdict(Script)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.open: dict[str, int] = defaultdict(int)  # requests being answered, per path
        self.peak: dict[str, int] = defaultdict(int)  # the most ever open at once, per path
        self.bodies: dict[str, bytes] = {}  # what a path answers, when not "ok" / "no"

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(
        self, path: str, *statuses: int, headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> None:
        """Queue answers for the next requests to ``path``."""
        for s in statuses:
            self.scripts[path].queue.append((s, headers or {}, delay))

    def always(
        self, path: str, status: int, *, delay: float = 0.0, headers: dict[str, str] | None = None
    ) -> None:
        """Answer every later request to ``path`` like this."""
        self.scripts[path].default = (status, headers or {}, delay)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def wait_for(self, predicate: Any, timeout: float = 20.0) -> None:
        """Wait until ``predicate(self)`` holds."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Received(request.path, dict(request.headers), body, time.time()))
        async with self._changed:
            self._changed.notify_all()
        script = self.scripts[request.path]
        status, headers, delay = script.queue.popleft() if script.queue else script.default
        self.open[request.path] += 1
        self.peak[request.path] = max(self.peak[request.path], self.open[request.path])
        try:
            if delay:
                await asyncio.sleep(delay)
        finally:
            self.open[request.path] -= 1
        if 300 <= status < 400:
            headers = {"Location": "http://127.0.0.1:1/elsewhere", **headers}
        body = self.bodies.get(request.path, b"ok" if status < 300 else b"no")
        return web.Response(status=status, headers=headers, body=body)

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        (address,) = self._runner.addresses  # the one site just started: (host, port)
        self.port = address[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
