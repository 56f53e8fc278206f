"""The console's event-type catalog: names, descriptions and schemas, read-only."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from hookwise.dashboard.access import ctx_of
from hookwise.dashboard.app_view import open_app, render

router = APIRouter(prefix="/dashboard/apps/{app_ref}", include_in_schema=False)

PAGE = 100


@router.get("/event-types")
async def catalog_page(
    request: Request, app_ref: str, cursor: Annotated[str | None, Query(max_length=256)] = None
) -> Response:
    """The catalog receivers read, by name, paged (archived types left out)."""
    app = await open_app(request, app_ref)
    if isinstance(app, Response):
        return app
    p = await ctx_of(request).store.resources.list_event_types(
        limit=PAGE, cursor=cursor, include_archived=False
    )
    types = [
        {
            "name": e.name,
            "description": e.description,
            "schema": orjson.dumps(e.schema, option=orjson.OPT_INDENT_2).decode()
            if e.schema is not None
            else None,
        }
        for e in p.data
    ]
    next_url = None
    if p.next_cursor:
        next_url = f"/dashboard/apps/{app.id}/event-types?" + urlencode({"cursor": p.next_cursor})
    context = {"types": types, "next_url": next_url, "paged": cursor is not None}
    return render(request, "event_types.html", app, "event-types", context)
