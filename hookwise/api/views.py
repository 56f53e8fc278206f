"""Domain values to the JSON the API answers with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from starlette.responses import Response

from hookwise.domain.envelope import sent_body
from hookwise.domain.models import (
    ApiKey,
    App,
    Attempt,
    Delivery,
    Endpoint,
    EventType,
    Message,
    Page,
)
from hookwise.domain.text import REDACTED as REDACTED
from hookwise.store.operations import Operation

T = TypeVar("T")


_second: list[Any] = [None, ""]  # the last whole second formatted (UTC), and its text


def iso(value: datetime | None) -> str | None:
    """RFC 3339 UTC with a Z (milliseconds); None stays None."""
    return None if value is None else rfc3339(value)


def rfc3339(value: datetime) -> str:
    """RFC 3339 UTC with a Z (milliseconds)."""
    if value.tzinfo is not UTC:
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # every message answer formats "now": the seconds part is formatted once per second
    second = int(value.timestamp() // 1)
    cached = _second
    if cached[0] != second:
        cached[1] = value.isoformat(timespec="seconds")[:-6]  # without "+00:00"
        cached[0] = second
    return f"{cached[1]}.{value.microsecond // 1000:03d}Z"


def json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded with orjson."""
    return Response(
        orjson.dumps(content), status_code=status, media_type="application/json", headers=headers
    )


def page(p: Page[T], render: Any) -> dict[str, Any]:
    """``{"data": [...], "next_cursor": …}``."""
    return {"data": [render(x) for x in p.data], "next_cursor": p.next_cursor}


def api_key(k: ApiKey) -> dict[str, Any]:
    return {
        "id": k.id, "name": k.name, "prefix": k.prefix, "scope": k.scope, "app_id": k.app_id,
        "created_at": iso(k.created_at),
    }  # fmt: skip


def app(a: App) -> dict[str, Any]:
    return {
        "id": a.id, "uid": a.uid, "name": a.name, "metadata": a.metadata,
        "results_inline_budget": a.results_inline_budget, "payload_format": a.payload_format,
        "job_profile": a.job_profile, "max_items_per_job": a.max_items_per_job,
        "portal_name": a.portal_name, "portal_color": a.portal_color,
        "created_at": iso(a.created_at), "updated_at": iso(a.updated_at),
    }  # fmt: skip


def event_type(e: EventType) -> dict[str, Any]:
    return {
        "name": e.name, "description": e.description, "schema": e.schema,
        "archived": e.archived, "created_at": iso(e.created_at), "updated_at": iso(e.updated_at),
    }  # fmt: skip


def seconds(value: float) -> int | float:
    """A duration in one number form, whatever it was stored as: whole seconds as an integer
    (``10``, ``[2, 4, 8]``), a fraction as it is (``0.5``). Both are JSON numbers, so clients
    that read floats read them alike."""
    return int(value) if float(value).is_integer() else float(value)


def endpoint(e: Endpoint) -> dict[str, Any]:
    return {
        "id": e.id, "app_id": e.app_id, "url": e.url, "description": e.description,
        "events": list(e.events), "retry_schedule": [seconds(x) for x in e.retry_schedule],
        "timeout_seconds": seconds(e.timeout_seconds),
        "rate_limit_per_second": e.rate_limit_per_second,
        "max_in_flight": e.max_in_flight, "headers": dict.fromkeys(e.headers, REDACTED),
        "status": e.status, "payload_format": e.payload_format,
        "paused_reason": e.paused_reason, "consecutive_failures": e.consecutive_failures,
        "created_at": iso(e.created_at), "updated_at": iso(e.updated_at),
    }  # fmt: skip


def message(m: Message) -> dict[str, Any]:
    body = orjson.loads(m.body)
    payload = body.get("data", body) if isinstance(body, dict) else body
    return {
        "id": m.id, "app_id": m.app_id, "event_type": m.event_type, "event_id": m.event_id,
        "payload": payload, "tags": list(m.tags), "job_id": m.job_id,
        "created_at": iso(m.created_at),
    }  # fmt: skip


def delivery(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id, "app_id": d.app_id, "message_id": d.message_id,
        "endpoint_id": d.endpoint_id, "job_id": d.job_id, "status": d.status,
        "attempt_count": d.attempt_count, "next_attempt_at": iso(d.next_attempt_at),
        "last_attempt_at": iso(d.last_attempt_at), "last_status_code": d.last_status_code,
        "created_at": iso(d.created_at), "updated_at": iso(d.updated_at),
    }  # fmt: skip


def attempt(a: Attempt) -> dict[str, Any]:
    return {
        "id": a.id, "app_id": a.app_id, "delivery_id": a.delivery_id,
        "message_id": a.message_id, "endpoint_id": a.endpoint_id, "job_id": a.job_id,
        "attempt_number": a.attempt_number, "status": a.status,
        "response_status_code": a.response_status_code, "response_body": a.response_body,
        "error_message": a.error_message, "duration_ms": a.duration_ms,
        "started_at": iso(a.started_at), "url": a.url, "trigger": a.trigger,
        "payload_format": a.payload_format,
    }  # fmt: skip


def attempt_detail(a: Attempt) -> dict[str, Any]:
    """An attempt with what went over the wire besides the bodies: the request's line and
    headers as sent (custom header values redacted) and the answer's headers (first 4 KiB),
    ``Name: value`` lines; null when not recorded."""
    return {
        **attempt(a), "request_headers": a.request_headers, "response_headers": a.response_headers,
    }  # fmt: skip


def request_body(stored: bytes, payload_format: str | None) -> str:
    """The body an attempt sent, as text (it is JSON: UTF-8)."""
    sent, _ = sent_body(stored, payload_format or "envelope")
    return sent.decode("utf-8", "replace")


def operation(o: Operation) -> dict[str, Any]:
    """A bulk change under way or finished: ``done`` of ``total`` rows (null until counted)."""
    return {
        "id": o.id, "kind": o.kind, "status": o.status, "done": o.done, "total": o.total,
        "endpoint_id": o.endpoint_id,
        "created_at": iso(datetime.fromtimestamp(o.created_at, UTC)),
        "updated_at": iso(datetime.fromtimestamp(o.updated_at, UTC)),
    }  # fmt: skip
