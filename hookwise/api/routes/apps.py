"""Apps (tenants)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.context import Caller, Ctx, ScopedApp
from hookwise.api.routes.common import Cursor, Limit
from hookwise.api.schemas import AppIn, AppPatch
from hookwise.jobs.profile import validate_profile

router = APIRouter(tags=["apps"])


@router.post("/v1/apps", status_code=201)
async def create(body: AppIn, ctx: Ctx, caller: Caller) -> Response:
    """Create an app."""
    caller.require_admin()
    app = await ctx.store.resources.create_app(
        name=body.name, uid=body.uid, metadata=body.metadata,
        results_inline_budget=body.results_inline_budget, payload_format=body.payload_format,
        job_profile=validate_profile(body.job_profile), max_items_per_job=body.max_items_per_job,
        portal_name=body.portal_name, portal_color=body.portal_color,
    )  # fmt: skip
    return views.json(views.app(app), 201)


@router.get("/v1/apps")
async def list_apps(ctx: Ctx, caller: Caller, limit: Limit = 50, cursor: Cursor = None) -> Response:
    """Every app (admin), or the caller's own app."""
    if not caller.is_admin:
        assert caller.key.app_id is not None
        return views.json(
            {"data": [views.app(await ctx.app(caller.key.app_id))], "next_cursor": None}
        )
    return views.json(
        views.page(await ctx.store.resources.list_apps(limit=limit, cursor=cursor), views.app)
    )


@router.get("/v1/apps/{app}")
async def get(app: ScopedApp) -> Response:
    """One app, by id or uid."""
    return views.json(views.app(app))


@router.patch("/v1/apps/{app}")
async def update(app: ScopedApp, body: AppPatch, ctx: Ctx, caller: Caller) -> Response:
    """Change an app's fields."""
    caller.require_admin()
    changes = body.model_dump(exclude_unset=True)
    if "job_profile" in changes:
        changes["job_profile"] = validate_profile(changes["job_profile"])
    updated = await ctx.store.resources.update_app(app.id, changes) if changes else app
    ctx.forget_app(app.id)
    return views.json(views.app(updated))


@router.delete("/v1/apps/{app}", status_code=204)
async def delete(app: ScopedApp, ctx: Ctx, caller: Caller) -> Response:
    """Delete an app and everything it owns."""
    caller.require_admin()
    await ctx.store.resources.delete_app(app.id)
    ctx.forget_app(app.id)
    return Response(status_code=204)
