"""Endpoints: CRUD, secret and rotation, test ping, recover."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.context import ApiContext, Ctx, ScopedApp
from hookwise.api.routes.common import Cursor, Limit, rfc3339_seconds
from hookwise.api.schemas import EndpointIn, EndpointPatch, RecoverIn, RotateIn
from hookwise.domain.errors import Conflict, InvalidInput
from hookwise.domain.events import TEST_EVENT, validate_filters
from hookwise.domain.ids import new_id
from hookwise.domain.models import (
    App,
    Attempt,
    DeliveryFilter,
    Endpoint,
    NewEndpoint,
    NewMessage,
    attempt_of,
)
from hookwise.domain.schedule import RetrySchedule
from hookwise.domain.secretbox import is_encrypted
from hookwise.domain.signing import SECRET_PREFIX, is_valid_whsec, new_secret
from hookwise.store.operations import Operation

router = APIRouter(tags=["endpoints"])

_RESERVED_HEADERS = {
    "host", "content-length", "content-type", "webhook-id", "webhook-timestamp",
    "webhook-signature", "x-webhook-signature",
    # hop-by-hop: about the connection, not the request (RFC 7230 6.1)
    "connection", "keep-alive", "te", "trailer", "trailers", "transfer-encoding", "upgrade",
}  # fmt: skip
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 7230 field name
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what a field value cannot hold


def _headers(value: dict[str, str]) -> dict[str, str]:
    seen: set[str] = set()
    for name, v in value.items():
        if not _TOKEN.fullmatch(name):
            raise InvalidInput(f"headers.{name}", "is not a valid header name")
        # a WSGI receiver reads "_" as "-": Content_Length would be its Content-Length
        norm = name.lower().replace("_", "-")
        if norm in _RESERVED_HEADERS or norm.startswith("proxy-"):
            raise InvalidInput(f"headers.{name}", "is set by hookwise and cannot be overridden")
        if norm in seen:
            raise InvalidInput(f"headers.{name}", "names a header given twice")
        seen.add(norm)
        if _CONTROL.search(v) or len(v) > 4096:
            raise InvalidInput(f"headers.{name}", "is not a valid header value")
    return dict(value)


def _unredacted(headers: dict[str, str], stored: dict[str, str]) -> dict[str, str]:
    """``headers`` where a value sent back redacted keeps the ``stored`` one (a GET then PATCH
    round trip changes nothing); a redacted value for a header not stored is refused."""
    for name, v in headers.items():
        if v == views.REDACTED and name not in stored:
            raise InvalidInput(f"headers.{name}", "is redacted: send the header's value")
    return {k: stored[k] if v == views.REDACTED else v for k, v in headers.items()}


def _secret(value: str | None) -> str:
    if value is None:
        return new_secret()
    if value.startswith(SECRET_PREFIX) and not is_valid_whsec(value):
        raise InvalidInput("secret", "a whsec_ secret must be base64 of at least 16 bytes")
    if is_encrypted(value):
        raise InvalidInput("secret", "is in the form of an encrypted secret")
    return value


async def _validated_changes(ctx: ApiContext, body: EndpointPatch) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if "url" in changes:
        await ctx.policy.check_url(changes["url"])
    if "events" in changes:
        changes["events"] = validate_filters(changes["events"] or [])
    if "retry_schedule" in changes:
        changes["retry_schedule"] = RetrySchedule.parse(changes["retry_schedule"]).delays
    if "headers" in changes:
        changes["headers"] = _headers(changes["headers"] or {})
    if changes.get("status") == "paused":
        changes["paused_reason"] = "paused by hand"
    for k in ("max_in_flight", "timeout_seconds", "payload_format"):
        if k in changes and changes[k] is None:
            raise InvalidInput(k, "cannot be null")
    return changes


async def create_endpoint(ctx: ApiContext, app: App, body: EndpointIn) -> Endpoint:
    """Check and create the endpoint ``body`` describes (the console's form does too)."""
    await ctx.policy.check_url(body.url)
    new = NewEndpoint(
        app_id=app.id,
        url=body.url,
        secret=_secret(body.secret),
        description=body.description,
        events=validate_filters(body.events or []),
        retry_schedule=RetrySchedule.parse(body.retry_schedule).delays,
        timeout_seconds=body.timeout_seconds,
        rate_limit_per_second=body.rate_limit_per_second,
        max_in_flight=body.max_in_flight or ctx.settings.default_max_in_flight,
        headers=_unredacted(_headers(body.headers), {}),
        status=body.status,
        payload_format=body.payload_format or app.payload_format,
    )
    return await ctx.store.resources.create_endpoint(new)


@router.post("/v1/apps/{app}/endpoints", status_code=201)
async def create(app: ScopedApp, body: EndpointIn, ctx: Ctx) -> Response:
    """Subscribe a URL to event types (``events`` empty or omitted: all)."""
    return views.json(views.endpoint(await create_endpoint(ctx, app, body)), 201)


@router.get("/v1/apps/{app}/endpoints")
async def list_endpoints(
    app: ScopedApp, ctx: Ctx, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    """The app's endpoints, newest first."""
    p = await ctx.store.resources.list_endpoints(app.id, limit=limit, cursor=cursor)
    return views.json(views.page(p, views.endpoint))


@router.get("/v1/apps/{app}/endpoints/{endpoint_id}")
async def get(app: ScopedApp, endpoint_id: str, ctx: Ctx) -> Response:
    """One endpoint with its health (status, paused_reason, consecutive_failures)."""
    return views.json(views.endpoint(await ctx.store.resources.get_endpoint(app.id, endpoint_id)))


async def update_endpoint(
    ctx: ApiContext, app: App, endpoint_id: str, body: EndpointPatch
) -> Endpoint:
    """Check and apply the changes ``body`` sets (the console's form does too)."""
    changes = await _validated_changes(ctx, body)
    if views.REDACTED in changes.get("headers", {}).values():
        stored = (await ctx.store.resources.get_endpoint(app.id, endpoint_id)).headers
        changes["headers"] = _unredacted(changes["headers"], stored)
    if not changes:
        return await ctx.store.resources.get_endpoint(app.id, endpoint_id)
    return await ctx.store.resources.update_endpoint(app.id, endpoint_id, changes)


@router.patch("/v1/apps/{app}/endpoints/{endpoint_id}")
async def update(app: ScopedApp, endpoint_id: str, body: EndpointPatch, ctx: Ctx) -> Response:
    """Change fields. ``{"status": "active"}`` re-enables, resets the failure counter and
    releases held deliveries; ``{"status": "paused"}`` holds them."""
    return views.json(views.endpoint(await update_endpoint(ctx, app, endpoint_id, body)))


@router.delete("/v1/apps/{app}/endpoints/{endpoint_id}", status_code=204)
async def delete(app: ScopedApp, endpoint_id: str, ctx: Ctx) -> Response:
    """Delete the endpoint; its pending deliveries are canceled."""
    await ctx.store.resources.delete_endpoint(app.id, endpoint_id)
    return Response(status_code=204)


@router.get("/v1/apps/{app}/endpoints/{endpoint_id}/secret")
async def secret(app: ScopedApp, endpoint_id: str, ctx: Ctx) -> Response:
    """The signing secret (and older ones still valid during a rotation)."""
    ep = await ctx.store.resources.get_endpoint(app.id, endpoint_id)
    now = datetime.now(UTC)
    previous = [{"key": s, "valid_until": views.iso(u)} for s, u in ep.previous_secrets if u > now]
    return views.json({"key": ep.secret, "previous": previous})


@router.get("/v1/apps/{app}/endpoints/{endpoint_id}/headers")
async def headers(app: ScopedApp, endpoint_id: str, ctx: Ctx) -> Response:
    """The custom headers in clear (elsewhere their values are redacted, like the secret)."""
    ep = await ctx.store.resources.get_endpoint(app.id, endpoint_id)
    return views.json({"headers": ep.headers})


async def rotate_secret(ctx: ApiContext, app: App, endpoint_id: str, body: RotateIn) -> Endpoint:
    """Replace the secret; the old one keeps signing for ``body.grace_seconds``."""
    return await ctx.store.resources.rotate_endpoint_secret(
        app.id, endpoint_id, _secret(body.secret), time.time() + body.grace_seconds
    )


@router.post("/v1/apps/{app}/endpoints/{endpoint_id}/secret/rotate")
async def rotate(
    app: ScopedApp, endpoint_id: str, ctx: Ctx, body: RotateIn | None = None
) -> Response:
    """Replace the secret; the old one keeps signing (a second signature) for the grace time."""
    ep = await rotate_secret(ctx, app, endpoint_id, body or RotateIn())
    return views.json({"key": ep.secret, "endpoint": views.endpoint(ep)})


async def send_test(ctx: ApiContext, app: App, endpoint_id: str) -> Attempt:
    """Send a ``webhook.test`` ping to the endpoint now; its attempt."""
    endpoint = await ctx.store.resources.get_endpoint(app.id, endpoint_id)
    msg_id = new_id("msg")
    now = datetime.now(UTC)
    body = orjson.dumps({
        "event": TEST_EVENT, "id": msg_id, "timestamp": views.iso(now),
        "data": {"message": "hookwise test ping", "endpoint_id": endpoint_id},
    })  # fmt: skip
    enq = await ctx.store.messages.enqueue_message(
        NewMessage(
            app_id=app.id,
            event_type=TEST_EVENT,
            body=body,
            only_endpoint_id=endpoint_id,
            trigger="test",
            message_id=msg_id,
            created_at=now,
        )
    )
    claim = await ctx.store.queue.claim_delivery(
        app.id, enq.delivery_ids[0], worker_id=ctx.worker_id, lease_seconds=60
    )
    if claim is None:  # a worker, looking for due work too, took it first: its attempt
        return await _recorded_attempt(ctx, app.id, msg_id, endpoint.timeout_seconds + 5)
    return attempt_of(await ctx.tester(claim))


async def _recorded_attempt(ctx: ApiContext, app_id: str, msg_id: str, within: float) -> Attempt:
    """An attempt of message ``msg_id`` once a worker has recorded it (another process
    may hold it: the store is asked every 50 ms, for ``within`` seconds at most)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        got = await ctx.store.messages.list_attempts(
            app_id, DeliveryFilter(message_id=msg_id), limit=1, cursor=None
        )
        if got.data:
            return got.data[0]
        await asyncio.sleep(0.05)
    raise Conflict(f"the test delivery was taken by a worker, not attempted within {within:g} s")


@router.post("/v1/apps/{app}/endpoints/{endpoint_id}/test")
async def test(app: ScopedApp, endpoint_id: str, ctx: Ctx) -> Response:
    """Send a ``webhook.test`` ping now and answer with its attempt."""
    return views.json(views.attempt(await send_test(ctx, app, endpoint_id)))


async def start_recover(ctx: ApiContext, app: App, endpoint_id: str, body: RecoverIn) -> Operation:
    """Start re-queuing the endpoint's failed deliveries created since ``body.since``."""
    since = rfc3339_seconds("since", body.since)
    return await ctx.store.operations.start_recover(app.id, endpoint_id, since)


@router.post("/v1/apps/{app}/endpoints/{endpoint_id}/recover", status_code=202)
async def recover(app: ScopedApp, endpoint_id: str, body: RecoverIn, ctx: Ctx) -> Response:
    """Re-queue the endpoint's failed deliveries created since ``since``, in the background in
    bounded steps: answers the operation at once (``GET /v1/apps/{app}/operations/{id}``)."""
    return views.json(views.operation(await start_recover(ctx, app, endpoint_id, body)), 202)
