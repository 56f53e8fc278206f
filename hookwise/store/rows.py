"""Database rows to domain values, shared by both backends (sqlite3.Row and asyncpg.Record
both read by column name)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import orjson

from hookwise.domain.envelope import sent_body
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
T = TypeVar("T")
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


def decoder(cls: type[T], **special: Callable[[Row], Any]) -> Callable[[Row], T]:
    """A function from a row to ``cls``, planned once: each field is read from the column of
    its name (times through ``ts``/``ts_or_none``), unless ``special`` says how."""
    plan: list[tuple[str, Callable[[Row], Any]]] = []
    for f in fields(cast(Any, cls)):
        get = special.get(f.name)
        if get is None:
            read = _TIMES.get(str(f.type))
            get = (lambda r, n=f.name: r[n]) if read is None else _column(f.name, read)
        plan.append((f.name, get))

    def decode(r: Row) -> T:
        return cls(**{name: get(r) for name, get in plan})

    decode.__doc__ = f"A {cls.__name__} from its row."
    return decode


def _column(name: str, convert: Callable[[Any], Any]) -> Callable[[Row], Any]:
    return lambda r: convert(r[name])


def json_column(name: str) -> Callable[[Row], Any]:
    """Read a JSON text column (None stays None)."""
    return lambda r: None if r[name] is None else orjson.loads(r[name])


_TIMES: dict[str, Callable[[Any], Any]] = {"datetime": ts, "datetime | None": ts_or_none}

api_key = decoder(ApiKey)
app = decoder(App, metadata=json_column("metadata"), job_profile=json_column("job_profile"))
event_type = decoder(
    EventType,
    schema=lambda r: orjson.loads(r["schema"]) if r["schema"] else None,
    archived=lambda r: bool(r["archived"]),
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
        payload_format=r["payload_format"],
    )


message = decoder(
    Message,
    body=lambda r: bytes(r["body"]),
    tags=lambda r: tuple(orjson.loads(r["tags"])),
)
# the lease is an engine detail, not shown: a leased delivery has no next attempt time
delivery = decoder(
    Delivery,
    next_attempt_at=lambda r: (
        None if r["lease_owner"] is not None else ts_or_none(r["next_attempt_at"])
    ),
)
attempt = decoder(Attempt)


_EndpointPart = tuple[
    str, tuple[str, ...], dict[str, str], float, tuple[float, ...], float | None, str, int
]


def _endpoint_part(r: Row, now: float, decrypt: Decrypt) -> _EndpointPart:
    """The endpoint's columns of a claim row, decoded: url, valid secrets, headers, timeout,
    retry schedule, rate limit, payload format, in-flight cap."""
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
        r["payload_format"],
        r["max_in_flight"],
    )


def _claimed(r: Row, ep: _EndpointPart) -> ClaimedDelivery:
    url, secrets, headers, timeout, schedule, rate, payload_format, cap = ep
    body, sent_as = sent_body(bytes(r["body"]), payload_format)
    return ClaimedDelivery(
        delivery_id=r["id"],
        app_id=r["app_id"],
        message_id=r["message_id"],
        endpoint_id=r["endpoint_id"],
        job_id=r["job_id"],
        attempt_count=r["attempt_count"],
        retry_base=r["retry_base"],
        trigger=r["trigger"],
        body=body,
        url=url,
        secrets=secrets,
        headers=headers,
        timeout_seconds=timeout,
        retry_schedule=schedule,
        rate_limit_per_second=rate,
        msg_timestamp=int(r["msg_created_at"]),
        payload_format=sent_as,
        max_in_flight=cap,
    )


def claimed(r: Row, now: float, decrypt: Decrypt = _plain) -> ClaimedDelivery:
    """A ClaimedDelivery from the claim statement's joined row.

    Expects the delivery's columns plus ``body``, ``msg_created_at`` and the endpoint's
    ``url``, ``secret``, ``previous_secrets``, ``headers``, ``timeout_seconds``,
    ``retry_schedule``, ``rate_limit_per_second``, ``payload_format`` and ``max_in_flight``
    (the body is cut to the payload for a ``raw`` endpoint).
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
