"""The event-type catalog."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.context import Caller, Ctx
from hookwise.api.routes.common import Cursor, Flag, Limit
from hookwise.api.schemas import EventTypeIn, EventTypePatch
from hookwise.domain.events import validate_event_type

router = APIRouter(tags=["event types"])


@router.post("/v1/event-types", status_code=201)
async def create(body: EventTypeIn, ctx: Ctx, caller: Caller) -> Response:
    """Add an event type to the catalog."""
    caller.require_admin()
    name = validate_event_type(body.name, "name")
    et = await ctx.store.resources.create_event_type(
        name=name, description=body.description, schema=body.schema_
    )
    return views.json(views.event_type(et), 201)


@router.get("/v1/event-types")
async def list_types(
    ctx: Ctx,
    caller: Caller,
    limit: Limit = 50,
    cursor: Cursor = None,
    include_archived: Flag = False,
) -> Response:
    """The catalog, by name."""
    p = await ctx.store.resources.list_event_types(
        limit=limit, cursor=cursor, include_archived=include_archived
    )
    return views.json(views.page(p, views.event_type))


@router.get("/v1/event-types/{name}")
async def get(name: str, ctx: Ctx, caller: Caller) -> Response:
    """One event type."""
    return views.json(views.event_type(await ctx.store.resources.get_event_type(name)))


@router.patch("/v1/event-types/{name}")
async def update(name: str, body: EventTypePatch, ctx: Ctx, caller: Caller) -> Response:
    """Change the description, schema or archived flag."""
    caller.require_admin()
    changes = body.model_dump(exclude_unset=True)
    if "schema_" in changes:
        changes["schema"] = changes.pop("schema_")
    et = (
        await ctx.store.resources.update_event_type(name, changes)
        if changes
        else await ctx.store.resources.get_event_type(name)
    )
    return views.json(views.event_type(et))


@router.delete("/v1/event-types/{name}", status_code=204)
async def delete(name: str, ctx: Ctx, caller: Caller) -> Response:
    """Remove an event type from the catalog."""
    caller.require_admin()
    await ctx.store.resources.delete_event_type(name)
    return Response(status_code=204)
