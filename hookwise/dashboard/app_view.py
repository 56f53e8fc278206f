"""What every page of one app shares: opening it for the signed-in caller, and rendering it
under the app's tabs (``templates/_app_nav.html``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from hookwise.api import views
from hookwise.dashboard.access import app_for, signed_in, templates
from hookwise.domain.errors import Unauthorized
from hookwise.domain.models import App

TABS = (
    ("overview", "Overview", ""),
    ("messages", "Messages", "/messages"),
    ("jobs", "Jobs", "/jobs"),
    ("event-types", "Event types", "/event-types"),
)
"""The app's tabs: key, label, path under ``/dashboard/apps/{app}``."""

templates.env.globals["app_tabs"] = TABS  # _app_nav.html needs no context of its own


async def open_app(request: Request, app_ref: str) -> App | Response:
    """The app ``app_ref`` names if the caller may see it; a redirect to the sign-in page when
    signed out (``NotFound``/``Forbidden`` raise as for any console page)."""
    try:
        caller = await signed_in(request)
    except Unauthorized:
        return RedirectResponse("/dashboard/login", status_code=303)
    return await app_for(request, caller, app_ref)


def render(
    request: Request,
    template: str,
    app: App,
    tab: str | None,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    """``template`` for ``app`` with the tab ``tab`` marked current (None: none is)."""
    return templates.TemplateResponse(
        request,
        template,
        {"app": views.app(app), "tab": tab, **context},
        status_code=status_code,
    )
