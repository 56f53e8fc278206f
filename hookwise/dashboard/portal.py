"""The customer portal's door: ``/portal/{token}`` opens a single-use portal link.

``GET`` only shows a page with one button, and uses nothing up: link previews (a chat's
unfurl, a mail scanner's check) fetch the link before the customer does, and must not spend
it. The button posts back to the same URL, from this site's own page (a form on another site
is refused: it would sign the visitor in to someone else's portal), and that opens the link: a
portal session of its app (``access`` keeps it inside that app), and the page moves on to the
app's console page. It moves on with a same-page refresh, not a 303, as it did when the link
itself opened the session. A used, expired or unknown link gets a page saying which, never an
error.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hookwise.dashboard.access import check_same_origin, ctx_of, start_session, templates
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
async def show_link(request: Request, token: str) -> Response:
    """A live link's page, with the button that opens it; the link stays unused."""
    refused = await ctx_of(request).store.sessions.check_portal_link(token)
    if refused is not None:
        return _refusal(request, refused)
    context = {"title": "Your webhooks portal", "action": f"/portal/{token}"}
    return templates.TemplateResponse(request, "portal_link.html", context, headers=_PRIVATE)


@router.post("/portal/{token}")
async def open_link(request: Request, token: str) -> Response:
    """Open a portal link: a portal session of its app, then the app's page."""
    check_same_origin(request)
    opened = await ctx_of(request).store.sessions.open_portal_link(token)
    if isinstance(opened, str):
        return _refusal(request, opened)
    session_token, session = opened
    target = f"/dashboard/apps/{session.app_id}"
    page = templates.TemplateResponse(
        request, "portal_link.html", {"title": "Opening your portal…", "target": target},
        headers=_PRIVATE,
    )  # fmt: skip
    return await start_session(request, page, session_token)


def _refusal(request: Request, refused: LinkRefusal) -> Response:
    status, title, hint = REFUSALS[refused]
    context = {"title": title, "hint": hint, "refused": refused}
    return templates.TemplateResponse(
        request, "portal_link.html", context, status_code=status, headers=_PRIVATE
    )
