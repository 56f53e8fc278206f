"""Dashboard pages and actions. Signing in with an API key starts a server-side session whose
token the HttpOnly, SameSite=Strict cookie holds (``access``); every action carries the
session's CSRF token (``access.check_action``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from hookwise.api import views
from hookwise.api.routes.portal_links import DEFAULT_TTL, make_link
from hookwise.dashboard.access import (
    app_for,
    check_action,
    check_same_origin,
    ctx_of,
    end_session,
    require_operator,
    signed_in,
    start_session,
    templates,
)
from hookwise.dashboard.app_view import open_app, render
from hookwise.domain.errors import HookwiseError, Unauthorized
from hookwise.domain.models import App, DeliveryFilter
from hookwise.domain.plurals import plural

_HERE = Path(__file__).parent


router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("/login")
async def login_form(request: Request, error: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": error})


@router.post("/login")
async def login(request: Request, key: Annotated[str, Form()]) -> Response:
    """Sign in with an API key: a new session (any session this browser had ends). Only from
    this console's own page: another site cannot sign a visitor in as someone else."""
    check_same_origin(request)
    ctx = ctx_of(request)
    try:
        caller = await ctx.auth.authenticate(f"Bearer {key.strip()}")
    except Unauthorized:
        return templates.TemplateResponse(
            request, "login.html", {"error": "That key is not valid."}, status_code=401
        )
    token, _ = await ctx.store.sessions.start_session(caller.key)
    return await start_session(request, RedirectResponse("/dashboard", status_code=303), token)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out: the session ends on the server too."""
    await check_action(request)
    return await end_session(request, RedirectResponse("/dashboard/login", status_code=303))


@router.get("")
async def home(request: Request) -> Response:
    try:
        caller = await signed_in(request)
    except Unauthorized:
        return RedirectResponse("/dashboard/login", status_code=303)
    if caller.is_portal:  # a customer has one app: the portal starts there
        return RedirectResponse(f"/dashboard/apps/{caller.session.app_id}", status_code=303)
    ctx = ctx_of(request)
    if caller.is_admin:
        apps = (await ctx.store.resources.list_apps(limit=200, cursor=None)).data
    else:
        assert caller.key.app_id is not None
        apps = [await ctx.app(caller.key.app_id)]
    stats = await ctx.store.queue.queue_stats(caller.key.app_id)  # an app key sees its own queue
    return templates.TemplateResponse(
        request, "apps.html", {"apps": [views.app(a) for a in apps], "stats": stats}
    )


@router.get("/apps/{app_ref}")
async def app_page(request: Request, app_ref: str) -> Response:
    """The app's overview: endpoints, operations, newest messages, the live attempt log."""
    app = await open_app(request, app_ref)
    if isinstance(app, Response):
        return app
    return render(request, "app.html", app, "overview", await _app_view(request, app))


@router.get("/apps/{app_ref}/live")
async def live(request: Request, app_ref: str) -> Response:
    """The parts of the app page an action re-renders."""
    app = await app_for(request, await signed_in(request), app_ref)
    return templates.TemplateResponse(request, "_live.html", await _app_view(request, app))


@router.get("/apps/{app_ref}/live/operations")
async def live_operations(request: Request, app_ref: str) -> Response:
    """The operations table, polled while one runs (286: none runs, htmx stops polling)."""
    app = await app_for(request, await signed_in(request), app_ref)
    ops = await ctx_of(request).store.operations.list_operations(app.id, limit=10, cursor=None)
    running = any(o.status == "running" for o in ops.data)
    return templates.TemplateResponse(
        request,
        "_operations.html",
        {"operations": [views.operation(o) for o in ops.data]},
        status_code=200 if running else 286,
    )


async def _app_view(request: Request, app: App) -> dict[str, Any]:
    store = ctx_of(request).store
    endpoints = (await store.resources.list_endpoints(app.id, limit=100, cursor=None)).data
    messages = (await store.messages.list_messages(app.id, limit=20, cursor=None)).data
    attempts = (
        await store.messages.list_attempts(app.id, DeliveryFilter(), limit=50, cursor=None)
    ).data
    operations = (await store.operations.list_operations(app.id, limit=10, cursor=None)).data
    return {
        "app": views.app(app),
        "endpoints": [views.endpoint(e) for e in endpoints],
        "operations": [views.operation(o) for o in operations],
        "messages": [views.message(m) for m in messages],
        "attempts": [views.attempt(a) for a in attempts],
        "live_url": f"/dashboard/apps/{app.id}/live/attempts",
    }


@router.post("/apps/{app_ref}/portal-link")
async def portal_link(request: Request, app_ref: str) -> Response:
    """A new single-use link into the app's customer portal, to copy and hand to the customer
    (an operator's or the app key's action; a customer in the portal gets the 404 of a
    missing page)."""
    await check_action(request)
    caller = await signed_in(request)
    require_operator(caller)
    app = await app_for(request, caller, app_ref)
    link = await make_link(ctx_of(request), request, app.id, DEFAULT_TTL)
    return templates.TemplateResponse(request, "_portal_link_made.html", link)


@router.post("/apps/{app_ref}/messages/{message_id}/resend")
async def resend(request: Request, app_ref: str, message_id: str) -> Response:
    await check_action(request)
    app = await app_for(request, await signed_in(request), app_ref)
    n = await ctx_of(request).store.messages.resend_message(app.id, message_id)
    return templates.TemplateResponse(
        request,
        "_live.html",
        {**await _app_view(request, app), "note": f"{plural(n, 'delivery')} re-queued"},
    )


def mount_dashboard(app: FastAPI) -> None:
    """Add ``/dashboard`` (and its static files) to the API application."""
    from hookwise.dashboard import (
        attempts,
        endpoints,
        event_types,
        inspector,
        jobs,
        messages,
        portal,
    )

    app.include_router(router)
    app.include_router(inspector.router)
    app.include_router(portal.router)
    app.include_router(endpoints.router)
    app.include_router(messages.router)
    app.include_router(attempts.router)
    app.include_router(jobs.router)
    app.include_router(event_types.router)
    app.mount("/dashboard/static", StaticFiles(directory=str(_HERE / "static")), name="dashboard")

    @app.exception_handler(HookwiseError)
    async def _errors(request: Request, exc: HookwiseError) -> Response:
        from hookwise.api.errors import hookwise_error_response

        if request.url.path.startswith("/dashboard"):
            return Response(exc.message, status_code=exc.status_code, media_type="text/plain")
        return hookwise_error_response(exc)
