"""``hookwise listen``: an app's deliveries forwarded to a local URL, with no tunnel."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Annotated

import typer

from hookwise.cli.common import run
from hookwise.client.listener import Forwarded, Listener, ListenRefused
from hookwise.domain.errors import InvalidInput
from hookwise.domain.relay import Ready

#: Exit codes: 0 stopped by Ctrl-C or SIGTERM; 1 the server refused (bad key, unknown app);
#: 2 a bad option.
REFUSED = 1


def _default_name() -> str:
    """The listener's name when none is given: this machine's, so that a developer's
    reconnections reuse one relay endpoint and two laptops never share one."""
    host = "".join(c if c.isalnum() or c in "._-" else "-" for c in socket.gethostname())
    return (host.strip("._-") or "default")[:63]


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def _ready(forward_to: str) -> Callable[[Ready], None]:
    def show(r: Ready) -> None:
        events = ", ".join(r.events) or "all events"
        typer.echo(
            f"{_clock(time.time())}  Ready: relay endpoint {r.endpoint_id} (listener {r.name!r},"
            f" {events}) → {forward_to}\n          Signing secret: {r.secret}"
        )

    return show


def _forwarded(f: Forwarded) -> None:
    a, req = f.answer, f.request
    status = str(a.status) if a.status is not None else f"error: {a.error}"
    retry = f"  (attempt {req.attempt})" if req.attempt > 1 else ""
    typer.echo(
        f"{_clock(f.at)}  {req.event_type}  {status}  {a.duration_ms:.0f} ms"
        f"  {req.message_id}{retry}"
    )


def _lost(why: str) -> None:
    typer.echo(f"{_clock(time.time())}  connection lost ({why}); reconnecting", err=True)


async def _listen(listener: Listener) -> ListenRefused | None:
    """Listen until a signal; the refusal that ended it, if the server refused it (answered
    here, before ``run`` turns every hookwise error into a line without the status)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await listener.run(stop)
    except ListenRefused as exc:
        return exc
    return None


def listen(
    app: Annotated[str, typer.Option("--app", help="the app (id or uid) to listen to")],
    forward_to: Annotated[
        str, typer.Option("--forward-to", help="the local URL each delivery is POSTed to")
    ],
    events: Annotated[
        list[str] | None,
        typer.Option("--events", help="event types or 'prefix.*' (repeat or comma-separate)"),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="the listener's name: the same name reuses its relay endpoint"),
    ] = None,
    url: Annotated[
        str, typer.Option("--url", envvar="HOOKWISE_URL", help="the hookwise server")
    ] = "http://127.0.0.1:8000",
    key: Annotated[
        str | None, typer.Option("--key", envvar="HOOKWISE_KEY", help="an app or admin API key")
    ] = None,
) -> None:
    """Forward an app's deliveries to a local URL over an outbound connection (no tunnel).

    Prints one line per event: time, event type, local status, latency. Exits 1 when the
    server refuses (a bad key, an unknown app), 2 on a bad option.
    """
    if not key:
        typer.echo("error: an API key is needed: --key or HOOKWISE_KEY", err=True)
        raise typer.Exit(2)
    filters = tuple(e.strip() for v in events or () for e in v.split(",") if e.strip())
    try:
        listener = Listener(
            url, key, app, forward_to, name=name or _default_name(), events=filters,
            on_ready=_ready(forward_to),
            on_forwarded=_forwarded, on_disconnect=_lost,
        )  # fmt: skip
    except InvalidInput as exc:
        typer.echo(f"error: --{exc.message}", err=True)
        raise typer.Exit(2) from exc
    refused = run(_listen(listener))
    if refused is not None:
        typer.echo(f"error: {refused.message} (HTTP {refused.status})", err=True)
        raise typer.Exit(REFUSED)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add ``listen`` to the main CLI."""
    app.command()(listen)
