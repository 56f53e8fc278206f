"""``hookwise keys create``: API keys from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from hookwise.cli.common import DbOpt, run, settings_from

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    admin: Annotated[bool, typer.Option("--admin", help="a key for everything")] = False,
    app_ref: Annotated[str | None, typer.Option("--app", help="a key scoped to this app")] = None,
    name: Annotated[str, typer.Option(help="a label")] = "cli",
    db: DbOpt = None,
) -> None:
    """Create an API key and print it (the only time it is shown)."""
    if admin == bool(app_ref):
        typer.echo("error: give exactly one of --admin or --app APP", err=True)
        raise typer.Exit(2)

    async def go() -> str:
        from hookwise.api.auth import create_key
        from hookwise.composition import open_configured_store

        store = await open_configured_store(settings_from(db=db))
        try:
            app_id = (await store.resources.get_app(app_ref)).id if app_ref else None
            _, key = await create_key(store, name, app_id)
            return key
        finally:
            await store.close()

    typer.echo(run(go()))
