"""Portal links: a short-lived, single-use URL the product hands its customer, opening a console
session scoped to one app (``hookwise.dashboard.portal`` opens it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.context import ApiContext, Ctx, ScopedApp
from hookwise.api.schemas import Input

router = APIRouter(tags=["portal"])
PATH = "/portal/"
DEFAULT_TTL = 900
MIN_TTL, MAX_TTL = 60, 86400


class PortalLinkIn(Input):
    """How long the link may wait to be opened (the session it opens lives on its own)."""

    expires_in: int = Field(
        DEFAULT_TTL, ge=MIN_TTL, le=MAX_TTL, description="seconds until the unused link expires"
    )


class PortalLinkCreated(BaseModel):
    url: str = Field(description="opens the app's portal once; hand it to the customer")
    expires_at: str = Field(description="RFC 3339; an unused link stops working then")


@router.post("/v1/apps/{app}/portal-links", status_code=201, response_model=PortalLinkCreated)
async def create(
    app: ScopedApp,
    request: Request,
    ctx: Ctx,
    body: Annotated[PortalLinkIn | None, Body()] = None,
) -> Response:
    """A single-use link into the app's customer portal (admin key, or the app's own key)."""
    ttl = (body or PortalLinkIn()).expires_in
    return views.json(await make_link(ctx, request, app.id, ttl), 201)


async def make_link(ctx: ApiContext, request: Request, app_id: str, ttl: int) -> dict[str, str]:
    """A new portal link of ``app_id``: its ``url`` (on ``HOOKWISE_PUBLIC_URL``, or the base the
    request came to) and when it expires (``expires_at``, RFC 3339); the API's and the
    console's."""
    token, expires_at = await ctx.store.sessions.create_portal_link(app_id, ttl)
    base = (ctx.settings.public_url or str(request.base_url)).rstrip("/")
    at = views.rfc3339(datetime.fromtimestamp(expires_at, UTC))
    return {"url": base + PATH + token, "expires_at": at}
