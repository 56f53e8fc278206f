"""What every ``hookwise`` command shares: the options, settings, logging and the event loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import typer

from hookwise.settings import Settings

DbOpt = Annotated[
    str | None, typer.Option("--db", help="HOOKWISE_DB: sqlite:///… or postgresql://…")
]


def settings_from(**flags: Any) -> Settings:
    """The settings from the environment, with the flags that were given on top."""
    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    except Exception as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def setup_logging() -> None:
    """Timestamped INFO lines on stderr; alembic only when it warns."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def run(coro: Any) -> Any:
    """Run a coroutine to its end (on uvloop when installed); a key error ends with exit 1."""
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


def db_label(settings: Settings) -> str:
    """The database in words, for the lines the commands print."""
    return "PostgreSQL" if settings.is_postgres else f"SQLite {settings.db[len('sqlite:///') :]}"
