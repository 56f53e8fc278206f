"""Deliveries and attempts: the audit log anyone with the app's key can query."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.context import Ctx, ScopedApp
from hookwise.api.routes.common import Cursor, Limit, Status
from hookwise.domain.errors import NotFound
from hookwise.domain.models import DeliveryFilter

router = APIRouter(tags=["deliveries"])

Ref = Annotated[str | None, Query(max_length=256)]


@router.get("/v1/apps/{app}/deliveries")
async def list_deliveries(
    app: ScopedApp,
    ctx: Ctx,
    limit: Limit = 50,
    cursor: Cursor = None,
    message_id: Ref = None,
    endpoint_id: Ref = None,
    status: Status = None,
    tag: Ref = None,
    job_id: Ref = None,
) -> Response:
    """One row per message and target, newest first."""
    f = DeliveryFilter(message_id, endpoint_id, status, tag, job_id)
    p = await ctx.store.messages.list_deliveries(app.id, f, limit=limit, cursor=cursor)
    return views.json(views.page(p, views.delivery))


@router.get("/v1/apps/{app}/deliveries/{delivery_id}")
async def get_delivery(app: ScopedApp, delivery_id: str, ctx: Ctx) -> Response:
    """One delivery."""
    return views.json(views.delivery(await ctx.store.messages.get_delivery(app.id, delivery_id)))


@router.get("/v1/apps/{app}/attempts")
async def list_attempts(
    app: ScopedApp,
    ctx: Ctx,
    limit: Limit = 50,
    cursor: Cursor = None,
    message_id: Ref = None,
    endpoint_id: Ref = None,
    status: Annotated[str | None, Query(pattern="^(succeeded|failed)$")] = None,
    tag: Ref = None,
    job_id: Ref = None,
) -> Response:
    """One row per HTTP attempt, newest first."""
    f = DeliveryFilter(message_id, endpoint_id, status, tag, job_id)
    p = await ctx.store.messages.list_attempts(app.id, f, limit=limit, cursor=cursor)
    return views.json(views.page(p, views.attempt))


@router.get("/v1/apps/{app}/attempts/{attempt_id}")
async def get_attempt(app: ScopedApp, attempt_id: str, ctx: Ctx) -> Response:
    """One attempt, with ``request_body``: the body it sent (the message's envelope or job
    event as stored, or its payload alone when ``payload_format`` is ``raw``), and
    ``request_headers``/``response_headers``: the request line and headers sent (the
    endpoint's custom header values as ``***``) and the answer's headers (first 4 KiB), one
    ``Name: value`` a line, null when not recorded."""
    found = await ctx.store.messages.get_attempt(app.id, attempt_id)
    out = views.attempt_detail(found)
    try:
        message = await ctx.store.messages.get_message(app.id, found.message_id)
    except NotFound:  # pruned by retention before its attempts
        out["request_body"] = None
    else:
        out["request_body"] = views.request_body(message.body, found.payload_format)
    return views.json(out)
