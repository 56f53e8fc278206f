"""What every ``hookwise`` command shares: the options, settings, errors and the event loop.

Exit codes (docs/reference/cli.md): 0 done; 1 the command failed, one ``error:`` line on stderr
says why (not found, refused, cannot connect, port in use, wrong HOOKWISE_SECRET_KEY); 2 the
command line is wrong (a bad or missing option, a module ``--app`` cannot load); 130 interrupted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from hookwise.settings import Settings

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

DbOpt = Annotated[
    str | None, typer.Option("--db", help="HOOKWISE_DB: sqlite:///… or postgresql://…")
]
AllowNetworksOpt = Annotated[
    str | None,
    typer.Option(
        "--allow-networks",
        help="HOOKWISE_ALLOW_NETWORKS: CIDRs the SSRF guard lets through, e.g. 127.0.0.0/8",
    ),
]
LogLevelOpt = Annotated[
    str | None, typer.Option("--log-level", help="HOOKWISE_LOG_LEVEL: debug, info, warning")
]
LogFormatOpt = Annotated[
    str | None, typer.Option("--log-format", help="HOOKWISE_LOG_FORMAT: text or json")
]


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """End the command with one ``error:`` line on stderr, no traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_from(**flags: Any) -> Settings:
    """The settings from the environment, with the flags that were given on top."""
    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "HOOKWISE_" + "_".join(str(p) for p in first["loc"]).upper()
        fail(f"{name}: {first['msg'].removeprefix('Value error, ')}", EXIT_USAGE)


def setup_logging(settings: Settings) -> None:
    """The service's log lines, as the settings ask (``HOOKWISE_LOG_LEVEL``, ``_FORMAT``)."""
    from hookwise.cli.logs import configure

    configure(settings.log_level, settings.log_format)


def run(coro: Any) -> Any:
    """Run a coroutine to its end (on uvloop when installed). Every error hookwise raises on
    purpose (a key, a name, a port, an API answer) ends the command with one line, exit 1."""
    from hookwise.domain.errors import HookwiseError

    try:
        try:
            import uvloop
        except ImportError:  # pragma: no cover
            return asyncio.run(coro)
        return uvloop.run(coro)
    except HookwiseError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None


def db_label(settings: Settings) -> str:
    """The database in words, for the lines the commands print: the SQLite file in full, so a
    command run from another folder shows it is not the server's."""
    if settings.is_postgres:
        from sqlalchemy.engine import make_url

        url = make_url(settings.db)
        return f"PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/{url.database}"
    return f"SQLite {sqlite_path(settings)}"


def sqlite_path(settings: Settings) -> Path:
    """The absolute path of the SQLite file the settings name."""
    return Path(settings.db[len("sqlite:///") :]).resolve()


def say_db(settings: Settings) -> None:
    """Tell (on stderr) which database a command opens, and when it is about to make one."""
    new = not settings.is_postgres and not sqlite_path(settings).exists()
    typer.echo(
        f"hookwise: database {db_label(settings)}"
        + (" (none there yet: creating it; set --db or HOOKWISE_DB for another)" if new else ""),
        err=True,
    )
