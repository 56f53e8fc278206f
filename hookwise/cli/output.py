"""How commands print what the API answered: rich tables with whole ids, or ``--json``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

Json = dict[str, Any]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def console(wide: bool = False) -> Console:
    """The terminal; ``wide``, or stdout not a terminal: as wide as the rows need."""
    c = Console()
    return c if c.is_terminal and not wide else Console(width=100_000, soft_wrap=True)


def show(rows: Sequence[Json], columns: Sequence[str], as_json: bool, wide: bool = False) -> None:
    """Rows as a table of ``columns`` (ids whole, never cut), or one JSON object per line."""
    if as_json:
        for row in rows:
            typer.echo(orjson.dumps(row).decode())
        return
    table = Table()
    for col in columns:
        whole = col == "id" or col.endswith("_id")
        width = max((len(_cell(r.get(col))) for r in rows), default=0) if whole else None
        table.add_column(col, no_wrap=whole or wide, min_width=width)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console(wide).print(table)


def show_one(obj: Json, as_json: bool, title: str | None = None) -> None:
    """One object: its fields, one per row (or its JSON)."""
    if as_json:
        typer.echo(orjson.dumps(obj).decode())
        return
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for k, v in obj.items():
        table.add_row(k, _cell(v))
    console().print(table)


@contextlib.contextmanager
def progress(what: str) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on stderr while long work runs (drawn only on a terminal, gone when
    done); yields ``update(done, total)``, ``total`` None while unknown."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int | None = None) -> None:
            bar.update(task, completed=done, total=total)

        yield update
