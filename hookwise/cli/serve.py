"""The ``hookwise`` command."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import signal
import time
from collections.abc import Iterator
from typing import Annotated, Any

import typer
import uvicorn

from hookwise import cli_read
from hookwise.receiver.cli import receive_app
from hookwise.settings import Settings

app = typer.Typer(
    help="hookwise: webhooks done properly.", no_args_is_help=True, pretty_exceptions_enable=False
)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
secret_key_app = typer.Typer(
    help="HOOKWISE_SECRET_KEY: the key secrets are encrypted with at rest.", no_args_is_help=True
)
app.add_typer(secret_key_app, name="secret-key")
app.add_typer(receive_app, name="receive")
cli_read.register(app)

DbOpt = Annotated[
    str | None, typer.Option("--db", help="HOOKWISE_DB: sqlite:///… or postgresql://…")
]
HostOpt = Annotated[str | None, typer.Option("--host", help="HOOKWISE_HOST")]
PortOpt = Annotated[int | None, typer.Option("--port", help="HOOKWISE_PORT")]


def _settings(**flags: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    except Exception as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _run(coro: Any) -> Any:
    from hookwise.domain.errors import SecretKeyError

    try:
        try:
            import uvloop
        except ImportError:  # pragma: no cover
            return asyncio.run(coro)
        return uvloop.run(coro)
    except SecretKeyError as exc:
        # a missing or wrong key: refuse to start, saying what to do (no traceback)
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


def _tune_gc() -> None:
    """A long-running service: what exists once it is up lives as long as the process (frozen,
    never scanned again), and young collections run every 20,000 allocations rather than 700.
    The request and attempt paths allocate many short-lived objects; at the default threshold
    the collector took ~3 % of the CPU there."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


async def _serve(
    settings: Settings, *, api: bool, workers: int, demo: bool, concurrency: int | None = None
) -> None:
    from hookwise.composition import open_services, worker_config
    from hookwise.delivery.ssrf import NetworkPolicy, parse_networks

    policy = None
    if demo:
        nets = parse_networks(settings.allow_networks) + parse_networks("127.0.0.0/8,::1/128")
        policy = NetworkPolicy(nets)
    services = await open_services(settings, policy=policy)
    _tune_gc()
    if concurrency:
        services.worker.config = worker_config(settings, concurrency)
    demo_info = None
    if demo:
        from hookwise.demo import DemoReceiver

        receiver = DemoReceiver()
        receiver.mount(services.api)
        demo_info = await receiver.seed(
            services.store, f"http://{_url_host(settings.host)}:{settings.port}"
        )
    try:
        if api:
            config = uvicorn.Config(
                services.api,
                host=settings.host,
                port=settings.port,
                loop="none",
                http="httptools",
                lifespan="off",
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=10,
            )
            server = _Server(config)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, server.request_exit)
            if demo_info:
                _print_demo(settings, demo_info)
            else:
                typer.echo(
                    f"hookwise listening on http://{_url_host(settings.host)}:{settings.port}"
                    f" ({'API + workers' if workers else 'API only'}, {_db_label(settings)})"
                )
            if workers:
                asyncio.get_running_loop().create_task(_start_when_up(server, services, workers))
            await server.serve()
        else:
            services.start_workers(workers)
            typer.echo(f"hookwise worker running ({_db_label(settings)}); Ctrl-C or SIGTERM drains")
            await _wait_for_signal()
    finally:
        await services.close()


class _Server(uvicorn.Server):
    """uvicorn without its signal capture, which re-raises the signal after shutdown and so
    would end the process before the workers have drained and the store is closed."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def request_exit(self) -> None:
        self.should_exit = True


async def _start_when_up(server: uvicorn.Server, services: Any, workers: int) -> None:
    # the demo endpoint is this process: deliver once it is listening
    while not server.started and not server.should_exit:
        await asyncio.sleep(0.02)
    if server.started:
        services.start_workers(workers)


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _db_label(settings: Settings) -> str:
    return "PostgreSQL" if settings.is_postgres else f"SQLite {settings.db[len('sqlite:///') :]}"


def _print_demo(settings: Settings, info: dict[str, str]) -> None:
    base = f"http://{_url_host(settings.host)}:{settings.port}"
    typer.echo(
        f"""
hookwise demo on {base} ({_db_label(settings)})
The SSRF guard lets loopback through in demo mode, so the endpoint can be this process's own
receiver at {base}/demo/receiver.

Admin key (shown once): {info["key"]}

See the attempts of the three demo events:
  curl -s -H "Authorization: Bearer {info["key"]}" {base}/v1/apps/{info["app_id"]}/attempts
Send one more event and see it arrive:
  curl -s -X POST -H "Authorization: Bearer {info["key"]}" -H "Content-Type: application/json" \\
    -d '{{"event_type": "user.created", "payload": {{"name": "Ada"}}}}' \\
    {base}/v1/apps/{info["app_id"]}/messages
