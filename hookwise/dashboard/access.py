"""Who is signed in to the console, what they may reach, and the guard on every action.

Every page and action goes through these functions: ``signed_in`` (the caller, or
``Unauthorized``), ``app_for`` (an app the caller may see, or ``Forbidden``), and
``check_action`` (a state-changing request must carry the session's CSRF token). Pages render
``csrf_token(request)`` into the layout; htmx sends it as the ``X-CSRF-Token`` header and plain
forms as the ``csrf_token`` field.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from hookwise.api.auth import Principal
from hookwise.api.context import ApiContext
from hookwise.domain.errors import Forbidden, Unauthorized
from hookwise.domain.models import App

COOKIE = "hookwise_key"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def ctx_of(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


async def signed_in(request: Request) -> Principal:
    """The caller of this console request (``Unauthorized`` when signed out)."""
    key = request.cookies.get(COOKIE)
    return await ctx_of(request).auth.authenticate(f"Bearer {key}" if key else None)


async def app_for(request: Request, caller: Principal, ref: str) -> App:
    """The app ``ref`` names, if the caller may see it."""
    app = await ctx_of(request).app(ref)
    caller.require_app(app.id, ref)
    return app


def csrf_token(request: Request) -> str:
    """The token that proves an action comes from a page of this session: derived from the
    HttpOnly session cookie, which another site can neither read nor compute it from."""
    session = request.cookies.get(COOKIE, "")
    return hmac.new(session.encode(), b"hookwise-csrf", hashlib.sha256).hexdigest()


async def check_action(request: Request) -> None:
    """Refuse a state-changing request that does not carry this session's token."""
    if not request.cookies.get(COOKIE):
        raise Unauthorized("sign in to the console first")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not request.cookies.get(COOKIE) or not hmac.compare_digest(sent or "", csrf_token(request)):
        raise Forbidden("this action needs the console's token: reload the page and try again")


def when(rfc3339: str | None) -> Markup:
    """A time as the console shows it: UTC in the page, the reader's local time once
    ``console.js`` has run, the UTC time on hover."""
    if not rfc3339:
        return Markup("")
    return Markup('<time datetime="{0}" title="{0} (UTC)">{0}</time>').format(rfc3339)


templates.env.globals["csrf_token"] = csrf_token
templates.env.filters["when"] = when
