"""``hookwise apps list|create``: the tenants."""

from __future__ import annotations

from typing import Annotated

import typer

from hookwise.cli.output import (
    DbOpt,
    JsonOpt,
    KeyOpt,
    LimitOpt,
    UrlOpt,
    WideOpt,
    call,
    first,
    show,
    show_one,
)
from hookwise.client import AsyncClient

apps_app = typer.Typer(help="Apps (tenants).", no_args_is_help=True)


@apps_app.command("list")
def apps_list(
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    limit: LimitOpt = 50,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Apps, newest first."""

    async def go(hw: AsyncClient) -> list[dict[str, object]]:
        return await first(hw.apps.list(page_size=limit), limit)

    show(call(db, url, key, go), ["id", "uid", "name", "created_at"], as_json, wide)


@apps_app.command("create")
def apps_create(
    name: Annotated[str, typer.Argument(help="what to call it")],
    uid: Annotated[str | None, typer.Option(help="your own id for it, usable in paths")] = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an app (a tenant: one customer of yours, with its endpoints and messages)."""

    async def go(hw: AsyncClient) -> dict[str, object]:
        return await hw.apps.create(name, uid=uid)

    show_one(call(db, url, key, go), as_json, "app created")
