"""Database rows to domain values, shared by both backends (sqlite3.Row and asyncpg.Record
both read by column name)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson

from hookwise.domain.models import (
    ApiKey,
    App,
    Attempt,
    ClaimedDelivery,
    Delivery,
    Endpoint,
    EventType,
    Message,
)

Row = Mapping[str, Any]
Decrypt = Callable[[str], str]


# the latest time a read shows: a row written before times were bounded (a rate limit of 1e-300
# put next_attempt_at near 1e300) still reads, instead of failing every list that holds it
_LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_LAST_TS = _LAST.timestamp()
_FIRST = datetime(1, 1, 1, tzinfo=UTC)
_FIRST_TS = _FIRST.timestamp()


def ts(value: float) -> datetime:
    """Epoch seconds to an aware UTC datetime (beyond year 9999: the last second of 9999)."""
    if not _FIRST_TS <= value < _LAST_TS:
        return _LAST if value > 0 else _FIRST
    return datetime.fromtimestamp(value, tz=UTC)


def ts_or_none(value: float | None) -> datetime | None:
    """Like ``ts`` for nullable columns."""
    return None if value is None else ts(value)


def _plain(value: str) -> str:
    return value


def api_key(r: Row) -> ApiKey:
    """An ApiKey from its row."""
    return ApiKey(
        id=r["id"],
        name=r["name"],
        prefix=r["prefix"],
        scope=r["scope"],
        app_id=r["app_id"],
        created_at=ts(r["created_at"]),
    )


def app(r: Row) -> App:
    """An App from its row."""
    return App(
        id=r["id"],
        uid=r["uid"],
        name=r["name"],
        metadata=orjson.loads(r["metadata"]),
        results_inline_budget=r["results_inline_budget"],
        created_at=ts(r["created_at"]),
        updated_at=ts(r["updated_at"]),
    )


def event_type(r: Row) -> EventType:
    """An EventType from its row."""
    return EventType(
        name=r["name"],
        description=r["description"],
        schema=orjson.loads(r["schema"]) if r["schema"] else None,
        archived=bool(r["archived"]),
        created_at=ts(r["created_at"]),
        updated_at=ts(r["updated_at"]),
    )


def endpoint(r: Row, decrypt: Decrypt = _plain) -> Endpoint:
    """An Endpoint from its row, secrets decrypted."""
    prev = orjson.loads(r["previous_secrets"])
    return Endpoint(
        id=r["id"],
        app_id=r["app_id"],
        url=r["url"],
        description=r["description"],
        events=tuple(orjson.loads(r["events"])),
        secret=decrypt(r["secret"]),
        previous_secrets=tuple((decrypt(s), ts(until)) for s, until in prev),
        retry_schedule=tuple(orjson.loads(r["retry_schedule"])),
        timeout_seconds=r["timeout_seconds"],
        rate_limit_per_second=r["rate_limit_per_second"],
        max_in_flight=r["max_in_flight"],
        headers=custom_headers(r["headers"], decrypt),
        status=r["status"],
        paused_reason=r["paused_reason"],
        consecutive_failures=r["consecutive_failures"],
        kind=r["kind"],
        created_at=ts(r["created_at"]),
        updated_at=ts(r["updated_at"]),
    )


def message(r: Row) -> Message:
    """A Message from its row."""
    return Message(
        id=r["id"],
        app_id=r["app_id"],
        event_type=r["event_type"],
        event_id=r["event_id"],
        body=bytes(r["body"]),
        tags=tuple(orjson.loads(r["tags"])),
        job_id=r["job_id"],
        created_at=ts(r["created_at"]),
    )


def delivery(r: Row) -> Delivery:
    """A Delivery from its row (the lease is an engine detail and not shown)."""
    leased = r["lease_owner"] is not None
    return Delivery(
        id=r["id"],
        app_id=r["app_id"],
        message_id=r["message_id"],
        endpoint_id=r["endpoint_id"],
        job_id=r["job_id"],
        status=r["status"],
        attempt_count=r["attempt_count"],
        next_attempt_at=None if leased else ts_or_none(r["next_attempt_at"]),
        last_attempt_at=ts_or_none(r["last_attempt_at"]),
        last_status_code=r["last_status_code"],
        created_at=ts(r["created_at"]),
        updated_at=ts(r["updated_at"]),
    )


def attempt(r: Row) -> Attempt:
    """An Attempt from its row."""
    return Attempt(
        id=r["id"],
        app_id=r["app_id"],
        delivery_id=r["delivery_id"],
        message_id=r["message_id"],
        endpoint_id=r["endpoint_id"],
        job_id=r["job_id"],
        attempt_number=r["attempt_number"],
        status=r["status"],
        response_status_code=r["response_status_code"],
        response_body=r["response_body"],
        error_message=r["error_message"],
        duration_ms=r["duration_ms"],
        started_at=ts(r["started_at"]),
        url=r["url"],
        trigger=r["trigger"],
    )


_EndpointPart = tuple[str, tuple[str, ...], dict[str, str], float, tuple[float, ...], float | None]


def _endpoint_part(r: Row, now: float, decrypt: Decrypt) -> _EndpointPart:
    """The endpoint's columns of a claim row, decoded: url, valid secrets, headers, timeout,
    retry schedule, rate limit."""
    secrets = [decrypt(r["secret"])]
    prev = r["previous_secrets"]
    if prev != "[]":
        secrets.extend(decrypt(s) for s, until in orjson.loads(prev) if until > now)
    return (
        r["url"],
        tuple(secrets),
        custom_headers(r["headers"], decrypt),
        r["timeout_seconds"],
        tuple(orjson.loads(r["retry_schedule"])),
        r["rate_limit_per_second"],
    )


def _claimed(r: Row, ep: _EndpointPart) -> ClaimedDelivery:
    url, secrets, headers, timeout, schedule, rate = ep
    return ClaimedDelivery(
        delivery_id=r["id"],
        app_id=r["app_id"],
        message_id=r["message_id"],
        endpoint_id=r["endpoint_id"],
        job_id=r["job_id"],
        attempt_count=r["attempt_count"],
        retry_base=r["retry_base"],
        trigger=r["trigger"],
        body=bytes(r["body"]),
        url=url,
        secrets=secrets,
        headers=headers,
        timeout_seconds=timeout,
        retry_schedule=schedule,
        rate_limit_per_second=rate,
        msg_timestamp=int(r["msg_created_at"]),
    )


def claimed(r: Row, now: float, decrypt: Decrypt = _plain) -> ClaimedDelivery:
    """A ClaimedDelivery from the claim statement's joined row.

    Expects the delivery's columns plus ``body``, ``msg_created_at`` and the endpoint's
    ``url``, ``secret``, ``previous_secrets``, ``headers``, ``timeout_seconds``,
    ``retry_schedule`` and ``rate_limit_per_second``.
    """
    return _claimed(r, _endpoint_part(r, now, decrypt))


def claimed_all(out: Sequence[Row], now: float, decrypt: Decrypt = _plain) -> list[ClaimedDelivery]:
    """``claimed`` for a whole claim, decoding each endpoint's columns once, not per row."""
    endpoints: dict[str, _EndpointPart] = {}
    claims = []
    for r in out:
        ep = endpoints.get(r["endpoint_id"])
        if ep is None:
            ep = endpoints[r["endpoint_id"]] = _endpoint_part(r, now, decrypt)
        claims.append(_claimed(r, ep))
    return claims


def custom_headers(stored: str, decrypt: Decrypt = _plain) -> dict[str, str]:
    """An endpoint's custom headers from their column (encrypted like secrets: they often
    carry a token)."""
    return {} if stored == "{}" else cast(dict[str, str], orjson.loads(decrypt(stored)))


def headers_column(value: dict[str, str], encrypt: Callable[[str], str]) -> str:
    """The stored form of an endpoint's custom headers."""
    return encrypt(dumps(value)) if value else "{}"


def dumps(value: Any) -> str:
    """JSON text for a text column."""
    return orjson.dumps(value).decode()
