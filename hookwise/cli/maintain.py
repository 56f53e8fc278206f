"""``hookwise migrate|prune``: looking after the database."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Annotated

import typer

from hookwise.cli.common import EXIT_USAGE, DbOpt, db_label, fail, run, say_db, settings_from
from hookwise.cli.output import progress
from hookwise.domain.plurals import plural


def migrate(db: DbOpt = None) -> None:
    """Bring the database schema to the newest version."""
    from hookwise.store.migrate import current_revision, head_revision, upgrade

    settings = settings_from(db=db)
    before = current_revision(settings.db)
    upgrade(settings.db)
    typer.echo(f"migrated {db_label(settings)}: {before or 'empty'} -> {head_revision()}")


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


def prune(
    older_than: Annotated[str, typer.Option("--older-than", help="e.g. 30d, 12h")] = "30d",
    db: DbOpt = None,
) -> None:
    """Delete attempts and finished messages older than the given age, in batches."""
    m = _DURATION.fullmatch(older_than)
    if not m:
        fail("--older-than takes a number and s, m, h or d (e.g. 30d)", EXIT_USAGE)
    seconds = float(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]

    settings = settings_from(db=db)
    say_db(settings)

    async def go(update: Callable[[int, int | None], None]) -> int:
        from hookwise.composition import open_configured_store

        done = 0

        def batch(n: int) -> None:
            nonlocal done
            done += n
            update(done, None)

        store = await open_configured_store(settings)
        try:
            return await store.retention.prune(older_than=time.time() - seconds, on_batch=batch)
        finally:
            await store.close()

    with progress("pruning") as update:
        pruned = run(go(update))
    typer.echo(f"pruned {plural(pruned, 'row')} older than {older_than}")


def register(app: typer.Typer) -> None:
    """Add the maintenance commands to the main CLI."""
    app.command()(migrate)
    app.command()(prune)
