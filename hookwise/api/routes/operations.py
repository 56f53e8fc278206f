"""Operations: the bulk changes that run in the background in bounded steps (a release, hold
or cancel of an endpoint's backlog, a recover, a resend), for the caller to follow until they
are done."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.context import Ctx, ScopedApp
from hookwise.api.routes.common import Cursor, Limit
from hookwise.domain.errors import NotFound

router = APIRouter(tags=["operations"])


@router.get("/v1/apps/{app}/operations/{operation_id}")
async def get_operation(app: ScopedApp, operation_id: str, ctx: Ctx) -> Response:
    """One operation: its status (running, done, canceled), and ``done`` of ``total`` rows."""
    op = await ctx.store.operations.get_operation(app.id, operation_id)
    if op is None:
        raise NotFound("operation", operation_id)
    return views.json(views.operation(op))


@router.get("/v1/apps/{app}/operations")
async def list_operations(
    app: ScopedApp, ctx: Ctx, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    """The app's operations, newest first: running ones, and finished ones retention has not
    pruned yet."""
    p = await ctx.store.operations.list_operations(app.id, limit=limit, cursor=cursor)
    return views.json(views.page(p, views.operation))
