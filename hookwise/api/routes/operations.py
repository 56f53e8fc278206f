"""Operations: the bulk changes that run in the background in bounded steps (a recover), for
the caller to follow until they are done."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.context import Ctx, ScopedApp
from hookwise.domain.errors import NotFound

router = APIRouter(tags=["operations"])


@router.get("/v1/apps/{app}/operations/{operation_id}")
async def get_operation(app: ScopedApp, operation_id: str, ctx: Ctx) -> Response:
    """One operation: its status (running, done, canceled), and ``done`` of ``total`` rows."""
    op = await ctx.store.operations.get_operation(app.id, operation_id)
    if op is None:
        raise NotFound("operation", operation_id)
    return views.json(views.operation(op))
