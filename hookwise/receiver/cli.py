"""``hookwise receive``: run a receiver as a service, a worker, or inspect its dead letters.

    hookwise receive --app myapp.hooks:receiver --port 3000          # HTTP + processing
    hookwise receive --app myapp.hooks:receiver --no-process          # HTTP only
    hookwise receive --app myapp.hooks:receiver --worker              # processing only
    hookwise receive --app myapp.hooks:receiver --accept-hex-only     # a hex-only sender
    hookwise receive --app myapp.hooks:receiver \
        --status-url 'https://api.example.com/job-status/{id}' \
        --job-shape '{"paging": "single", "results": "result"}'         # another sender's API
    hookwise receive dead list --app myapp.hooks:receiver
    hookwise receive dead retry --all --inbox sqlite:///hooks.db

``--app`` names a ``Receiver`` (or a function returning one) as ``module:attribute`` or
``path/to/file.py:attribute``. ``receive_app`` is mounted by the main CLI as ``receive``.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer

from hookwise.domain.errors import HookwiseError, InvalidInput
from hookwise.domain.plurals import plural
from hookwise.receiver.inbox import Inbox, InboxItem, State, open_inbox
from hookwise.receiver.processor import Processor
from hookwise.receiver.receiver import Receiver
from hookwise.receiver.service import ReceiverService, stop_on_signals
from hookwise.receiver.worker import work

T = TypeVar("T")

receive_app = typer.Typer(
    help="Receive webhooks: verify, store, ACK fast, process in the background.",
    no_args_is_help=False,
)
dead_app = typer.Typer(help="Items whose handlers kept failing.", no_args_is_help=True)
receive_app.add_typer(dead_app, name="dead")

AppOption = Annotated[
    str | None,
    typer.Option(
        "--app",
        envvar="HOOKWISE_RECEIVER_APP",
        help="The Receiver: module:attribute or path/to/file.py:attribute.",
    ),
]
InboxOption = Annotated[
    str | None,
    typer.Option("--inbox", help="Inbox URL instead of --app: sqlite:///file.db or postgresql://…"),
]


def load_receiver(spec: str, hint: str = "") -> Receiver:
    """Import ``module:attribute`` (or ``file.py:attribute``); call it if it is a factory."""
    target, _, attr = spec.partition(":")
    attr = attr or "receiver"
    try:
        if target.endswith(".py"):
            path = Path(target).resolve()
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or module_spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[path.stem] = module
            module_spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(target)
        obj: Any = getattr(module, attr)
        if not isinstance(obj, Receiver) and callable(obj):
            obj = obj()
    except (ImportError, AttributeError, OSError) as exc:
        raise _unloadable(spec, str(exc) + hint) from exc
    except Exception as exc:  # the user's code failed as it ran: a missing variable, …
        why = f"{type(exc).__name__}: {exc} (raised by its code){hint}"
        raise _unloadable(spec, why) from exc
    if not isinstance(obj, Receiver):
        raise _unloadable(spec, "it is not a Receiver" + hint)
    return obj


def _unloadable(spec: str, why: str) -> typer.Exit:
    """One line, no traceback: the user's module is theirs to fix (or to do without: the
    inbox commands take ``--inbox URL`` and import nothing)."""
    typer.echo(f"error: --app {spec}: cannot load it: {why}", err=True)
    return typer.Exit(2)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when it is installed (lower ACK latency), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _inbox(ctx: typer.Context, app: str | None, inbox: str | None) -> Inbox:
    app = app or (ctx.obj or {}).get("app")
    if inbox:
        return open_inbox(inbox)
    if app:
        return load_receiver(app, "; or give --inbox URL, which imports nothing").inbox
    raise typer.BadParameter("give --app module:receiver or --inbox URL", param_hint="--app")


def _fail(exc: HookwiseError) -> typer.Exit:
    typer.echo(f"error: {exc.message}", err=True)
    return typer.Exit(1)


@receive_app.callback(invoke_without_command=True)
def receive(
    ctx: typer.Context,
    app: AppOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 3000,
    worker: Annotated[
        bool, typer.Option("--worker", help="Process and reconcile only; no HTTP.")
    ] = False,
    no_process: Annotated[
        bool, typer.Option("--no-process", help="Receive only; run --worker processes apart.")
    ] = False,
    concurrency: Annotated[int, typer.Option(help="Handlers running at once.")] = 16,
    accept_hex_only: Annotated[
        bool,
        typer.Option(
            "--accept-hex-only",
            envvar="HOOKWISE_RECEIVER_ACCEPT_HEX_ONLY",
            help="Also accept requests signed only with X-Webhook-Signature (no timestamp:"
            " replays are stopped only by the dedupe key, while the item is kept).",
        ),
    ] = False,
    status_url: Annotated[
        str | None,
        typer.Option(
            "--status-url",
            envvar="HOOKWISE_RECEIVER_STATUS_URL",
            help="The sender's job status URL, {id} its only placeholder: polled for overdue"
            " expected jobs and read for truncated results without results_endpoint.",
        ),
    ] = None,
    job_shape: Annotated[
        str | None,
        typer.Option(
            "--job-shape",
            envvar="HOOKWISE_RECEIVER_JOB_SHAPE",
            help='How the sender\'s API answers, as JSON: {"job": "workflow", "status":'
            ' "status", "terminal": [...], "results": "results", "paging": "cursor"|"single",'
            ' "events": {status: event type}}. Default: hookwise\'s.',
        ),
    ] = None,
) -> None:
    """Run a receiver: HTTP on --host/--port, processing in the same process unless told."""
    ctx.obj = {"app": app}
    if ctx.invoked_subcommand is not None:
        return
    if not app:
        raise typer.BadParameter("--app module:receiver is required", param_hint="--app")
    receiver = load_receiver(app)
    if accept_hex_only:
        if receiver.verifier is None:
            raise typer.BadParameter("the receiver checks no signature", param_hint="--app")
        receiver.accept_hex_only = True
    _configure_sender(receiver, status_url, job_shape)
    try:
        if worker:
            _run(_work(receiver, concurrency))
        else:
            _run(_serve(receiver, host, port, process=not no_process))
    except HookwiseError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        # uvicorn re-raises the SIGINT it caught once shutdown is complete: a clean stop.
        typer.echo("hookwise receive: stopped")


def _configure_sender(receiver: Receiver, status_url: str | None, job_shape: str | None) -> None:
    try:
        shape = None if job_shape is None else orjson.loads(job_shape)
    except orjson.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--job-shape") from exc
    try:
        receiver.configure_sender(status_url=status_url, job_shape=shape)
    except InvalidInput as exc:
        hint = "--status-url" if exc.field == "status_url" else "--job-shape"
        raise typer.BadParameter(exc.message, param_hint=hint) from exc


async def _serve(receiver: Receiver, host: str, port: int, *, process: bool) -> None:
    service = ReceiverService(receiver, host=host, port=port, process=process, reconcile=process)
    await service.start()
    mode = "processing in this process" if process else "receive only"
    typer.echo(f"hookwise receive: listening on {service.url} ({receiver.inbox!r}, {mode})")
    if receiver.accept_hex_only:
        typer.echo(
            "hookwise receive: accepting X-Webhook-Signature alone: a replay is refused only"
            " while its item is kept (receive prune deletes done items)",
            err=True,
        )
    try:
        await service.wait()
    finally:
        await service.stop()


async def _work(receiver: Receiver, concurrency: int) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    typer.echo(f"hookwise receive --worker: processing {receiver.inbox!r}")
    await work(receiver, stop, processor=Processor(receiver, concurrency=concurrency))


def _row(item: InboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "key": item.dedupe_key,
        "event_type": item.event_type,
        "source": item.source,
        "state": str(item.state),
        "attempts": item.attempts,
        "last_error": item.last_error,
        "received_at": item.received_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


async def _with_inbox(inbox: Inbox, use: Callable[[Inbox], Awaitable[T]]) -> T:
    await inbox.open()
    try:
        return await use(inbox)
    finally:
        await inbox.close()


@dead_app.command("list")
def dead_list(
    ctx: typer.Context,
    app: AppOption = None,
    inbox: InboxOption = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List dead items, oldest first, with their last error."""
    target = _inbox(ctx, app, inbox)
    try:
        items: list[InboxItem] = _run(_with_inbox(target, lambda ib: ib.items(State.DEAD, limit)))
    except HookwiseError as exc:
        raise _fail(exc) from exc
    for item in items:
        row = _row(item)
        if as_json:
            typer.echo(orjson.dumps(row).decode())
        else:
            typer.echo(
                f"{row['id']}  {row['event_type'] or '-'}  key={row['key']}"
                f"  attempts={row['attempts']}  {row['last_error']}"
            )
    if not as_json:
        typer.echo(plural(len(items), "dead item"))


