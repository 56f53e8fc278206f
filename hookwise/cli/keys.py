"""``hookwise keys create|list|revoke``: API keys from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hookwise.cli.command import Conn, command
from hookwise.cli.common import EXIT_USAGE, fail
from hookwise.client import AsyncClient

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


@command(keys_app, "create")
def keys_create(
    conn: Conn,
    admin: Annotated[bool, typer.Option("--admin", help="a key for everything")] = False,
    app_ref: Annotated[str | None, typer.Option("--app", help="a key scoped to this app")] = None,
    name: Annotated[str, typer.Option(help="a label")] = "cli",
) -> None:
    """Create an API key and print it (the only time it is shown)."""
    if admin == bool(app_ref):
        fail("give exactly one of --admin or --app APP", EXIT_USAGE)
    created = conn.call(lambda hw: hw.keys.create(name, app_id=app_ref))
    if conn.as_json:
        conn.one(created, "key created")
    else:
        typer.echo(created["key"])


@command(keys_app, "list", listing=True)
def keys_list(
    conn: Conn,
    app_ref: Annotated[str | None, typer.Option("--app", help="only this app's keys")] = None,
) -> None:
    """Keys, with their prefix and scope (never the key itself)."""

    async def listing(hw: AsyncClient, n: int) -> Any:
        app_id = (await hw.apps.get(app_ref))["id"] if app_ref else None
        async for row in hw.keys.list(app_id=app_id, page_size=n):
            yield row

    conn.rows(listing, ["id", "name", "prefix", "scope", "app_id", "created_at"])


@command(keys_app, "revoke")
def keys_revoke(
    conn: Conn, key_id: Annotated[str, typer.Argument(help="the key's id (key_…)")]
) -> None:
    """Revoke a key: it stops working at once."""
    conn.call(lambda hw: hw.keys.revoke(key_id))
    typer.echo(f"revoked {key_id}", err=True)
