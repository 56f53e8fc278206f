"""The customer portal's door: ``GET /portal/{token}`` opens a single-use portal link.

A live link becomes a portal session of its app (``access`` keeps it inside that app) and the
page moves on to the app's console page. It moves on with a same-page refresh, not a 303: the
customer usually follows the link from another site (their mail), and a browser does not send
a SameSite=Strict cookie on a redirect that another site started, so a 303 would land them on
the sign-in page. A used, expired or unknown link gets a page saying which, never an error.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hookwise.dashboard.access import ctx_of, start_session, templates
from hookwise.store.rules.sessions import LinkRefusal

router = APIRouter(include_in_schema=False)
# the token is in the URL: kept out of caches and of Referer headers
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
REFUSALS: dict[LinkRefusal, tuple[int, str, str]] = {
    "used": (410, "This link was already used", "A portal link opens the portal once."),
    "expired": (410, "This link has expired", "Portal links work for a short time only."),
    "unknown": (404, "This link is not valid", "Check that the whole link was copied."),
}


@router.get("/portal/{token}")
async def open_link(request: Request, token: str) -> Response:
    """Open a portal link: a portal session of its app, then the app's page."""
    opened = await ctx_of(request).store.sessions.open_portal_link(token)
    if isinstance(opened, str):
        status, title, hint = REFUSALS[opened]
        context = {"title": title, "hint": hint, "refused": opened}
        return templates.TemplateResponse(
            request, "portal_link.html", context, status_code=status, headers=_PRIVATE
        )
    session_token, session = opened
    target = f"/dashboard/apps/{session.app_id}"
    page = templates.TemplateResponse(
        request, "portal_link.html", {"title": "Opening your portal…", "target": target},
        headers=_PRIVATE,
    )  # fmt: skip
    return await start_session(request, page, session_token)
