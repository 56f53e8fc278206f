"""``hookwise send``, ``messages list``, ``attempts list [--follow]``, ``jobs list|show``: what
was sent, and did it arrive."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import orjson
import typer

from hookwise.cli.common import EXIT_INTERRUPTED, EXIT_USAGE, fail
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

messages_app = typer.Typer(help="Accepted messages.", no_args_is_help=True)
attempts_app = typer.Typer(help="The attempt log.", no_args_is_help=True)
jobs_app = typer.Typer(help="Jobs: async work reported item by item.", no_args_is_help=True)
Json = dict[str, Any]
FollowOpt = Annotated[
    bool, typer.Option("--follow", "-f", help="then print new attempts as they come, until Ctrl-C")
]
IntervalOpt = Annotated[float, typer.Option(help="seconds between looks with --follow", min=0.05)]
EventIdOpt = Annotated[str | None, typer.Option(help="your id: a repeat is not sent again")]

ATTEMPT_COLUMNS = [
    "started_at",
    "id",
    "message_id",
    "endpoint_id",
    "attempt_number",
    "status",
    "response_status_code",
    "duration_ms",
    "error_message",
]


def send(
    app: AppOpt,
    event_type: Annotated[str, typer.Argument(help="e.g. invoice.paid")],
    payload: Annotated[
        str, typer.Argument(help="the payload as JSON; - reads it from stdin")
    ] = "{}",
    event_id: EventIdOpt = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="a tag (repeat it)")] = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send an event to every endpoint of the app that subscribes to its type."""
    text = sys.stdin.read() if payload == "-" else payload
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        fail(f"the payload is not JSON: {exc}", EXIT_USAGE)

    async def go(hw: AsyncClient) -> Json:
        return await hw.messages.create(app, event_type, data, event_id=event_id, tags=tag)

    show_one(call(db, url, key, go), as_json, "message accepted")


@messages_app.command("list")
def messages_list(
    app: AppOpt,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    limit: LimitOpt = 50,
    event_type: Annotated[str | None, typer.Option(help="only this event type")] = None,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """An app's messages, newest first."""

    async def go(hw: AsyncClient) -> list[Json]:
        return await first(hw.messages.list(app, event_type=event_type, page_size=limit), limit)

    show(call(db, url, key, go), ["id", "event_type", "event_id", "created_at"], as_json, wide)


@attempts_app.command("list")
def attempts_list(
    app: AppOpt,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    limit: LimitOpt = 50,
    message: Annotated[str | None, typer.Option(help="only this message id")] = None,
    endpoint: Annotated[str | None, typer.Option(help="only this endpoint id")] = None,
    follow: FollowOpt = False,
    interval: IntervalOpt = 1.0,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """An app's attempts, newest first: did it arrive? With --follow, oldest first, then each
    new one on its own line as it happens."""

    def page(hw: AsyncClient) -> Any:
        return hw.attempts.list(app, message_id=message, endpoint_id=endpoint, page_size=limit)

    if not follow:

        async def go(hw: AsyncClient) -> list[Json]:
            return await first(page(hw), limit)

        show(call(db, url, key, go), ATTEMPT_COLUMNS, as_json, wide)
        return

    async def tail(hw: AsyncClient) -> None:
        seen: set[str] = set()
        while True:
            rows = await first(page(hw), limit)
            for row in reversed(rows):
                if row["id"] not in seen:
                    seen.add(row["id"])
                    typer.echo(orjson.dumps(row).decode() if as_json else attempt_line(row))
            await asyncio.sleep(interval)

    try:
        call(db, url, key, tail)
    except typer.Exit as exc:
        if exc.exit_code != EXIT_INTERRUPTED:  # Ctrl-C is how --follow ends
            raise


def attempt_line(a: Json) -> str:
    """One attempt on one line, for --follow."""
    code = a.get("response_status_code") or "-"
    error = f"  {a['error_message']}" if a.get("error_message") else ""
    ms = a.get("duration_ms")
    took = f"{ms:.0f} ms" if isinstance(ms, (int, float)) else "-"
    return (
        f"{a['started_at']}  {a['message_id']}  {a['endpoint_id']}  #{a['attempt_number']}"
        f"  {a['status']}  {code}  {took}{error}"
    )


@jobs_app.command("list")
def jobs_list(
    app: AppOpt,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    limit: LimitOpt = 50,
    status: Annotated[str | None, typer.Option(help="only jobs in this status")] = None,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """An app's jobs, newest first."""

    async def go(hw: AsyncClient) -> list[Json]:
        return await first(hw.jobs.list(app, status=status, page_size=limit), limit)

    cols = ["id", "type", "status", "total", "succeeded", "failed", "created_at"]
    show(call(db, url, key, go), cols, as_json, wide)


@jobs_app.command("show")
def jobs_show(
    app: AppOpt,
    job: Annotated[str, typer.Argument(help="the job's id (job_…)")],
    results: Annotated[int, typer.Option(help="first results shown", min=0, max=1000)] = 20,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One job as polled: status, counts, summary and its first results."""

    async def go(hw: AsyncClient) -> Json:
        return await hw.jobs.get(app, job, results=results)

    show_one(call(db, url, key, go), as_json, "job")


def register(app: typer.Typer) -> None:
    """Add the message, attempt and job commands to the main CLI."""
    app.command()(send)
    app.add_typer(messages_app, name="messages")
    app.add_typer(attempts_app, name="attempts")
    app.add_typer(jobs_app, name="jobs")
