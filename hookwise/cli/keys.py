"""``hookwise keys create|list|revoke``: API keys from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hookwise.cli.common import EXIT_USAGE, fail
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

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    admin: Annotated[bool, typer.Option("--admin", help="a key for everything")] = False,
    app_ref: Annotated[str | None, typer.Option("--app", help="a key scoped to this app")] = None,
    name: Annotated[str, typer.Option(help="a label")] = "cli",
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key and print it (the only time it is shown)."""
    if admin == bool(app_ref):
        fail("give exactly one of --admin or --app APP", EXIT_USAGE)

    async def go(hw: AsyncClient) -> dict[str, Any]:
        return await hw.keys.create(name, app_id=app_ref)

    created = call(db, url, key, go)
    if as_json:
        show_one(created, True)
    else:
        typer.echo(created["key"])


@keys_app.command("list")
def keys_list(
    app_ref: Annotated[str | None, typer.Option("--app", help="only this app's keys")] = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    limit: LimitOpt = 50,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Keys, with their prefix and scope (never the key itself)."""

    async def go(hw: AsyncClient) -> list[dict[str, Any]]:
        app_id = (await hw.apps.get(app_ref))["id"] if app_ref else None
        return await first(hw.keys.list(app_id=app_id, page_size=limit), limit)

    cols = ["id", "name", "prefix", "scope", "app_id", "created_at"]
    show(call(db, url, key, go), cols, as_json, wide)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id (key_…), from keys list")],
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
) -> None:
    """Revoke a key: it stops working at once."""

    async def go(hw: AsyncClient) -> None:
        await hw.keys.revoke(key_id)

    call(db, url, key, go)
    typer.echo(f"revoked {key_id}", err=True)
