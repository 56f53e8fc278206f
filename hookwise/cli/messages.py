"""``hookwise send``, ``messages list``, ``attempts list [--follow]``, ``jobs list|show``: what
was sent, and did it arrive."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import orjson
import typer

from hookwise.cli.command import AppOpt, Conn, command, first
from hookwise.cli.common import EXIT_INTERRUPTED, EXIT_USAGE, fail
from hookwise.client import AsyncClient

messages_app = typer.Typer(help="Accepted messages.", no_args_is_help=True)
attempts_app = typer.Typer(help="The attempt log.", no_args_is_help=True)
jobs_app = typer.Typer(help="Jobs: async work reported item by item.", no_args_is_help=True)
sending = typer.Typer()  # holds `send`, added to the main CLI as a top-level command
Json = dict[str, Any]

FollowOpt = Annotated[
    bool, typer.Option("--follow", "-f", help="then print new attempts as they come, until Ctrl-C")
]
IntervalOpt = Annotated[float, typer.Option(help="seconds between looks with --follow", min=0.05)]
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


@command(sending, "send")
def send(
    conn: Conn,
    app: AppOpt,
    event_type: Annotated[str, typer.Argument(help="e.g. invoice.paid")],
    payload: Annotated[str, typer.Argument(help="the payload as JSON; - reads stdin")] = "{}",
    event_id: Annotated[str | None, typer.Option(help="your id: a repeat is a no-op")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="a tag (repeat it)")] = None,
) -> None:
    """Send an event to every endpoint of the app that subscribes to its type."""
    text = sys.stdin.read() if payload == "-" else payload
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        fail(f"the payload is not JSON: {exc}", EXIT_USAGE)
    sent = conn.call(
        lambda hw: hw.messages.create(app, event_type, data, event_id=event_id, tags=tag)
    )
    conn.one(sent, "message accepted")


@command(messages_app, "list", listing=True)
def messages_list(
    conn: Conn,
    app: AppOpt,
    event_type: Annotated[str | None, typer.Option(help="only this event type")] = None,
) -> None:
    """An app's messages, newest first."""
    conn.rows(
        lambda hw, n: hw.messages.list(app, event_type=event_type, page_size=n),
        ["id", "event_type", "event_id", "created_at"],
    )


@command(attempts_app, "list", listing=True)
def attempts_list(
    conn: Conn,
    app: AppOpt,
    message: Annotated[str | None, typer.Option(help="only this message id")] = None,
    endpoint: Annotated[str | None, typer.Option(help="only this endpoint id")] = None,
    follow: FollowOpt = False,
    interval: IntervalOpt = 1.0,
) -> None:
    """An app's attempts, newest first: did it arrive? With --follow, oldest first, then each
    new one on its own line as it happens."""

    def page(hw: AsyncClient, n: int) -> Any:
        return hw.attempts.list(app, message_id=message, endpoint_id=endpoint, page_size=n)

    if not follow:
        conn.rows(page, ATTEMPT_COLUMNS)
        return

    async def tail(hw: AsyncClient) -> None:
        seen: set[str] = set()
        while True:
            rows = await first(page(hw, conn.limit), conn.limit)
            for row in reversed(rows):
                if row["id"] not in seen:
                    seen.add(row["id"])
                    typer.echo(orjson.dumps(row).decode() if conn.as_json else attempt_line(row))
            await asyncio.sleep(interval)

    try:
        conn.call(tail)
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


@command(jobs_app, "list", listing=True)
def jobs_list(
    conn: Conn,
    app: AppOpt,
    status: Annotated[str | None, typer.Option(help="only jobs in this status")] = None,
) -> None:
    """An app's jobs, newest first."""
    conn.rows(
        lambda hw, n: hw.jobs.list(app, status=status, page_size=n),
        ["id", "type", "status", "total", "succeeded", "failed", "created_at"],
    )


@command(jobs_app, "show")
def jobs_show(
    conn: Conn,
    app: AppOpt,
    job: Annotated[str, typer.Argument(help="the job's id (job_…)")],
    results: Annotated[int, typer.Option(help="first results shown", min=0, max=1000)] = 20,
) -> None:
    """One job as polled: status, counts, summary and its first results."""
    conn.one(conn.call(lambda hw: hw.jobs.get(app, job, results=results)), "job")


def register(app: typer.Typer) -> None:
    """Add the message, attempt and job commands to the main CLI."""
    app.registered_commands += sending.registered_commands
    app.add_typer(messages_app, name="messages")
    app.add_typer(attempts_app, name="attempts")
    app.add_typer(jobs_app, name="jobs")
