"""The console's endpoint pages: one endpoint's settings, health, chart and newest attempts;
its actions (pause, re-enable, test ping, rotate, reveal, recover, edit, delete); and the form
that creates one.

Each action goes through the API's own code (``api.routes.endpoints``): the same checks, the
same store operations. An htmx action answers with the note for the page's ``role="status"``
region and the parts it changed (out-of-band swaps); a plain form post gets the whole page.
The app overview's buttons (pause, re-enable, recover) post to the same URLs and get the
overview's live part back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from hookwise.api import views
from hookwise.api.auth import Principal
from hookwise.api.routes import endpoints as api
from hookwise.api.schemas import EndpointIn, EndpointPatch, RecoverIn, RotateIn
from hookwise.dashboard import endpoint_form
from hookwise.dashboard.access import app_for, check_action, ctx_of, signed_in, templates
from hookwise.dashboard.chart import chart
from hookwise.domain.errors import HookwiseError, InvalidInput, Unauthorized
from hookwise.domain.health import EndpointHealth
from hookwise.domain.models import App, DeliveryFilter, Endpoint
from hookwise.domain.plurals import plural

log = logging.getLogger("hookwise.dashboard")
router = APIRouter(prefix="/dashboard/apps/{app_ref}/endpoints", include_in_schema=False)

FLASH = "hookwise_new_endpoint"
"""A cookie naming the endpoint just created, so that its page shows the secret once."""
STATUS_ID = "endpoint-status"
"""The id of the page's status region: htmx names it in ``HX-Target`` for its actions."""
GRACES = (("0", "no grace: the old secret stops now"), ("3600", "1 hour"),
          ("86400", "24 hours"), ("604800", "7 days"))  # fmt: skip
RECENT = 20
DAY = timedelta(days=1)


async def _page_view(request: Request, app: App, ep: Endpoint, **extra: Any) -> dict[str, Any]:
    store = ctx_of(request).store
    health = await store.messages.endpoint_health(app.id, ep.id, time.time())
    attempts = await store.messages.list_attempts(
        app.id, DeliveryFilter(endpoint_id=ep.id), limit=RECENT, cursor=None
    )
    return {
        "app": views.app(app),
        "e": views.endpoint(ep),
        "health": health,
        "health_view": _health_view(health),
        "chart": chart(health.minutes),
        "attempts": [views.attempt(a) for a in attempts.data],
        "graces": GRACES,
        "since_default": f"{datetime.now(UTC) - DAY:%Y-%m-%dT%H:%M}",
        "form": endpoint_form.Form(endpoint_form.values_of(ep)),
        **extra,
    }


def _health_view(h: EndpointHealth) -> dict[str, Any]:
    """The health figures as the page writes them."""

    def ms(v: float | None) -> str:
        return "none" if v is None else f"{v:,.0f} ms" if v >= 10 else f"{v:.1f} ms"

    windows = [
        {
            "name": name,
            "label": label,
            "attempts": f"more than {w.attempts:,}" if w.more else f"{w.attempts:,}",
            "rate": "none" if w.success_rate is None else f"{w.success_rate:.1%}",
            "p50": ms(w.p50_ms),
            "p95": ms(w.p95_ms),
            "sample": f"figures of the newest {w.attempts:,}" if w.more else "",
        }
        for name, label, w in (("hour", "Last hour", h.hour), ("day", "Last 24 hours", h.day))
    ]
    bad = h.last_failure
    return {
        "windows": windows,
        "last_success_at": views.iso(h.last_success.at if h.last_success else None),
        "last_failure_at": views.iso(bad.at if bad else None),
        "last_failure_why": bad and (bad.error or f"HTTP {bad.status_code}"),
    }


async def _caller_app(request: Request, app_ref: str) -> tuple[Principal, App]:
    caller = await signed_in(request)
    return caller, await app_for(request, caller, app_ref)


@router.get("/new")
async def new_page(request: Request, app_ref: str) -> Response:
    """The form that creates an endpoint."""
    try:
        _, app = await _caller_app(request, app_ref)
    except Unauthorized:
        return RedirectResponse("/dashboard/login", status_code=303)
    form = endpoint_form.Form(endpoint_form.values_of(None))
    return _new_form(request, app, form)


def _new_form(request: Request, app: App, form: endpoint_form.Form, status: int = 200) -> Response:
    return templates.TemplateResponse(
        request, "endpoint_new.html", {"app": views.app(app), "form": form}, status_code=status
    )


