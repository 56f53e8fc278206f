"""The request inspector's pages: a signed-in user's bins, and a bin's live captures.

A secret typed on the page is sent with each refresh (a form field in a POST body, never in a
URL, so no access log holds it), used to check the captures' signatures, and forgotten: it is
neither stored nor logged. What a capture holds is shown as escaped text only, under a
Content-Security-Policy that runs no script but the dashboard's own.

The captures on the page carry a marker of what they show: which captures, checked with which
secret (a keyed digest, so the page never holds the secret in another form). A poll that
brings the same marker back is answered 204 and htmx leaves the page alone; any other poll
gets the captures again. So a view checked with an older secret is replaced by the next poll,
never kept; the page's ``hx-sync`` keeps an older poll's answer from landing after a check.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from hookwise.api.auth import Principal
from hookwise.api.context import ApiContext
from hookwise.api.routes.inspector import at, bin_url, body_text
from hookwise.dashboard.access import check_action, ctx_of, signed_in, templates
from hookwise.dashboard.replay import replay
from hookwise.domain.errors import InvalidInput, NotFound, Unauthorized
from hookwise.domain.inspection import verdicts
from hookwise.store.inspector import Bin, Capture
from hookwise.store.rules.inspector import header_map

router = APIRouter(prefix="/dashboard/inspector", include_in_schema=False)
SHOWN = 50
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none';"
    " frame-ancestors 'none'"
)
_SAFE = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
# keys the markers of this process only: another process's marker never matches, so it costs a
# render, never a skipped one
_MARKER_KEY = secrets.token_bytes(32)


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    resp = templates.TemplateResponse(request, name, context, status_code=status)
    resp.headers.update(_SAFE)
    return resp


async def _signed_in(request: Request) -> Principal | None:
    try:
        return await signed_in(request)
    except Unauthorized:
        return None


def _to_login() -> Response:
    return RedirectResponse("/dashboard/login", status_code=303)


async def _bin(ctx: ApiContext, caller: Principal, bin_id: str) -> Bin:
    b = await ctx.store.inspector.get_bin(bin_id)
    if not caller.is_admin and b.app_id != caller.key.app_id:
        raise NotFound("bin", bin_id)
    return b


def _bin_view(request: Request, ctx: ApiContext, b: Bin) -> dict[str, Any]:
    return {
        "id": b.id, "name": b.name, "status": b.status,
        "url": bin_url(request, ctx.settings, b.id),
        "expires_in_h": max(0.0, (b.expires_at - time.time()) / 3600),
    }  # fmt: skip


def _capture_view(c: Capture, secret: str) -> dict[str, Any]:
    text, encoding = body_text(c.body)
    headers = header_map(c.headers)
    checked = verdicts(secret, c.body, headers, c.received_at, cut=c.truncated)
    return {
        "id": c.id, "method": c.method, "path": c.path, "query": c.query,
        "headers": c.headers, "body": text, "encoding": encoding, "size": c.body_size,
        "truncated": c.truncated, "received": at(c.received_at), "verdicts": checked,
    }  # fmt: skip


def shown_marker(captures: Sequence[Capture], secret: str) -> str:
    """What a rendering of the captures shows: these captures, checked with this secret."""
    digest = hashlib.blake2b(key=_MARKER_KEY, digest_size=16)
    for c in captures:
        digest.update(c.id.encode() + b"\n")
    digest.update(b"\0" + secret.encode())
    return digest.hexdigest()


def _captures_context(
    request: Request, ctx: ApiContext, b: Bin, found: Sequence[Capture], secret: str
) -> dict[str, Any]:
    """What ``_inspector_captures.html`` renders: the captures checked with ``secret``."""
    return {
        "bin": _bin_view(request, ctx, b), "shown": shown_marker(found, secret),
        "captures": [_capture_view(c, secret) for c in found], "checked": bool(secret),
    }  # fmt: skip


@router.get("")
async def bins_page(request: Request) -> Response:
    """The caller's live bins, and a button for a new one."""
    caller = await _signed_in(request)
    if caller is None:
        return _to_login()
    ctx = ctx_of(request)
    found = await ctx.store.inspector.list_bins(
        app_id=None if caller.is_admin else caller.key.app_id, limit=100, cursor=None
    )
    bins = [_bin_view(request, ctx, b) for b in found.data]
    return _page(request, "inspector.html", {"bins": bins})


@router.post("/bins")
async def create_bin(
    request: Request, status: Annotated[int, Form()] = 200, name: Annotated[str, Form()] = ""
) -> Response:
    """A new bin; htmx goes to its page."""
    await check_action(request)
    caller = await signed_in(request)
    try:
        b = await ctx_of(request).store.inspector.create_bin(
            app_id=caller.key.app_id, name=name.strip() or None, status=status
        )
    except InvalidInput as exc:
        return _page(request, "_inspector_error.html", {"error": exc.message})
    return Response(status_code=204, headers={"HX-Redirect": f"/dashboard/inspector/{b.id}"})


@router.get("/{bin_id}")
async def bin_page(request: Request, bin_id: str) -> Response:
    """A bin's live page: its URL, the secret to check with, the replay URL, the captures
    (rendered here, unchecked: the polls bring them again once a secret is typed)."""
    caller = await _signed_in(request)
    if caller is None:
        return _to_login()
    ctx = ctx_of(request)
    b = await _bin(ctx, caller, bin_id)
    found = await ctx.store.inspector.list_captures(b.id, limit=SHOWN, cursor=None)
    return _page(request, "inspector_bin.html", _captures_context(request, ctx, b, found.data, ""))


@router.post("/{bin_id}/captures")
async def captures(
    request: Request,
    bin_id: str,
    secret: Annotated[str, Form()] = "",
    shown: Annotated[str | None, Form()] = None,
) -> Response:
    """The captures with their signature verdicts under ``secret``; when the page already
    shows exactly that (its marker is ``shown``) a 204, which htmx leaves in place."""
    await check_action(request)
    ctx = ctx_of(request)
    b = await _bin(ctx, await signed_in(request), bin_id)
    found = await ctx.store.inspector.list_captures(b.id, limit=SHOWN, cursor=None)
    secret = secret.strip()
    if shown == shown_marker(found.data, secret):
        return Response(status_code=204)
    context = _captures_context(request, ctx, b, found.data, secret)
    return _page(request, "_inspector_captures.html", context)


@router.post("/{bin_id}/captures/{capture_id}/replay")
async def replay_capture(
    request: Request, bin_id: str, capture_id: str, url: Annotated[str, Form()] = ""
) -> Response:
    """Send a capture again to ``url`` and say what it answered."""
    await check_action(request)
    ctx = ctx_of(request)
    b = await _bin(ctx, await signed_in(request), bin_id)
    capture = await ctx.store.inspector.get_capture(b.id, capture_id)
    try:
        done = await replay(capture, url.strip(), ctx.policy, ctx.settings)
    except InvalidInput as exc:  # shown where the answer would be: htmx swaps no 4xx
        return _page(request, "_inspector_error.html", {"error": f"Not replayed: {exc.message}"})
    return _page(request, "_inspector_replayed.html", {"r": done, "capture_id": capture_id})


@router.post("/{bin_id}/delete")
async def delete_bin(request: Request, bin_id: str) -> Response:
    """Delete the bin and its captures; htmx goes back to the list."""
    await check_action(request)
    ctx = ctx_of(request)
    b = await _bin(ctx, await signed_in(request), bin_id)
    await ctx.store.inspector.delete_bin(b.id)
    return Response(status_code=204, headers={"HX-Redirect": "/dashboard/inspector"})
