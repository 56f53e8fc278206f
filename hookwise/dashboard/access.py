"""Who is signed in to the console, what they may reach, and the guard on every action.

Every page and action goes through these functions: ``signed_in`` (the caller, or
``Unauthorized``), ``app_for`` (an app the caller may see, or a 404 that reads like a missing
app), and ``check_action`` (a state-changing request must carry the session's CSRF token). Pages
render ``csrf_token(request)`` into the layout; htmx sends it as the ``X-CSRF-Token`` header and
plain forms as the ``csrf_token`` field.

The cookie holds a session token (``store.sessions``), never an API key. A portal session (one
app's customer, opened by a portal link) is kept inside that app here, once, for every page:
outside ``/dashboard/apps/{its app}/…`` (and home, which sends it there, and sign-out) every
console URL answers 404, and ``app_for`` answers 404 for any other app.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import Response

from hookwise.api.auth import Principal
from hookwise.api.context import ApiContext
from hookwise.dashboard.brand import Brand, brand_of
from hookwise.domain.errors import Forbidden, NotFound, Unauthorized
from hookwise.domain.models import ApiKey, App
from hookwise.store.rows import ts
from hookwise.store.sessions import Session

COOKIE = "hookwise_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
APPS = "/dashboard/apps/"
PORTAL_ALSO = frozenset({"/dashboard", "/dashboard/logout"})  # besides its app's own pages
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@dataclass(frozen=True, slots=True)
class ConsoleCaller(Principal):
    """A signed-in console user: the key's scope (a portal session reads as its app's key),
    the session, and, in a portal session, the app's brand."""

    session: Session
    brand: Brand | None = None

    @property
    def is_portal(self) -> bool:
        """A customer in their app's portal."""
        return self.session.kind == "portal"

    @property
    def who(self) -> str:
        """Who is signed in, as the header says it."""
        if self.is_portal:
            return "portal"
        return f"{'admin' if self.is_admin else 'app key'} {self.key.name}"


def ctx_of(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


async def signed_in(request: Request) -> ConsoleCaller:
    """The caller of this console request (``Unauthorized`` when signed out or the session has
    ended; ``NotFound`` for a portal session outside its app)."""
    known = getattr(request.state, "console_caller", None)
    if isinstance(known, ConsoleCaller):
        return known
    ctx = ctx_of(request)
    token = request.cookies.get(COOKIE)
    session = await ctx.store.sessions.find_session(token) if token else None
    if session is None:
        raise Unauthorized("sign in to the console first")
    if session.kind != "portal":
        assert session.key is not None
        caller = ConsoleCaller(session.key, session)
    else:
        assert session.app_id is not None
        _keep_in_portal(request.url.path)
        app = await ctx.app(session.app_id)
        caller = ConsoleCaller(_portal_key(session), session, brand_of(app))
    request.state.console_caller = caller
    return caller


def _portal_key(session: Session) -> ApiKey:
    """A portal session's scope, read as a key of its app (which it is not: it has no id)."""
    return ApiKey("", "portal", "", "app", session.app_id, ts(session.created_at))


def _keep_in_portal(path: str) -> None:
    """A portal session reaches its app's pages only (``app_for`` checks which app)."""
    if path in PORTAL_ALSO or (path.startswith(APPS) and len(path) > len(APPS)):
        return
    raise NotFound("page", path)


async def app_for(request: Request, caller: Principal, ref: str) -> App:
    """The app ``ref`` names, if the caller may see it."""
    app = await ctx_of(request).app(ref)
    caller.require_app(app.id, ref)
    return app


def require_operator(caller: ConsoleCaller) -> None:
    """A page or action for the sender's own people, not their customers: a portal session
    gets the 404 of a missing page."""
    if caller.is_portal:
        raise NotFound("page", "operator")


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


def check_same_origin(request: Request) -> None:
    """Refuse a request another site's page made (login CSRF: a form elsewhere signing the
    visitor in as someone else). Browsers say where a request comes from in ``Sec-Fetch-Site``
    (or, older ones, ``Origin``); a request with neither comes from no web page."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        ok = site in ("same-origin", "none")
    else:
        origin = request.headers.get("origin")
        ok = origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"
    if not ok:
        raise Forbidden("sign in from this console's own page")


async def start_session(request: Request, response: Response, token: str) -> Response:
    """Hand the browser the new session ``token`` (any session it had ends on the server)
    in a cookie: HttpOnly, SameSite=Strict, whole site, and Secure when the request came over
    TLS (as uvicorn reads it: ``X-Forwarded-Proto`` counts only from the proxies it trusts,
    ``--forwarded-allow-ips``, loopback by default)."""
    sessions = ctx_of(request).store.sessions
    old = request.cookies.get(COOKIE)
    if old:
        await sessions.end_session(old)
    lifetime = sessions.lifetimes.max_seconds
    response.set_cookie(
        COOKIE, token, max_age=int(lifetime), path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


async def end_session(request: Request, response: Response) -> Response:
    """Sign out: the session ends on the server (its cookie stops working anywhere) and the
    browser forgets the cookie."""
    token = request.cookies.get(COOKIE)
    if token:
        await ctx_of(request).store.sessions.end_session(token)
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


def when(rfc3339: str | None) -> Markup:
    """A time as the console shows it: UTC in the page, the reader's local time once
    ``console.js`` has run, the UTC time on hover."""
    if not rfc3339:
        return Markup("")
    return Markup('<time datetime="{0}" title="{0} (UTC)">{0}</time>').format(rfc3339)


def console_caller(request: Request) -> ConsoleCaller | None:
    """The caller ``signed_in`` found for this request, for the layout (None: not signed in)."""
    known = getattr(request.state, "console_caller", None)
    return known if isinstance(known, ConsoleCaller) else None


templates.env.globals["csrf_token"] = csrf_token
templates.env.globals["console_caller"] = console_caller
templates.env.filters["when"] = when
