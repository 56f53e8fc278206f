"""The console's attempts: the live log's new rows, and one attempt as it went over the wire
(the request line, headers and body sent; the answer's status, headers and body; timing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hookwise.api import views
from hookwise.dashboard.access import app_for, ctx_of, signed_in, templates
from hookwise.dashboard.app_view import open_app, render
from hookwise.domain.errors import NotFound
from hookwise.domain.models import DeliveryFilter

router = APIRouter(prefix="/dashboard/apps/{app_ref}", include_in_schema=False)

LIVE_ROWS = 50


@router.get("/live/attempts")
async def live_rows(
    request: Request, app_ref: str, after: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """The attempts newer than ``after`` (the newest row the page has), newest first, as rows
    for htmx to put on top of the log; 204 when there are none (nothing on the page moves)."""
    app = await app_for(request, await signed_in(request), app_ref)
    found = await ctx_of(request).store.messages.list_attempts(
        app.id, DeliveryFilter(), limit=LIVE_ROWS, cursor=None, newer=after or None
    )
    if not found.data:
        return Response(status_code=204)
    return templates.TemplateResponse(
        request,
        "_attempt_rows.html",
        {
            "app": views.app(app),
            "attempts": [views.attempt(a) for a in found.data],
            "live_url": request.url.path,
        },
    )


@router.get("/attempts/{attempt_id}")
async def detail_page(request: Request, app_ref: str, attempt_id: str) -> Response:
    """One attempt: what was sent and what came back."""
    app = await open_app(request, app_ref)
    if isinstance(app, Response):
        return app
    store = ctx_of(request).store
    found = await store.messages.get_attempt(app.id, attempt_id)
    try:
        message = await store.messages.get_message(app.id, found.message_id)
        event_type, body = (
            message.event_type,
            views.request_body(message.body, found.payload_format),
        )
    except NotFound:  # pruned by retention before its attempts
        event_type, body = None, None
    try:
        delivery = views.delivery(await store.messages.get_delivery(app.id, found.delivery_id))
    except NotFound:
        delivery = None
    a = views.attempt_detail(found)
    return render(
        request,
        "attempt.html",
        app,
        None,
        {
            "a": a,
            "delivery": delivery,
            "event_type": event_type,
            "body": body,
            "finished_at": views.iso(found.started_at + timedelta(milliseconds=found.duration_ms)),
        },
    )