""",
    )


@app.command()
def serve(
    db: DbOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    demo: Annotated[bool, typer.Option(help="seed a demo app, endpoint and events")] = False,
    workers: Annotated[int, typer.Option(help="delivery workers in this process")] = 1,
) -> None:
    """API, delivery workers (and the demo) in one process: the embedded mode."""
    _logging()
    _run(_serve(_settings(db=db, host=host, port=port), api=True, workers=workers, demo=demo))


@app.command("api")
def api_cmd(db: DbOpt = None, host: HostOpt = None, port: PortOpt = None) -> None:
    """The API only (cluster mode: run workers with `hookwise worker`)."""
    _logging()
    _run(_serve(_settings(db=db, host=host, port=port), api=True, workers=0, demo=False))


@app.command()
def worker(
    db: DbOpt = None,
    concurrency: Annotated[int | None, typer.Option(help="attempts in flight at most")] = None,
) -> None:
    """Delivery only; drains gracefully on SIGTERM."""
    _logging()
    _run(_serve(_settings(db=db), api=False, workers=1, demo=False, concurrency=concurrency))


@app.command()
def migrate(db: DbOpt = None) -> None:
    """Bring the database schema to the newest version."""
    from hookwise.store.migrate import current_revision, head_revision, upgrade

    settings = _settings(db=db)
    before = current_revision(settings.db)
    upgrade(settings.db)
    typer.echo(f"migrated {_db_label(settings)}: {before or 'empty'} -> {head_revision()}")


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

        store = await open_configured_store(_settings(db=db))
        try:
            app_id = (await store.get_app(app_ref)).id if app_ref else None
            _, key = await create_key(store, name, app_id)
            return key
        finally:
            await store.close()

    typer.echo(_run(go()))


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


@app.command()
def prune(
    older_than: Annotated[str, typer.Option("--older-than", help="e.g. 30d, 12h")] = "30d",
    db: DbOpt = None,
) -> None:
    """Delete attempts and finished messages older than the given age, in batches."""
    m = _DURATION.fullmatch(older_than)
    if not m:
        typer.echo("error: --older-than takes a number and s, m, h or d (e.g. 30d)", err=True)
        raise typer.Exit(2)
    seconds = float(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]

    async def go() -> int:
        from hookwise.composition import open_configured_store

        store = await open_configured_store(_settings(db=db))
        try:
            return await store.prune(older_than=time.time() - seconds)
        finally:
            await store.close()

    typer.echo(f"pruned {_run(go())} rows older than {older_than}")


NewKeyOpt = Annotated[
    str,
    typer.Option(
        "--new-key",
        envvar="HOOKWISE_NEW_SECRET_KEY",
        help="the key to encrypt with from now on (or HOOKWISE_NEW_SECRET_KEY)",
        show_envvar=False,
    ),
]


def _reseal(db: str | None, new_key: str) -> None:
    from hookwise.composition import open_configured_store, secret_key
    from hookwise.domain.secretbox import SecretBox
    from hookwise.store import keyring

    settings = _settings(db=db)

    async def go() -> dict[str, int]:
        store = await open_configured_store(settings, check_key=False)
        try:
            await keyring.check(store, SecretBox(secret_key(settings)), rotating=True)
            return await keyring.rotate(store, secret_key(settings), new_key)
        finally:
            await store.close()

    done = _run(go())
    typer.echo(
        f"encrypted the secrets of {done['endpoints']} endpoints and {done['apps']} apps with"
        f" the new key ({_db_label(settings)}): start hookwise with HOOKWISE_SECRET_KEY set to it"
    )


@secret_key_app.command("rotate")
def secret_key_rotate(new_key: NewKeyOpt, db: DbOpt = None) -> None:
    """Re-encrypt every secret with a new key, reading with HOOKWISE_SECRET_KEY (unset: a plain
    database is encrypted). Stop the service first; run it again if it was interrupted."""
    if not new_key:
        typer.echo("error: --new-key must not be empty", err=True)
        raise typer.Exit(2)
    _reseal(db, new_key)


@secret_key_app.command("encrypt")
def secret_key_encrypt(db: DbOpt = None) -> None:
    """Encrypt the secrets still stored in clear (written before a key was set) with
    HOOKWISE_SECRET_KEY."""
    current = _settings(db=db).secret_key
    if current is None:
        typer.echo("error: set HOOKWISE_SECRET_KEY to the key to encrypt with", err=True)
        raise typer.Exit(2)
    _reseal(db, current.get_secret_value())


@secret_key_app.command("new")
def secret_key_new() -> None:
    """Print a new random key (256 bits) for HOOKWISE_SECRET_KEY."""
    import secrets

    typer.echo(secrets.token_urlsafe(32))


def main() -> None:
    """Entry point of the ``hookwise`` script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