@dead_app.command("retry")
def dead_retry(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(help="Item ids to retry.")] = None,
    all_items: Annotated[bool, typer.Option("--all", help="Retry every dead item.")] = False,
    app: AppOption = None,
    inbox: InboxOption = None,
) -> None:
    """Put dead items back in the queue with a fresh retry budget."""
    if not ids and not all_items:
        raise typer.BadParameter("name item ids, or pass --all")
    target = _inbox(ctx, app, inbox)
    try:
        count: int = _run(_with_inbox(target, lambda ib: ib.retry(None if all_items else ids)))
    except HookwiseError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{plural(count, 'item')} queued again")


@receive_app.command("status")
def status(ctx: typer.Context, app: AppOption = None, inbox: InboxOption = None) -> None:
    """How many items are in each state, as JSON."""
    target = _inbox(ctx, app, inbox)
    try:
        counts: dict[State, int] = _run(_with_inbox(target, lambda ib: ib.counts()))
    except HookwiseError as exc:
        raise _fail(exc) from exc
    typer.echo(orjson.dumps({str(k): v for k, v in counts.items()}).decode())


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``45m``, ``90s`` (a bare number is days)."""
    value, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "d")
    try:
        amount = float(value)
    except ValueError:
        raise typer.BadParameter("use a number and a unit: 30d, 12h, 45m, 90s") from None
    if amount < 0:
        raise typer.BadParameter("must not be negative")
    return timedelta(seconds=amount * _UNITS[unit])


@receive_app.command("prune")
def prune(
    ctx: typer.Context,
    older_than: Annotated[str, typer.Option(help="Age of done items to delete: 7d, 12h…")] = "7d",
    app: AppOption = None,
    inbox: InboxOption = None,
) -> None:
    """Delete done items (and settled expectations) older than --older-than.

    A duplicate of a pruned item arriving later is stored and processed again: keep done items
    for longer than your senders retry. A receiver that accepts hex-only requests
    (--accept-hex-only) has no timestamp to refuse a replay with: the kept item is all that
    stops one, so prune it later than anyone could replay it, or never.
    """
    before = datetime.now(UTC) - parse_age(older_than)
    target = _inbox(ctx, app, inbox)
    try:
        count: int = _run(_with_inbox(target, lambda ib: ib.prune(before)))
    except HookwiseError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{plural(count, 'done item')} deleted")
