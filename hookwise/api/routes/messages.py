"""Messages: accept an event (durable before the 202), list, get, resend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.context import ApiContext, Ctx, ScopedApp
from hookwise.api.routes.common import Cursor, Limit, Status, Time, rfc3339_seconds
from hookwise.api.schemas import BulkResendIn, MessageIn, ResendIn, refuse_nul
from hookwise.domain.envelope import envelope
from hookwise.domain.errors import InvalidInput, PayloadTooLarge
from hookwise.domain.events import validate_event_type
from hookwise.domain.ids import new_id
from hookwise.domain.models import App, NewMessage
from hookwise.store.operations import ResendFilter

router = APIRouter(tags=["messages"])


async def accept(
    ctx: ApiContext, app: App, body: MessageIn, idempotency_key: str | None
) -> Response:
    """Validate, commit (message + deliveries, one transaction), answer 202. Shared by the
    route below and the ingest fast path."""
    event_type = validate_event_type(body.event_type)
    if idempotency_key is not None:
        refuse_nul("idempotency-key", idempotency_key)
    for i, tag in enumerate(body.tags):
        if not tag or len(tag) > 256:
            raise InvalidInput(f"tags[{i}]", "must be 1 to 256 characters")
    msg_id = new_id("msg")
    now = datetime.now(UTC)
    stamp = views.rfc3339(now)
    data = envelope(event_type, msg_id, stamp, body.payload)
    if len(data) > ctx.settings.max_payload_bytes:
        raise PayloadTooLarge(
            f"the payload is {len(data)} bytes; the limit is {ctx.settings.max_payload_bytes}"
        )
    enq = await ctx.store.messages.enqueue_message(
        NewMessage(
            app_id=app.id,
            event_type=event_type,
            body=data,
            event_id=body.event_id or idempotency_key,
            tags=tuple(body.tags),
            message_id=msg_id,
            created_at=now,
        )
    )
    if enq.created:  # what we just built: no need to parse the body back
        out = {
            "id": msg_id, "app_id": app.id, "event_type": event_type,
            "event_id": enq.message.event_id, "payload": body.payload, "tags": list(body.tags),
            "job_id": None, "created_at": stamp,
        }  # fmt: skip
    else:
        out = views.message(enq.message)
    out["deliveries"] = len(enq.delivery_ids)
    headers = None if enq.created else {"Idempotent-Replayed": "true"}
    return views.json(out, 202, headers)


@router.post("/v1/apps/{app}/messages", status_code=202)
async def create(
    app: ScopedApp,
    body: MessageIn,
    ctx: Ctx,
    idempotency_key: Annotated[str | None, Header(max_length=256)] = None,
) -> Response:
    """Accept an event: answered 202 only once it is committed with one delivery per matching
    endpoint. ``event_id`` or the ``Idempotency-Key`` header makes a repeat return the first."""
    return await accept(ctx, app, body, idempotency_key)


@router.get("/v1/apps/{app}/messages")
async def list_messages(
    app: ScopedApp,
    ctx: Ctx,
    limit: Limit = 50,
    cursor: Cursor = None,
    event_type: Annotated[str | None, Query(max_length=256)] = None,
    tag: Annotated[str | None, Query(max_length=256)] = None,
    job_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Status = None,
    since: Time = None,
    until: Time = None,
) -> Response:
    """The app's messages, newest first; ``status``: those with a delivery in that status;
    ``since``/``until``: created in that window (RFC 3339)."""
    p = await ctx.store.messages.list_messages(
        app.id, limit=limit, cursor=cursor, event_type=event_type, tag=tag, job_id=job_id,
        status=status, since=None if since is None else rfc3339_seconds("since", since),
        until=None if until is None else rfc3339_seconds("until", until),
    )  # fmt: skip
    return views.json(views.page(p, views.message))


@router.post("/v1/apps/{app}/resend", status_code=202)
async def resend_many(app: ScopedApp, body: BulkResendIn, ctx: Ctx) -> Response:
    """Re-queue the app's deliveries created since ``since`` (up to ``until``, or the call)
    that failed (``status: all``: every finished one), of one ``event_type`` or
    ``endpoint_id`` if given, in the background in bounded steps: answers the operation at
    once (``GET /v1/apps/{app}/operations/{id}``)."""
    since = rfc3339_seconds("since", body.since)
    until = None if body.until is None else rfc3339_seconds("until", body.until)
    if until is not None and until < since:
        raise InvalidInput("until", "must not be before since")
    event_type = None if body.event_type is None else validate_event_type(body.event_type)
    f = ResendFilter(app.id, since, until, body.status, body.endpoint_id, event_type)
    op = await ctx.store.operations.start_resend(f)
    return views.json(views.operation(op), 202)


@router.get("/v1/apps/{app}/messages/{message_id}")
async def get(app: ScopedApp, message_id: str, ctx: Ctx) -> Response:
    """One message."""
    return views.json(views.message(await ctx.store.messages.get_message(app.id, message_id)))


@router.post("/v1/apps/{app}/messages/{message_id}/resend", status_code=202)
async def resend(
    app: ScopedApp, message_id: str, ctx: Ctx, body: ResendIn | None = None
) -> Response:
    """Deliver again now (to every target, or one ``endpoint_id``), with a fresh schedule."""
    n = await ctx.store.messages.resend_message(
        app.id, message_id, body.endpoint_id if body else None
    )
    return views.json({"requeued": n}, 202)
