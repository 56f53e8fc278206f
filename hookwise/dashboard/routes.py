"""Dashboard pages and actions. Signs in with an API key kept in an HttpOnly, SameSite=Strict
cookie; every action carries the session's CSRF token (``access.check_action``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from hookwise.api import views
from hookwise.dashboard.access import COOKIE, app_for, check_action, ctx_of, signed_in, templates
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
    try:
        await ctx_of(request).auth.authenticate(f"Bearer {key.strip()}")
    except Unauthorized:
        return templates.TemplateResponse(
            request, "login.html", {"error": "That key is not valid."}, status_code=401
        )
    resp = RedirectResponse("/dashboard", status_code=303)
    resp.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", max_age=8 * 3600)
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    await check_action(request)
    resp = RedirectResponse("/dashboard/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


@router.get("")
async def home(request: Request) -> Response:
    try:
        caller = await signed_in(request)
    except Unauthorized:
        return RedirectResponse("/dashboard/login", status_code=303)
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
    try:
        caller = await signed_in(request)
    except Unauthorized:
        return RedirectResponse("/dashboard/login", status_code=303)
    app = await app_for(request, caller, app_ref)
    return templates.TemplateResponse(request, "app.html", await _app_view(request, app))


@router.get("/apps/{app_ref}/attempts/{attempt_id}")
async def attempt_page(request: Request, app_ref: str, attempt_id: str) -> Response:
    """One attempt with the body it sent (envelope, job event, or the payload alone)."""
    try:
        caller = await signed_in(request)
    except Unauthorized:
        return RedirectResponse("/dashboard/login", status_code=303)
    app = await app_for(request, caller, app_ref)
    store = ctx_of(request).store
    found = await store.messages.get_attempt(app.id, attempt_id)
    message = await store.messages.get_message(app.id, found.message_id)
    return templates.TemplateResponse(
        request,
        "attempt.html",
        {
            "app": views.app(app),
            "a": views.attempt(found),
            "body": views.request_body(message.body, found.payload_format),
        },
    )


@router.get("/apps/{app_ref}/live")
async def live(request: Request, app_ref: str) -> Response:
    """The parts of the app page htmx refreshes."""
    app = await app_for(request, await signed_in(request), app_ref)
    return templates.TemplateResponse(request, "_live.html", await _app_view(request, app))


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
    }


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
    from hookwise.dashboard import endpoints, inspector  # they use this module's sign-in

    app.include_router(router)
    app.include_router(inspector.router)
    app.include_router(endpoints.router)
    app.mount("/dashboard/static", StaticFiles(directory=str(_HERE / "static")), name="dashboard")

    @app.exception_handler(HookwiseError)
    async def _errors(request: Request, exc: HookwiseError) -> Response:
        from hookwise.api.errors import hookwise_error_response

        if request.url.path.startswith("/dashboard"):
            return Response(exc.message, status_code=exc.status_code, media_type="text/plain")
        return hookwise_error_response(exc)
