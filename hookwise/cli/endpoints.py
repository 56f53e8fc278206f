"""``hookwise endpoints list|create|update|pause|resume|rotate-secret|test``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hookwise.cli.common import EXIT_USAGE, fail
from hookwise.cli.output import (
    AppOpt,
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

endpoints_app = typer.Typer(help="Endpoints and their health.", no_args_is_help=True)

EndpointArg = Annotated[str, typer.Argument(help="the endpoint's id (ep_…)")]
EventsOpt = Annotated[
    list[str] | None, typer.Option("--event", help="an event type or prefix (repeat it)")
]
RetryOpt = Annotated[
    str | None, typer.Option("--retry-schedule", help="seconds before each retry: 1,2,4,8")
]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help="seconds, at most 30")]
DescriptionOpt = Annotated[str | None, typer.Option("--description")]
GraceOpt = Annotated[
    float | None,
    typer.Option("--grace", help="seconds the old secret keeps signing (default: a day)"),
]
COLUMNS = ["id", "url", "status", "consecutive_failures", "paused_reason"]


def _schedule(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail("--retry-schedule takes seconds separated by commas, e.g. 1,2,4,8", EXIT_USAGE)


@endpoints_app.command("list")
def endpoints_list(
    app: AppOpt,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    limit: LimitOpt = 50,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """An app's endpoints with status and consecutive failures."""

    async def go(hw: AsyncClient) -> list[dict[str, Any]]:
        return await first(hw.endpoints.list(app, page_size=limit), limit)

    show(call(db, url, key, go), COLUMNS, as_json, wide)


@endpoints_app.command("create")
def endpoints_create(
    app: AppOpt,
    endpoint_url: Annotated[str, typer.Argument(metavar="URL", help="where to deliver")],
    events: EventsOpt = None,
    retry_schedule: RetryOpt = None,
    timeout: TimeoutOpt = None,
    description: DescriptionOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe a URL to an app's events (all of them unless --event is given)."""

    async def go(hw: AsyncClient) -> dict[str, Any]:
        fields: dict[str, Any] = {"timeout_seconds": timeout, "description": description}
        return await hw.endpoints.create(
            app,
            endpoint_url,
            events=events or None,
            retry_schedule=_schedule(retry_schedule),
            **{k: v for k, v in fields.items() if v is not None},
        )

    show_one(call(db, url, key, go), as_json, "endpoint created")


@endpoints_app.command("update")
def endpoints_update(
    app: AppOpt,
    endpoint: EndpointArg,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="a new URL")] = None,
    events: EventsOpt = None,
    retry_schedule: RetryOpt = None,
    timeout: TimeoutOpt = None,
    description: DescriptionOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an endpoint's URL, events, retry schedule, timeout or description."""
    fields = {
        "url": endpoint_url,
        "events": events or None,
        "timeout_seconds": timeout,
        "retry_schedule": _schedule(retry_schedule),
        "description": description,
    }
    changes = {k: v for k, v in fields.items() if v is not None}
    if not changes:
        fail("nothing to change: give --endpoint-url, --event, --retry-schedule …", EXIT_USAGE)
    _update(app, endpoint, changes, db, url, key, as_json, "endpoint updated")


def _update(
    app: str,
    endpoint: str,
    changes: dict[str, Any],
    db: str | None,
    url: str | None,
    key: str | None,
    as_json: bool,
    title: str,
) -> None:
    async def go(hw: AsyncClient) -> dict[str, Any]:
        return await hw.endpoints.update(app, endpoint, **changes)

    show_one(call(db, url, key, go), as_json, title)


@endpoints_app.command("pause")
def endpoints_pause(
    app: AppOpt,
    endpoint: EndpointArg,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hold an endpoint's deliveries (nothing is sent, nothing is lost)."""
    _update(app, endpoint, {"status": "paused"}, db, url, key, as_json, "endpoint paused")


@endpoints_app.command("resume")
def endpoints_resume(
    app: AppOpt,
    endpoint: EndpointArg,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-enable an endpoint: its held deliveries are released in the background."""
    _update(app, endpoint, {"status": "active"}, db, url, key, as_json, "endpoint resumed")


@endpoints_app.command("rotate-secret")
def endpoints_rotate_secret(
    app: AppOpt,
    endpoint: EndpointArg,
    grace: GraceOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give an endpoint a new signing secret and print it; the old one signs beside it for the
    grace time, so the receiver can switch without losing a delivery."""

    async def go(hw: AsyncClient) -> dict[str, Any]:
        return await hw.endpoints.rotate_secret(app, endpoint, grace_seconds=grace)

    rotated = call(db, url, key, go)
    if as_json:
        show_one(rotated, True)
    else:
        typer.echo(rotated["key"])


@endpoints_app.command("test")
def endpoints_test(
    app: AppOpt,
    endpoint: EndpointArg,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a signed webhook.test ping now and print its attempt; exit 1 when it failed."""

    async def go(hw: AsyncClient) -> dict[str, Any]:
        return await hw.endpoints.test(app, endpoint)

    attempt = call(db, url, key, go)
    show_one(attempt, as_json, "test attempt")
    if attempt.get("status") != "succeeded":
        raise typer.Exit(1)
