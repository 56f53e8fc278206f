"""``hookwise apps list|create|portal-link``: the tenants, and links into their portal."""

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


@command(apps_app, "portal-link")
def apps_portal_link(
    conn: Conn,
    app_ref: Annotated[str, typer.Argument(help="the app's id or uid")],
    expires_in: Annotated[
        int | None, typer.Option(help="seconds until the unused link expires (60-86400)")
    ] = None,
) -> None:
    """Print a single-use link into the app's customer portal (hand it to the customer)."""
    link = conn.call(lambda hw: hw.apps.portal_link(app_ref, expires_in=expires_in))
    if conn.as_json:
        conn.one(link, "portal link created")
    else:
        typer.echo(link["url"])
