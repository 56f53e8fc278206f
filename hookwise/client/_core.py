"""What the sync and async clients share: requests as values, the transport protocol, the
error mapping, retries and the batching of job items."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx

from hookwise.client.errors import ApiError

T = TypeVar("T", covariant=True)
P = TypeVar("P", covariant=True)
Json = dict[str, Any]

MAX_ITEMS_PER_BATCH = 1000
MAX_BATCH_BYTES = 512 * 1024
RETRY_STATUSES = frozenset({429, 503})
MAX_RETRY_WAIT = 30.0


@dataclass(frozen=True, slots=True)
class Request:
    """One API call, before it is sent."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def at(self, cursor: str | None) -> Request:
        """The same request for the page after ``cursor``."""
        params = {**self.params, "cursor": cursor} if cursor else self.params
        return Request(self.method, self.path, params, self.json, self.headers)


class Transport(Protocol[T, P]):
    """How a client sends: ``T`` is what one call gives (a dict, or an awaitable of one) and
    ``P`` what a listing gives (an iterator, or an async iterator)."""

    def send(self, request: Request) -> T: ...

    def send_all(self, requests: Sequence[Request], merge: Callable[[list[Json]], Json]) -> T: ...

    def paginate(self, request: Request) -> P: ...


def answer(response: httpx.Response) -> Json:
    """The JSON of a 2xx answer, or the ApiError of any other."""
    if response.is_success:
        if not response.content:
            return {}
        data = response.json()
        return data if isinstance(data, dict) else {"data": data}
    retry_after = _retry_after(response)
    try:
        err = response.json()["error"]
        code, message, details = str(err["code"]), str(err["message"]), err.get("details")
    except (ValueError, KeyError, TypeError):
        code, message, details = f"http_{response.status_code}", response.text[:500], None
    raise ApiError(
        response.status_code,
        code,
        message,
        details if isinstance(details, dict) else None,
        retry_after=retry_after,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


def retry_wait(attempt: int, error: ApiError | None) -> float:
    """Seconds before retry ``attempt`` (1-based): the server's Retry-After, else backoff."""
    if error is not None and error.retry_after is not None:
        return min(error.retry_after, MAX_RETRY_WAIT)
    return min(0.25 * 2.0 ** (attempt - 1), MAX_RETRY_WAIT)


def retryable(error: ApiError) -> bool:
    """Rate limited or briefly unavailable: nothing was done, the call may be sent again."""
    return error.status in RETRY_STATUSES


def drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def item_batches(items: Iterable[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Items cut into batches of at most 1,000 and about 512 KiB (the API's body limit)."""
    batches: list[list[Mapping[str, Any]]] = []
    size = 0
    for item in items:
        n = len(json.dumps(item, separators=(",", ":"))) + 1
        if not batches or len(batches[-1]) >= MAX_ITEMS_PER_BATCH or size + n > MAX_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += n
    return batches


def merge_reports(job_id: str) -> Callable[[list[Json]], Json]:
    """Sums the answers of several item batches into one."""

    def merge(answers: list[Json]) -> Json:
        out: Json = {"job_id": job_id, "accepted": 0, "duplicates": [], "events": 0}
        for a in answers:
            out["accepted"] += a.get("accepted", 0)
            out["duplicates"] += a.get("duplicates", [])
            out["events"] += a.get("events", 0)
            out.update({k: a[k] for k in ("succeeded", "failed", "total") if k in a})
        return out

    return merge
