"""The request inspector: bins that record every request sent to them (``/inspect/{bin_id}``),
for testing a webhook sender, hookwise's own endpoints included.

A bin answers its configured status so retries can be tried; what it records is read back as
JSON (never rendered). The bin's URL is its capability (80 random bits): sending to it needs
no key, reading it needs the key of the app that made it, or an admin key.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import Field
from starlette.responses import Response

from hookwise.api import views
from hookwise.api.auth import Principal
from hookwise.api.context import Caller, Ctx
from hookwise.api.routes.common import Cursor, Limit
from hookwise.api.schemas import Input
from hookwise.domain.errors import NotFound
from hookwise.settings import Settings
from hookwise.store.inspector import Bin, Capture
from hookwise.store.rules.inspector import header_map

router = APIRouter(tags=["inspector"])
PATH = "/inspect/"
_NO_BODY = (204, 304)


class BinIn(Input):
    """A new bin: the status it answers every request with, and an optional name."""

    status: int = Field(200, ge=200, le=599)
    name: str | None = Field(None, max_length=200)


def at(epoch: float) -> str:
    """Seconds since the epoch as RFC 3339 UTC."""
    return views.rfc3339(datetime.fromtimestamp(epoch, UTC))


def base_urls(settings: Settings) -> list[str]:
    """Where this hookwise is reached: its public URL, and the address it listens on (a
    wildcard address read as loopback). The SSRF guard lets their inspector bins through."""
    urls = [settings.public_url] if settings.public_url else []
    hosts = {"0.0.0.0": ["127.0.0.1", "localhost"], "::": ["[::1]", "localhost"]}
    host = settings.host
    for h in hosts.get(host, [f"[{host}]" if ":" in host else host]):
        urls.append(f"http://{h}:{settings.port}")
    return urls


def bin_url(request: Request, settings: Settings, bin_id: str) -> str:
    """The URL to send to: under the public URL when one is set, else as this request came."""
    base = settings.public_url or str(request.base_url)
    return base.rstrip("/") + PATH + bin_id


def bin_view(request: Request, settings: Settings, b: Bin) -> dict[str, Any]:
    """A bin as the API answers it."""
    return {
        "id": b.id, "url": bin_url(request, settings, b.id), "name": b.name, "status": b.status,
        "app_id": b.app_id, "created_at": at(b.created_at),
        "expires_at": at(b.expires_at),
    }  # fmt: skip


def body_text(body: bytes) -> tuple[str, str]:
    """A captured body as (text, encoding): UTF-8 as it is, anything else in base64."""
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def capture_view(c: Capture) -> dict[str, Any]:
    """A capture as the API answers it: the body as text, never interpreted."""
    text, encoding = body_text(c.body)
    return {
        "id": c.id, "bin_id": c.bin_id, "method": c.method, "path": c.path, "query": c.query,
        "headers": header_map(c.headers), "body": text, "body_encoding": encoding,
        "body_size": c.body_size, "truncated": c.truncated,
        "received_at": at(c.received_at),
    }  # fmt: skip


async def owned_bin(ctx: Ctx, caller: Principal, bin_id: str) -> Bin:
    """The bin, if the caller may read it (another app's bin is answered as missing)."""
    b = await ctx.store.inspector.get_bin(bin_id)
    if not caller.is_admin and b.app_id != caller.key.app_id:
        raise NotFound("bin", bin_id)
    return b


@router.post("/v1/inspector/bins", status_code=201)
async def create(
    request: Request, ctx: Ctx, caller: Caller, body: Annotated[BinIn | None, Body()] = None
) -> Response:
    """A new bin: a URL that records every request sent to it and answers ``status``."""
    spec = body or BinIn()
    b = await ctx.store.inspector.create_bin(
        app_id=caller.key.app_id, name=spec.name, status=spec.status
    )
    return views.json(bin_view(request, ctx.settings, b), 201)


@router.get("/v1/inspector/bins")
async def list_bins(
    request: Request, ctx: Ctx, caller: Caller, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    """Live bins, newest first: the caller's app's (all of them for an admin key)."""
    p = await ctx.store.inspector.list_bins(
        app_id=None if caller.is_admin else caller.key.app_id, limit=limit, cursor=cursor
    )
    return views.json(views.page(p, lambda b: bin_view(request, ctx.settings, b)))


@router.get("/v1/inspector/bins/{bin_id}")
async def get(request: Request, bin_id: str, ctx: Ctx, caller: Caller) -> Response:
    """One bin."""
    return views.json(bin_view(request, ctx.settings, await owned_bin(ctx, caller, bin_id)))


@router.delete("/v1/inspector/bins/{bin_id}", status_code=204)
async def delete(bin_id: str, ctx: Ctx, caller: Caller) -> Response:
    """Delete a bin and what it recorded."""
    await owned_bin(ctx, caller, bin_id)
    await ctx.store.inspector.delete_bin(bin_id)
    return Response(status_code=204)


@router.get("/v1/inspector/bins/{bin_id}/requests")
async def requests(
    bin_id: str, ctx: Ctx, caller: Caller, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    """What the bin recorded, newest first."""
    await owned_bin(ctx, caller, bin_id)
    p = await ctx.store.inspector.list_captures(bin_id, limit=limit, cursor=cursor)
    return views.json(views.page(p, capture_view))


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route(PATH + "{bin_id}", methods=_METHODS, include_in_schema=False)
@router.api_route(PATH + "{bin_id}/{rest:path}", methods=_METHODS, include_in_schema=False)
async def inspect(request: Request, bin_id: str, ctx: Ctx) -> Response:
    """Record the request in the bin and answer its status (404 for no such bin, or one
    expired)."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    b, c = await ctx.store.inspector.capture(
        bin_id,
        method=request.method,
        path=path.split("?", 1)[0],
        query=request.url.query,
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
        body=await request.body(),
    )
    if b.status in _NO_BODY or request.method == "HEAD":
        return Response(status_code=b.status, headers={"X-Hookwise-Capture": c.id})
    return views.json({"captured": c.id, "bin_id": b.id}, b.status, {"X-Hookwise-Capture": c.id})
