"""``hookwise.AsyncClient``: the API over httpx, for asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any

import httpx

from hookwise.client import _core, resources
from hookwise.client._core import Json, Request
from hookwise.client.errors import ApiError, TransportError

One = Awaitable[Json]
Many = AsyncIterator[Json]


class AsyncClient:
    """The hookwise API for asyncio; the same resources as ``Client``, awaited::

    async with hookwise.AsyncClient("http://127.0.0.1:8000", api_key) as hw:
        job = await hw.jobs.create(app, "enrich.bulk", webhook_url=url)
        await hw.jobs.report(app, job["id"], items)
        await hw.jobs.finish(app, job["id"])
        async for row in hw.jobs.results(app, job["id"]):
            ...
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.max_retries = max_retries
        self._own = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._http.base_url = httpx.URL(base_url.rstrip("/"))
        self._http.headers["authorization"] = f"Bearer {api_key}"
        self._http.headers.setdefault("user-agent", "hookwise-client")
        self.apps: resources.Apps[One, Many] = resources.Apps(self)
        self.keys: resources.Keys[One, Many] = resources.Keys(self)
        self.endpoints: resources.Endpoints[One, Many] = resources.Endpoints(self)
        self.messages: resources.Messages[One, Many] = resources.Messages(self)
        self.attempts: resources.Attempts[One, Many] = resources.Attempts(self)
        self.deliveries: resources.Deliveries[One, Many] = resources.Deliveries(self)
        self.jobs: resources.Jobs[One, Many] = resources.Jobs(self)
        self.operations: resources.Operations[One, Many] = resources.Operations(self)
        self.event_types: resources.EventTypes[One, Many] = resources.EventTypes(self)

    def __repr__(self) -> str:
        return f"AsyncClient({str(self._http.base_url)!r})"

    async def send(self, request: Request) -> Json:
        """Send one request; its JSON answer."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return _core.answer(await self._once(request))
            except ApiError as exc:
                if attempt > self.max_retries or not _core.retryable(exc):
                    raise
                await asyncio.sleep(_core.retry_wait(attempt, exc))
            except httpx.ConnectError as exc:
                if attempt > self.max_retries:
                    raise TransportError(f"cannot connect to {self._http.base_url}: {exc}") from exc
                await asyncio.sleep(_core.retry_wait(attempt, None))

    async def _once(self, request: Request) -> httpx.Response:
        try:
            return await self._http.request(
                request.method,
                request.path,
                params=request.params or None,
                json=request.json,
                headers=request.headers or None,
            )
        except httpx.ConnectError:
            raise
        except httpx.HTTPError as exc:
            raise TransportError(f"{request.method} {request.path} failed: {exc!r}") from exc

    async def send_all(
        self, requests: Sequence[Request], merge: Callable[[list[Json]], Json]
    ) -> Json:
        """Send requests one after the other; ``merge`` their answers."""
        return merge([await self.send(r) for r in requests])

    async def paginate(self, request: Request) -> Many:
        """Every row of a listing, page after page."""
        cursor: str | None = None
        while True:
            page = await self.send(request.at(cursor))
            for row in page.get("data", []):
                yield row
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def aclose(self) -> None:
        """Close the connections (unless the httpx client was given)."""
        if self._own:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def get(self, path: str, **params: Any) -> Json:
        """GET any API path (for what the resources do not cover)."""
        return await self.send(Request("GET", path, params))
