"""API keys: create (shown once), list, delete, validate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.auth import create_key
from hookwise.api.context import Caller, Ctx
from hookwise.api.routes.common import Cursor, Limit
from hookwise.api.schemas import KeyCreated, KeyIn

router = APIRouter(tags=["keys"])


@router.get("/v1/auth/validate-key")
async def validate_key(caller: Caller) -> dict[str, Any]:
    """Whether the key is valid, and its scope. Costs nothing."""
    k = caller.key
    return {"valid": True, "key_id": k.id, "scope": k.scope, "app_id": k.app_id}


@router.post("/v1/keys", status_code=201, response_model=KeyCreated)
async def create(body: KeyIn, ctx: Ctx, caller: Caller) -> Response:
    """Create a key: admin (no ``app_id``) or scoped to one app. The key is shown only here."""
    caller.require_admin()
    app_id = (await ctx.app(body.app_id)).id if body.app_id else None
    record, key = await create_key(ctx.store, body.name, app_id)
    return views.json(
        {"id": record.id, "key": key, "scope": record.scope, "app_id": app_id, "name": body.name},
        201,
    )


@router.get("/v1/keys")
async def list_keys(
    ctx: Ctx, caller: Caller, limit: Limit = 50, cursor: Cursor = None, app_id: str | None = None
) -> Response:
    """Keys (never the secret part)."""
    caller.require_admin()
    p = await ctx.store.resources.list_api_keys(app_id=app_id, limit=limit, cursor=cursor)
    return views.json(views.page(p, views.api_key))


@router.delete("/v1/keys/{key_id}", status_code=204)
async def delete(key_id: str, ctx: Ctx, caller: Caller) -> Response:
    """Revoke a key."""
    caller.require_admin()
    await ctx.store.resources.delete_api_key(key_id)
    ctx.auth.forget(key_id)
    return Response(status_code=204)
