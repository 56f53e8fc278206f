"""``hookwise.Client``: the API over httpx, blocking."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

import httpx

from hookwise.client import _core, resources
from hookwise.client._core import Json, Request
from hookwise.client.errors import ApiError, TransportError

Many = Iterator[Json]


class Client:
    """The hookwise API, blocking::

        with hookwise.Client("http://127.0.0.1:8000", api_key) as hw:
            job = hw.jobs.create(app, "enrich.bulk", webhook_url=url, custom={"crm_id": "42"})
            hw.jobs.report(app, job["id"], [{"id": "c1", "status": "succeeded", "result": r}])
            hw.jobs.finish(app, job["id"])

    Errors answered by the API raise ``ApiError`` (``status``, ``code``, ``message``,
    ``details``); no answer raises ``TransportError``. Calls refused with 429 or 503, or
    that could not connect, are retried ``max_retries`` times.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        http: httpx.Client | None = None,
    ) -> None:
        self.max_retries = max_retries
        self._own = http is None
        self._http = http or httpx.Client(timeout=timeout)
        self._http.base_url = httpx.URL(base_url.rstrip("/"))
        self._http.headers["authorization"] = f"Bearer {api_key}"
        self._http.headers.setdefault("user-agent", "hookwise-client")
        self.apps: resources.Apps[Json, Many] = resources.Apps(self)
        self.keys: resources.Keys[Json, Many] = resources.Keys(self)
        self.endpoints: resources.Endpoints[Json, Many] = resources.Endpoints(self)
        self.messages: resources.Messages[Json, Many] = resources.Messages(self)
        self.attempts: resources.Attempts[Json, Many] = resources.Attempts(self)
        self.deliveries: resources.Deliveries[Json, Many] = resources.Deliveries(self)
        self.jobs: resources.Jobs[Json, Many] = resources.Jobs(self)
        self.operations: resources.Operations[Json, Many] = resources.Operations(self)
        self.event_types: resources.EventTypes[Json, Many] = resources.EventTypes(self)

    def __repr__(self) -> str:
        return f"Client({str(self._http.base_url)!r})"

    def send(self, request: Request) -> Json:
        """Send one request; its JSON answer."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return _core.answer(self._once(request))
            except ApiError as exc:
                if attempt > self.max_retries or not _core.retryable(exc):
                    raise
                time.sleep(_core.retry_wait(attempt, exc))
            except httpx.ConnectError as exc:
                if attempt > self.max_retries:
                    raise TransportError(f"cannot connect to {self._http.base_url}: {exc}") from exc
                time.sleep(_core.retry_wait(attempt, None))

    def _once(self, request: Request) -> httpx.Response:
        try:
            return self._http.request(
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

    def send_all(self, requests: Sequence[Request], merge: Callable[[list[Json]], Json]) -> Json:
        """Send requests one after the other; ``merge`` their answers."""
        return merge([self.send(r) for r in requests])

    def paginate(self, request: Request) -> Many:
        """Every row of a listing, page after page."""
        cursor: str | None = None
        while True:
            page = self.send(request.at(cursor))
            yield from page.get("data", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def close(self) -> None:
        """Close the connections (unless the httpx client was given)."""
        if self._own:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def get(self, path: str, **params: Any) -> Json:
        """GET any API path (for what the resources do not cover)."""
        return self.send(Request("GET", path, params))