@router.post("")
async def create(request: Request, app_ref: str) -> Response:
    """Create the endpoint the form describes, with the API's checks; its page (which shows
    the new secret once), or the form again with what is wrong beside each field."""
    await check_action(request)
    _, app = await _caller_app(request, app_ref)
    form = endpoint_form.read(await request.form(), (*endpoint_form.FIELDS, "secret"))
    data = endpoint_form.body(form, patch=False)
    ctx = ctx_of(request)
    ep = await endpoint_form.submit(
        form, EndpointIn, data, lambda b: api.create_endpoint(ctx, app, b)
    )
    if ep is None:
        form.values["secret"] = ""  # a secret typed is not written back into the page
        return _new_form(request, app, form, 422)
    to = f"/dashboard/apps/{app.id}/endpoints/{ep.id}"
    resp = RedirectResponse(to, status_code=303)
    resp.set_cookie(FLASH, ep.id, max_age=120, path=to, httponly=True, samesite="strict")
    return resp


@router.get("/{endpoint_id}")
async def page(request: Request, app_ref: str, endpoint_id: str) -> Response:
    """One endpoint: settings, health over 1 h and 24 h, attempts per minute, actions."""
    try:
        caller, app = await _caller_app(request, app_ref)
    except Unauthorized:
        return RedirectResponse("/dashboard/login", status_code=303)
    ep = await ctx_of(request).store.resources.get_endpoint(app.id, endpoint_id)
    extra: dict[str, Any] = {}
    if request.cookies.get(FLASH) == ep.id:  # just created: its secret, this once
        _log_secret_shown(caller, app, ep, "shown at creation")
        extra = {"note": "Endpoint created.", "secret": ep.secret}
    resp = templates.TemplateResponse(
        request, "endpoint.html", await _page_view(request, app, ep, **extra)
    )
    if FLASH in request.cookies:
        resp.delete_cookie(FLASH, path=request.url.path)
    return resp


@router.get("/{endpoint_id}/live")
async def live(request: Request, app_ref: str, endpoint_id: str) -> Response:
    """The parts of the endpoint page htmx refreshes: settings, health, chart, attempts."""
    _, app = await _caller_app(request, app_ref)
    ep = await ctx_of(request).store.resources.get_endpoint(app.id, endpoint_id)
    return templates.TemplateResponse(
        request, "_endpoint_live.html", await _page_view(request, app, ep)
    )


def _log_secret_shown(caller: Principal, app: App, ep: Endpoint, how: str) -> None:
    # who saw which endpoint's secret, never the secret
    log.info(
        "signing secret %s: endpoint %s of app %s, to key %s (%s)",
        how, ep.id, app.id, caller.key.id, caller.key.name,
    )  # fmt: skip


Outcome = tuple[str, dict[str, Any]]
"""What an action did: its note, and what else the page shows (a secret, the edit form)."""
Action = Callable[[Request, Principal, App, str], Awaitable[Outcome]]


async def _pause(request: Request, caller: Principal, app: App, ep_id: str) -> Outcome:
    await ctx_of(request).store.resources.update_endpoint(
        app.id, ep_id, {"status": "paused", "paused_reason": "paused from the dashboard"}
    )
    return "Endpoint paused: new deliveries are held.", {}


async def _enable(request: Request, caller: Principal, app: App, ep_id: str) -> Outcome:
    await ctx_of(request).store.resources.update_endpoint(app.id, ep_id, {"status": "active"})
    return "Endpoint re-enabled: held deliveries are being released.", {}


async def _test(request: Request, caller: Principal, app: App, ep_id: str) -> Outcome:
    a = await api.send_test(ctx_of(request), app, ep_id)
    took = f"in {a.duration_ms:.0f} ms"
    if a.status == "succeeded":
        return f"Test event sent: HTTP {a.response_status_code} {took}.", {}
    return f"Test event failed {took}: {a.error_message or a.response_status_code}.", {}


async def _rotate(request: Request, caller: Principal, app: App, ep_id: str) -> Outcome:
    grace = str((await request.form()).get("grace_seconds", "86400"))
    try:
        body = RotateIn(grace_seconds=float(grace))
    except ValueError:  # pydantic's ValidationError too: the choices are the form's own
        raise InvalidInput("grace_seconds", "choose one of the grace periods") from None
    ep = await api.rotate_secret(ctx_of(request), app, ep_id, body)
    if not body.grace_seconds:
        return (
            "Secret rotated; the old secret no longer signs. Reveal secret shows the new one.",
            {},
        )
    until = views.iso(max(u for _, u in ep.previous_secrets))
    return f"Secret rotated; the old secret also signs until {until} (UTC).", {}


