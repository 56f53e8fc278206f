"""The console's messages: the list (filters by event type, delivery status and creation
time; the API's cursors, both ways) and one message with a row per delivery, each replayable
on its own, and its attempts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hookwise.api import views
from hookwise.dashboard.access import app_for, check_action, ctx_of, signed_in, templates
from hookwise.dashboard.app_view import open_app, render
from hookwise.domain.errors import InvalidInput, NotFound
from hookwise.domain.events import validate_event_type
from hookwise.domain.models import DELIVERY_STATUSES, App, Delivery, DeliveryFilter, Endpoint
from hookwise.store.messages import SCAN

router = APIRouter(prefix="/dashboard/apps/{app_ref}", include_in_schema=False)

PAGE = 50
Text = Annotated[str, Query(max_length=256)]
Ref = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters as typed in the form (empty: not set)."""

    event_type: str = ""
    status: str = ""
    since: str = ""
    until: str = ""

    def query(self, **more: str) -> str:
        """The list's URL query with these filters and ``more`` (empty values left out)."""
        given = {
            "event_type": self.event_type, "status": self.status, "since": self.since,
            "until": self.until, **more,
        }  # fmt: skip
        return urlencode({k: v for k, v in given.items() if v})

    def checked(self) -> dict[str, Any]:
        """The store's arguments; InvalidInput naming the first bad field."""
        since, until = _time("since", self.since), _time("until", self.until)
        if since is not None and until is not None and until < since:
            raise InvalidInput("until", "must not be before since")
        if self.status and self.status not in DELIVERY_STATUSES:
            raise InvalidInput("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
        return {
            "event_type": validate_event_type(self.event_type) if self.event_type else None,
            "status": self.status or None, "since": since, "until": until,
        }  # fmt: skip


def _time(field: str, value: str) -> float | None:
    """A time from the form: ``YYYY-MM-DDTHH:MM[:SS]`` in UTC (what a ``datetime-local``
    input sends) or with its own zone (RFC 3339)."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, "must be a date and time like 2026-12-06T09:30") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # the form asks for UTC
    return at.timestamp()


def _shown(at: float | None) -> str:
    """A time as a ``datetime-local`` input shows it (UTC, to the second)."""
    return "" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@router.get("/messages")
async def list_page(
    request: Request,
    app_ref: str,
    event_type: Text = "",
    status: Text = "",
    since: Text = "",
    until: Text = "",
    cursor: Ref = None,
    newer: Ref = None,
) -> Response:
    """The app's messages, filtered and paged (a GET form: the URL is the bookmark)."""
    app = await open_app(request, app_ref)
    if isinstance(app, Response):
        return app
    f = Filters(event_type.strip(), status, since.strip(), until.strip())
    store = ctx_of(request).store
    catalog = (
        await store.resources.list_event_types(limit=200, cursor=None, include_archived=False)
    ).data
    context: dict[str, Any] = {
        "f": f, "statuses": DELIVERY_STATUSES, "catalog": [e.name for e in catalog],
        "messages": [], "next_url": None, "newer_url": None, "error": None,
    }  # fmt: skip
    try:
        args = f.checked()
    except InvalidInput as exc:
        context["error"] = exc.message
        return render(request, "messages.html", app, "messages", context, status_code=400)
    # the form and the links show the times as the form's inputs take them (UTC)
    f = dataclasses.replace(f, since=_shown(args["since"]), until=_shown(args["until"]))
    p = await store.messages.list_messages(
        app.id, limit=PAGE, cursor=None if newer else cursor, newer=newer, **args
    )
    rows = p.data
    base = f"/dashboard/apps/{app.id}/messages?"
    if newer:  # a page towards the newest: the store's cursor says newer ones remain
        if p.next_cursor:
            context["newer_url"] = base + f.query(newer=p.next_cursor)
        if rows:
            context["next_url"] = base + f.query(cursor=rows[-1].id)
    else:
        if p.next_cursor:
            context["next_url"] = base + f.query(cursor=p.next_cursor)
        if cursor:
            context["newer_url"] = base + f.query(newer=rows[0].id if rows else cursor)
    # a status filter looks at a bounded number of messages a page (store.messages.SCAN)
    context["scanned"] = bool(f.status and p.next_cursor and len(rows) < PAGE)
    context["scan"] = SCAN
    context["messages"] = [views.message(m) for m in rows]
    context["clear_url"] = base.rstrip("?")
    return render(request, "messages.html", app, "messages", context)


@router.get("/messages/{message_id}")
async def detail_page(request: Request, app_ref: str, message_id: str) -> Response:
    """One message: its payload, a row per delivery (each with Replay), its attempts."""
    app = await open_app(request, app_ref)
    if isinstance(app, Response):
        return app
    msg = await ctx_of(request).store.messages.get_message(app.id, message_id)
    m = views.message(msg)
    context = {
        "m": m,
        "payload": orjson.dumps(m["payload"], option=orjson.OPT_INDENT_2).decode(),
        **await _deliveries(request, app, message_id),
    }
    return render(request, "message.html", app, "messages", context)


@router.post("/messages/{message_id}/deliveries/{delivery_id}/replay")
async def replay(request: Request, app_ref: str, message_id: str, delivery_id: str) -> Response:
    """Deliver this one delivery again now, with a fresh schedule; the deliveries table back."""
    await check_action(request)
    app = await app_for(request, await signed_in(request), app_ref)
    messages = ctx_of(request).store.messages
    d = await messages.get_delivery(app.id, delivery_id)
    if d.message_id != message_id:
        raise NotFound("delivery", delivery_id)
    n = await messages.resend_message(app.id, message_id, d.endpoint_id)
    note = "Delivery re-queued: it is attempted again now." if n else "Nothing to replay."
    return templates.TemplateResponse(
        request,
        "_deliveries.html",
        {"app": views.app(app), **await _deliveries(request, app, message_id), "note": note},
    )


async def _deliveries(request: Request, app: App, message_id: str) -> dict[str, Any]:
    """The message's deliveries (with their endpoints and last errors) and attempts."""
    store = ctx_of(request).store
    f = DeliveryFilter(message_id=message_id)
    deliveries = (await store.messages.list_deliveries(app.id, f, limit=100, cursor=None)).data
    attempts = (await store.messages.list_attempts(app.id, f, limit=100, cursor=None)).data
    endpoints = await _endpoints(request, app, deliveries)
    last: dict[str, Any] = {}
    for a in attempts:  # newest first: the first seen is the last made
        last.setdefault(a.delivery_id, a)
    return {
        "deliveries": [
            {
                **views.delivery(d),
                "url": endpoints[d.endpoint_id].url if d.endpoint_id in endpoints else None,
                "is_endpoint": d.endpoint_id in endpoints
                and endpoints[d.endpoint_id].kind == "endpoint",
                "last_error": last[d.id].error_message if d.id in last else None,
            }
            for d in deliveries
        ],
        "attempts": [views.attempt(a) for a in attempts],
        "message_id": message_id,
        "deliveries_more": len(deliveries) == 100,
    }


async def _endpoints(request: Request, app: App, deliveries: list[Delivery]) -> dict[str, Endpoint]:
    """The endpoints the deliveries go to: the app's in one read, others (a job's one-off
    target, a relay) one by one; a deleted one is left out."""
    store = ctx_of(request).store.resources
    found = {e.id: e for e in (await store.list_endpoints(app.id, limit=100, cursor=None)).data}
    for d in deliveries:
        if d.endpoint_id not in found:
            try:
                found[d.endpoint_id] = await store.get_endpoint(app.id, d.endpoint_id)
            except NotFound:
                continue
    return found
