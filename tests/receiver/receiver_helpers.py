"""Helpers shared by the receiver tests: a signing test sender and condition waits."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import orjson
import pytest
import uvicorn
from aiohttp import web
from werkzeug.serving import make_server

from hookwise.domain.signing import Signer
from hookwise.receiver.service import bind


def signed(
    payload: dict[str, Any] | bytes,
    secret: str | list[str],
    *,
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A body and the headers hookwise's sender would put on it."""
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    signer = Signer.from_secrets([secret] if isinstance(secret, str) else secret)
    headers = signer.headers(
        msg_id or f"msg_{uuid.uuid4().hex}", timestamp or int(time.time()), body
    )
    headers["content-type"] = "application/json"
    return body, headers


async def wait_until(
    condition: Callable[[], Awaitable[bool] | bool], timeout: float = 15.0, what: str = ""
) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


def wait_until_sync(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    """``wait_until`` for sync tests."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


@dataclass(frozen=True)
class Answer:
    """An HTTP response, read in full."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Http:
    """A small aiohttp client for the tests (loopback, keep-alive, no proxies from env)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Http:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self, method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        assert self._session is not None
        async with self._session.request(method, url, data=body, headers=headers) as resp:
            return Answer(
                resp.status, {k.lower(): v for k, v in resp.headers.items()}, await resp.read()
            )

    async def post(self, url: str, body: Any, headers: Mapping[str, str]) -> Answer:
        return await self.request("POST", url, body, headers)

    async def get(self, url: str) -> Answer:
        return await self.request("GET", url)


@asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn (lifespan on) on a free loopback port; yield its base URL."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_until(lambda: server.started or task.done(), what="uvicorn started")
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def serve_aiohttp(app: web.Application) -> AsyncIterator[str]:
    """Serve an aiohttp app (a third party's API) on a free loopback port; yield its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextmanager
def wsgi_server(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def http_client() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=10)