async def _reveal(request: Request, caller: Principal, app: App, ep_id: str) -> Outcome:
    ep = await ctx_of(request).store.resources.get_endpoint(app.id, ep_id)
    _log_secret_shown(caller, app, ep, "revealed")
    now = datetime.now(UTC)
    previous = [(s, views.iso(u)) for s, u in ep.previous_secrets if u > now]
    return "The signing secret, shown this once:", {"secret": ep.secret, "previous": previous}


async def _recover(request: Request, caller: Principal, app: App, ep_id: str) -> Outcome:
    since = str((await request.form()).get("since", "")).strip()
    if since:  # a datetime-local value, in UTC as the form says
        body, which = RecoverIn(since=f"{since}Z"), f"since {since} UTC"
    else:  # the overview's button
        body, which = RecoverIn(since=views.rfc3339(datetime.now(UTC) - DAY)), "of the last 24 h"
    op = await api.start_recover(ctx_of(request), app, ep_id, body)
    note = f"{plural(op.done, 'failed delivery')} {which} re-queued"
    if op.status == "running":
        note += f" so far; the rest in the background (operation {op.id})"
    return note, {}


async def _edit(request: Request, caller: Principal, app: App, ep_id: str) -> Outcome:
    form = endpoint_form.read(await request.form(), endpoint_form.FIELDS)
    data = endpoint_form.body(form, patch=True)
    ctx = ctx_of(request)
    done = await endpoint_form.submit(
        form, EndpointPatch, data, lambda b: api.update_endpoint(ctx, app, ep_id, b)
    )
    if done is None:
        return f"Not saved: {plural(len(form.errors), 'problem')} to fix.", {"form": form}
    return "Saved.", {"form": endpoint_form.Form(endpoint_form.values_of(done))}


ACTIONS: dict[str, Action] = {
    "pause": _pause, "enable": _enable, "test": _test, "rotate": _rotate,
    "reveal": _reveal, "recover": _recover, "edit": _edit,
}  # fmt: skip


@router.post("/{endpoint_id}/delete")
async def delete(request: Request, app_ref: str, endpoint_id: str) -> Response:
    """Delete the endpoint (its pending deliveries are canceled); back to the app."""
    await check_action(request)
    _, app = await _caller_app(request, app_ref)
    await ctx_of(request).store.resources.delete_endpoint(app.id, endpoint_id)
    to = f"/dashboard/apps/{app.id}"
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": to})
    return RedirectResponse(to, status_code=303)


@router.post("/{endpoint_id}/{action}")
async def endpoint_action(
    request: Request,
    app_ref: str,
    endpoint_id: str,
    action: str,
) -> Response:
    """Do ``action`` to the endpoint; what changed, for the page that asked."""
    await check_action(request)
    caller, app = await _caller_app(request, app_ref)
    act = ACTIONS.get(action)
    if act is None:
        return Response("unknown action", status_code=404, media_type="text/plain")
    store = ctx_of(request).store
    ep = await store.resources.get_endpoint(app.id, endpoint_id)  # 404 as the page would
    hx_target = request.headers.get("HX-Target")
    if request.headers.get("HX-Request") and hx_target != STATUS_ID:
        return await _for_overview(request, app, act, caller, ep.id)
    try:
        note, extra = await act(request, caller, app, ep.id)
        failed = "form" in extra and extra["form"].errors
    except HookwiseError as exc:  # refused (e.g. a since that is no time): said on the page
        if exc.status_code in (401, 403, 404):
            raise
        note, extra, failed = f"Not done: {exc.message}", {}, True
    ep = await store.resources.get_endpoint(app.id, endpoint_id)
    view = await _page_view(request, app, ep, note=note, action=action, **extra)
    if request.headers.get("HX-Request"):  # htmx swaps only a 2xx answer
        return templates.TemplateResponse(request, "_endpoint_updated.html", view)
    return templates.TemplateResponse(
        request, "endpoint.html", view, status_code=422 if failed else 200
    )


async def _for_overview(
    request: Request, app: App, act: Action, caller: Principal, ep_id: str
) -> Response:
    """The app overview's pause, re-enable and recover buttons: its live part, with the note."""
    from hookwise.dashboard.routes import _app_view  # routes includes this router

    note, _ = await act(request, caller, app, ep_id)
    view = await _app_view(request, app)
    return templates.TemplateResponse(request, "_live.html", {**view, "note": note})
