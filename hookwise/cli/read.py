"""Read commands: ``hookwise apps|endpoints|messages|attempts list``, straight from the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from hookwise.api import views
from hookwise.cli.common import DbOpt, run, settings_from
from hookwise.domain.errors import HookwiseError
from hookwise.domain.models import DeliveryFilter
from hookwise.settings import Settings
from hookwise.store import Store

AppOpt = Annotated[str, typer.Option("--app", help="app id or uid")]
LimitOpt = Annotated[int, typer.Option(help="rows at most", min=1, max=1000)]
JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON object per line")]

apps_app = typer.Typer(help="Apps (tenants).", no_args_is_help=True)
endpoints_app = typer.Typer(help="Endpoints and their health.", no_args_is_help=True)
messages_app = typer.Typer(help="Accepted messages.", no_args_is_help=True)
attempts_app = typer.Typer(help="The attempt log.", no_args_is_help=True)


def _read(db: str | None, query: Callable[[Store], Awaitable[list[dict[str, Any]]]]) -> Any:
    from hookwise.composition import open_configured_store

    settings: Settings = settings_from(db=db)

    async def go() -> list[dict[str, Any]]:
        store = await open_configured_store(settings)
        try:
            return await query(store)
        finally:
            await store.close()

    try:
        return run(go())
    except HookwiseError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


def _show(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        for row in rows:
            typer.echo(orjson.dumps(row).decode())
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    Console().print(table)


@apps_app.command("list")
def apps_list(db: DbOpt = None, limit: LimitOpt = 50, as_json: JsonOpt = False) -> None:
    """Apps, newest first."""

    async def q(store: Store) -> list[dict[str, Any]]:
        return [
            views.app(a) for a in (await store.resources.list_apps(limit=limit, cursor=None)).data
        ]

    _show(_read(db, q), ["id", "uid", "name", "created_at"], as_json)


@endpoints_app.command("list")
def endpoints_list(
    app: AppOpt, db: DbOpt = None, limit: LimitOpt = 50, as_json: JsonOpt = False
) -> None:
    """An app's endpoints with status and consecutive failures."""

    async def q(store: Store) -> list[dict[str, Any]]:
        app_id = (await store.resources.get_app(app)).id
        page = await store.resources.list_endpoints(app_id, limit=limit, cursor=None)
        return [views.endpoint(e) for e in page.data]

    cols = ["id", "url", "status", "consecutive_failures", "paused_reason"]
    _show(_read(db, q), cols, as_json)


@messages_app.command("list")
def messages_list(
    app: AppOpt,
    db: DbOpt = None,
    limit: LimitOpt = 50,
    event_type: Annotated[str | None, typer.Option(help="only this event type")] = None,
    as_json: JsonOpt = False,
) -> None:
    """An app's messages, newest first."""

    async def q(store: Store) -> list[dict[str, Any]]:
        app_id = (await store.resources.get_app(app)).id
        page = await store.messages.list_messages(
            app_id, limit=limit, cursor=None, event_type=event_type
        )
        return [views.message(m) for m in page.data]

    _show(_read(db, q), ["id", "event_type", "event_id", "created_at"], as_json)


@attempts_app.command("list")
def attempts_list(
    app: AppOpt,
    db: DbOpt = None,
    limit: LimitOpt = 50,
    message: Annotated[str | None, typer.Option(help="only this message id")] = None,
    endpoint: Annotated[str | None, typer.Option(help="only this endpoint id")] = None,
    as_json: JsonOpt = False,
) -> None:
    """An app's attempts, newest first: did it arrive?"""

    async def q(store: Store) -> list[dict[str, Any]]:
        app_id = (await store.resources.get_app(app)).id
        f = DeliveryFilter(message_id=message, endpoint_id=endpoint)
        page = await store.messages.list_attempts(app_id, f, limit=limit, cursor=None)
        return [views.attempt(a) for a in page.data]

    cols = ["started_at", "message_id", "attempt_number", "status", "response_status_code",
            "duration_ms", "error_message"]  # fmt: skip
    _show(_read(db, q), cols, as_json)


def register(app: typer.Typer) -> None:
    """Add the read commands to the main CLI."""
    app.add_typer(apps_app, name="apps")
    app.add_typer(endpoints_app, name="endpoints")
    app.add_typer(messages_app, name="messages")
    app.add_typer(attempts_app, name="attempts")
