"""``hookwise apps list|create``: the tenants."""

from __future__ import annotations

from typing import Annotated

import typer

from hookwise.cli.command import Conn, command

apps_app = typer.Typer(help="Apps (tenants).", no_args_is_help=True)


@command(apps_app, "list", listing=True)
def apps_list(conn: Conn) -> None:
    """Apps, newest first."""
    conn.rows(lambda hw, n: hw.apps.list(page_size=n), ["id", "uid", "name", "created_at"])


@command(apps_app, "create")
def apps_create(
    conn: Conn,
    name: Annotated[str, typer.Argument(help="what to call it")],
    uid: Annotated[str | None, typer.Option(help="your own id for it, usable in paths")] = None,
) -> None:
    """Create an app (a tenant: one customer of yours, with its endpoints and messages)."""
    conn.one(conn.call(lambda hw: hw.apps.create(name, uid=uid)), "app created")
