"""GETs to the sender's API on the receiver's behalf: truncated results and job status URLs.

Requests carry ``Authorization: Bearer <api_key>``. When ``base_url`` is set, relative URLs are
resolved against it and the key is only ever sent to that origin: a payload that points
elsewhere is refused rather than handed the key.
"""

from __future__ import annotations

from typing import Any

import httpx

from hookwise.receiver.errors import ResultsFetchError
from hookwise.receiver.job_shape import JobShape, JobState, ShapeReader

MAX_PAGES = 10_000


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class Fetcher:
    """An HTTP client for results endpoints and status URLs (one per receiver)."""

    def __init__(
        self, *, api_key: str | None, base_url: str | None = None, timeout: float = 10.0
    ) -> None:
        self._api_key = api_key
        self._base = httpx.URL(base_url) if base_url else None
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"Fetcher(base_url={str(self._base) if self._base else None!r})"

    def resolve(self, url: str) -> httpx.URL:
        """The absolute URL to call; refuses other origins when a base URL is configured."""
        try:
            target = httpx.URL(url)
            if self._base is not None:
                target = self._base.join(target)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ResultsFetchError(f"invalid URL: {exc}", url=url) from exc
        if target.scheme not in {"http", "https"} or not target.host:
            raise ResultsFetchError("URL must be absolute http(s)", url=url)
        if self._base is not None and _origin(target) != _origin(self._base):
            raise ResultsFetchError(f"refusing to send the API key outside {self._base}", url=url)
        return target

    async def get_json(self, url: str | httpx.URL) -> Any:
        """GET ``url`` and parse its JSON body; any failure is a ``ResultsFetchError``."""
        target = self.resolve(str(url))
        if self._client is None:
            headers = {"accept": "application/json", "user-agent": "hookwise-receiver"}
            if self._api_key:
                headers["authorization"] = f"Bearer {self._api_key}"
            self._client = httpx.AsyncClient(timeout=self._timeout, headers=headers)
        try:
            response = await self._client.get(target)
        except httpx.HTTPError as exc:
            raise ResultsFetchError(f"GET failed: {exc!r}", url=str(target)) from exc
        if not response.is_success:
            raise ResultsFetchError(
                f"GET answered {response.status_code}",
                url=str(target),
                status_code=response.status_code,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise ResultsFetchError("response is not JSON", url=str(target)) from exc

    async def job_state(self, url: str | httpx.URL, read: ShapeReader) -> JobState:
        """GET ``url`` and read the answer with ``read``; an unreadable one is a fetch error."""
        answer = await self.get_json(url)
        try:
            return read(answer)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ResultsFetchError(f"unexpected answer: {exc}", url=str(url)) from exc

    async def all_results(self, url: str, read: ShapeReader | None = None) -> list[Any]:
        """Every row behind a results URL, read with ``read`` (hookwise's shape by default:
        pages of ``{"data": [...], "next_cursor": ...}``; a bare list, or a job with a
        ``results`` list, is a single page)."""
        read = read or JobShape()
        first = self.resolve(url)
        rows: list[Any] = []
        seen: set[str] = set()
        target = first
        for _ in range(MAX_PAGES):
            page = await self.job_state(target, read)
            if page.results is None:
                raise ResultsFetchError("expected a list of results", url=str(target))
            rows.extend(page.results)
            cursor = page.next_cursor
            if not cursor:
                return rows
            if str(cursor) in seen:
                raise ResultsFetchError("the endpoint repeated a cursor", url=str(target))
            seen.add(str(cursor))
            target = first.copy_set_param("cursor", str(cursor))
        raise ResultsFetchError(f"more than {MAX_PAGES} pages", url=url)

    async def aclose(self) -> None:
        """Close the underlying connections."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
