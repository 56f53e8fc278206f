"""``hookwise serve|api|worker``: the long-running service, in one process or split."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from hookwise.cli.common import (
    AllowNetworksOpt,
    DbOpt,
    LogFormatOpt,
    LogLevelOpt,
    db_label,
    run,
    settings_from,
    setup_logging,
    sqlite_path,
)
from hookwise.settings import Settings

HostOpt = Annotated[str | None, typer.Option("--host", help="HOOKWISE_HOST")]
PortOpt = Annotated[int | None, typer.Option("--port", help="HOOKWISE_PORT")]


def tune_gc() -> None:
    """A long-running service: what exists once it is up lives as long as the process (frozen,
    never scanned again), and young collections run every 20,000 allocations rather than 700.
    The request and attempt paths allocate many short-lived objects, which the default
    threshold made the collector scan far too often (bench/README.md has the figure)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


async def _serve(
    settings: Settings, *, api: bool, workers: int, demo: bool, concurrency: int | None = None
) -> None:
    from hookwise.composition import open_services, worker_config
    from hookwise.egress.ssrf import NetworkPolicy, parse_networks
    from hookwise.receiver.service import bind

    # bind first: a busy port is one error line, before anything says "listening"
    sock = bind(settings.host, settings.port) if api else None
    if sock is not None:
        settings = settings.model_copy(update={"port": sock.getsockname()[1]})
    policy = None
    if demo:
        nets = parse_networks(settings.allow_networks) + parse_networks("127.0.0.0/8,::1/128")
        policy = NetworkPolicy(nets)
    services = await open_services(settings, policy=policy)
    tune_gc()
    if concurrency:
        services.worker.config = worker_config(settings, concurrency)
    demo_info = None
    if demo:
        from hookwise.demo import DemoReceiver

        receiver = DemoReceiver()
        receiver.mount(services.api)
        demo_info = await receiver.seed(
            services.store,
            f"http://{_url_host(settings.host)}:{settings.port}",
            key_file=_demo_key_file(settings),
        )
    try:
        if sock is not None:
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

            def stop() -> None:  # the API and the workers drain at once, not one after the other
                server.request_exit()
                services.begin_stop()

            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop)
            if demo_info:
                _print_demo(settings, demo_info)
            else:
                typer.echo(
                    f"hookwise listening on http://{_url_host(settings.host)}:{settings.port}"
                    f" ({'API + workers' if workers else 'API only'}, {db_label(settings)})"
                )
            if workers:
                asyncio.get_running_loop().create_task(_start_when_up(server, services, workers))
            await server.serve(sockets=[sock])
        else:
            services.start_workers(workers)
            typer.echo(f"hookwise worker running ({db_label(settings)}); Ctrl-C or SIGTERM drains")
            await _wait_for_signal()
    finally:
        await services.close()
        if sock is not None:
            sock.close()


def _demo_key_file(settings: Settings) -> Path | None:
    """Where the demo keeps its admin key between runs: beside the SQLite file (as private as
    the database, which holds the endpoint secrets), so a second ``make run`` prints the same
    key. PostgreSQL: nowhere (the demo then replaces its key on each start)."""
    return None if settings.is_postgres else sqlite_path(settings).parent / "demo-admin-key"


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


def _print_demo(settings: Settings, info: dict[str, str]) -> None:
    base = f"http://{_url_host(settings.host)}:{settings.port}"
    typer.echo(
        f"""
hookwise demo on {base} ({db_label(settings)})
The SSRF guard lets loopback through in demo mode, so the endpoint can be this process's own
receiver at {base}/demo/receiver.

Admin key ({"kept from the last run" if info.get("reused") else "new"}): {info["key"]}

See the attempts of the three demo events:
  curl -s -H "Authorization: Bearer {info["key"]}" {base}/v1/apps/{info["app_id"]}/attempts
Send one more event and see it arrive:
  curl -s -X POST -H "Authorization: Bearer {info["key"]}" -H "Content-Type: application/json" \\
    -d '{{"event_type": "user.created", "payload": {{"name": "Ada"}}}}' \\
    {base}/v1/apps/{info["app_id"]}/messages
For the README's 30-second tour, in another shell:
  export KEY={info["key"]}
""",
    )


def _settings(
    db: str | None,
    host: str | None,
    port: int | None,
    networks: str | None,
    level: str | None,
    fmt: str | None,
) -> Settings:
    """The settings with the service flags given on top; logging set up as they say."""
    settings = settings_from(
        db=db, host=host, port=port, allow_networks=networks, log_level=level, log_format=fmt
    )
    setup_logging(settings)
    return settings


def serve(
    db: DbOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    demo: Annotated[bool, typer.Option("--demo", help="a demo app, endpoint and events")] = False,
    workers: Annotated[int, typer.Option(help="delivery workers in this process", min=0)] = 1,
    allow_networks: AllowNetworksOpt = None,
    log_level: LogLevelOpt = None,
    log_format: LogFormatOpt = None,
) -> None:
    """API, delivery workers (and the demo) in one process: the embedded mode."""
    settings = _settings(db, host, port, allow_networks, log_level, log_format)
    run(_serve(settings, api=True, workers=workers, demo=demo))


def api_cmd(
    db: DbOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    allow_networks: AllowNetworksOpt = None,
    log_level: LogLevelOpt = None,
    log_format: LogFormatOpt = None,
) -> None:
    """The API only (cluster mode: run workers with `hookwise worker`)."""
    settings = _settings(db, host, port, allow_networks, log_level, log_format)
    run(_serve(settings, api=True, workers=0, demo=False))


def worker(
    db: DbOpt = None,
    concurrency: Annotated[int | None, typer.Option(help="attempts in flight at most")] = None,
    allow_networks: AllowNetworksOpt = None,
    log_level: LogLevelOpt = None,
    log_format: LogFormatOpt = None,
) -> None:
    """Delivery only; drains gracefully on SIGTERM."""
    settings = _settings(db, None, None, allow_networks, log_level, log_format)
    run(_serve(settings, api=False, workers=1, demo=False, concurrency=concurrency))


def register(app: typer.Typer) -> None:
    """Add the service commands to the main CLI."""
    app.command()(serve)
    app.command("api")(api_cmd)
    app.command()(worker)
