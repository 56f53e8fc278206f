"""``hookwise endpoints list|create|update|pause|resume|rotate-secret|test|recover``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from hookwise.cli.command import AppOpt, Conn, command
from hookwise.cli.common import EXIT_USAGE, fail
from hookwise.cli.output import progress
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
POLL_SECONDS, STALL_SECONDS = 0.5, 10.0  # recover: look every 0.5 s; stop after 10 s still
GraceOpt = Annotated[
    float | None,
    typer.Option("--grace", help="seconds the old secret keeps signing (default: a day)"),
]


def _fields(**given: Any) -> dict[str, Any]:
    """The fields that were given, ``--retry-schedule 1,2,4`` read as numbers."""
    schedule = given.get("retry_schedule")
    if schedule is not None:
        try:
            given["retry_schedule"] = [float(x) for x in schedule.split(",") if x.strip()]
        except ValueError:
            fail("--retry-schedule takes seconds separated by commas, e.g. 1,2,4,8", EXIT_USAGE)
    return {k: v for k, v in given.items() if v not in (None, [])}


@command(endpoints_app, "list", listing=True)
def endpoints_list(conn: Conn, app: AppOpt) -> None:
    """An app's endpoints with status and consecutive failures."""
    cols = ["id", "url", "status", "consecutive_failures", "paused_reason"]
    conn.rows(lambda hw, n: hw.endpoints.list(app, page_size=n), cols)


@command(endpoints_app, "create")
def endpoints_create(
    conn: Conn,
    app: AppOpt,
    endpoint_url: Annotated[str, typer.Argument(help="where to deliver")],
    events: EventsOpt = None,
    retry_schedule: RetryOpt = None,
    timeout: TimeoutOpt = None,
    description: DescriptionOpt = None,
) -> None:
    """Subscribe a URL to an app's events (all of them unless --event is given)."""
    fields = _fields(
        events=events,
        retry_schedule=retry_schedule,
        timeout_seconds=timeout,
        description=description,
    )
    made = conn.call(lambda hw: hw.endpoints.create(app, endpoint_url, **fields))
    conn.one(made, "endpoint created")


@command(endpoints_app, "update")
def endpoints_update(
    conn: Conn,
    app: AppOpt,
    endpoint: EndpointArg,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="a new URL")] = None,
    events: EventsOpt = None,
    retry_schedule: RetryOpt = None,
    timeout: TimeoutOpt = None,
    description: DescriptionOpt = None,
) -> None:
    """Change an endpoint's URL, events, retry schedule, timeout or description."""
    changes = _fields(
        url=endpoint_url,
        events=events,
        retry_schedule=retry_schedule,
        timeout_seconds=timeout,
        description=description,
    )
    if not changes:
        fail("nothing to change: give --endpoint-url, --event, --retry-schedule …", EXIT_USAGE)
    _update(conn, app, endpoint, changes, "endpoint updated")


def _update(conn: Conn, app: str, endpoint: str, changes: dict[str, Any], title: str) -> None:
    conn.one(conn.call(lambda hw: hw.endpoints.update(app, endpoint, **changes)), title)


@command(endpoints_app, "pause")
def endpoints_pause(conn: Conn, app: AppOpt, endpoint: EndpointArg) -> None:
    """Hold an endpoint's deliveries (nothing is sent, nothing is lost)."""
    _update(conn, app, endpoint, {"status": "paused"}, "endpoint paused")


@command(endpoints_app, "resume")
def endpoints_resume(conn: Conn, app: AppOpt, endpoint: EndpointArg) -> None:
    """Re-enable an endpoint: its held deliveries are released in the background."""
    _update(conn, app, endpoint, {"status": "active"}, "endpoint resumed")


@command(endpoints_app, "rotate-secret")
def endpoints_rotate_secret(
    conn: Conn, app: AppOpt, endpoint: EndpointArg, grace: GraceOpt = None
) -> None:
    """Give an endpoint a new signing secret and print it; the old one signs beside it for the
    grace time, so the receiver can switch without losing a delivery."""
    rotated = conn.call(lambda hw: hw.endpoints.rotate_secret(app, endpoint, grace_seconds=grace))
    if conn.as_json:
        conn.one(rotated, "secret rotated")
    else:
        typer.echo(rotated["key"])


@command(endpoints_app, "test")
def endpoints_test(conn: Conn, app: AppOpt, endpoint: EndpointArg) -> None:
    """Send a signed webhook.test ping now and print its attempt; exit 1 when it failed."""
    attempt = conn.call(lambda hw: hw.endpoints.test(app, endpoint))
    conn.one(attempt, "test attempt")
    if attempt.get("status") != "succeeded":
        raise typer.Exit(1)


@command(endpoints_app, "recover")
def endpoints_recover(
    conn: Conn,
    app: AppOpt,
    endpoint: EndpointArg,
    since: Annotated[str, typer.Option(help="RFC 3339 time: failed deliveries created since")],
) -> None:
    """Re-queue an endpoint's failed deliveries created since a time, with a progress bar
    until the background operation is done (Ctrl-C stops watching, not the operation)."""

    async def go(hw: AsyncClient) -> dict[str, Any]:
        op = await hw.endpoints.recover(app, endpoint, since)
        last, still = -1, 0.0
        with progress("re-queueing failed deliveries") as update:
            while op.get("status") == "running" and still < STALL_SECONDS:
                done = int(op.get("done") or 0)
                update(done, op.get("total"))
                last, still = done, (still + POLL_SECONDS if done == last else 0.0)
                await asyncio.sleep(POLL_SECONDS)
                op = await hw.operations.get(app, op["id"])
        if op.get("status") == "running":  # no worker is stepping it (e.g. `hookwise api` alone)
            typer.echo(f"still running: a hookwise serve or worker finishes {op['id']}", err=True)
        return op

    conn.one(conn.call(go), "recover")
