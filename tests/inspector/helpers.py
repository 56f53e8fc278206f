"""A hookwise that knows its own URL: the SSRF guard lets its inspector bins through."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from hookwise.api.auth import create_key
from hookwise.composition import open_services
from tests.conftest import Api


@contextlib.asynccontextmanager
async def own_url_api(settings_factory: Any, **overrides: Any) -> AsyncIterator[Api]:
    """An Api whose ``public_url`` is its own loopback address, with no network allowed
    (``allow_networks`` empty): loopback is reachable only as the guard's own-bin exception.
    The socket is bound first, so the URL is known before the services are built."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    services = await open_services(
        settings_factory(allow_networks="", public_url=base, **overrides)
    )
    _, key = await create_key(services.store, "test admin", None)
    server = uvicorn.Server(uvicorn.Config(services.api, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    api = Api(services, base, key)
    try:
        yield api
    finally:
        await api.http.aclose()
        server.should_exit = True
        await task
        await services.close()
        sock.close()
