"""How a resource command is declared once: ``@command(group, "name")`` over a function of a
``Conn`` and its own parameters; the options every such command shares (``--db``, ``--url``,
``--key``, ``--json``, and ``--limit``/``--wide`` for listings) are added to its signature here,
so Typer shows them and no command spells them out again."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

from hookwise.cli.common import DbOpt, run
from hookwise.cli.connection import KeyOpt, UrlOpt, connect
from hookwise.cli.output import show, show_one
from hookwise.client import AsyncClient

Json = dict[str, Any]
F = TypeVar("F", bound=Callable[..., None])
Listing = Callable[[AsyncClient, int], AsyncIterator[Json]]  # (client, page size) -> rows
AppOpt = Annotated[str, typer.Option("--app", help="app id or uid")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON: one object per line")]
WideOpt = Annotated[bool, typer.Option("--wide", help="no column wrapped or cut")]
LimitOpt = Annotated[int, typer.Option("--limit", help="rows at most", min=1, max=1000)]


@dataclass(frozen=True, slots=True)
class Conn:
    """Where a command talks (the local database or ``--url``) and how it prints."""

    db: str | None = None
    url: str | None = None
    key: str | None = None
    as_json: bool = False
    wide: bool = False
    limit: int = 50

    def call(self, use: Callable[[AsyncClient], Awaitable[Any]]) -> Any:
        """Connect, ``use`` the client, return its answer; any error hookwise or the API
        raises ends the command with one line."""

        async def go() -> Any:
            async with connect(self.db, self.url, self.key) as client:
                return await use(client)

        return run(go())

    def rows(self, listing: Listing, columns: Sequence[str]) -> None:
        """Print the first ``--limit`` rows of a listing as a table (or JSON lines)."""

        async def go(hw: AsyncClient) -> list[Json]:
            return await first(listing(hw, self.limit), self.limit)

        show(self.call(go), columns, self.as_json, self.wide)

    def one(self, obj: Json, title: str) -> None:
        """Print one object: its fields (or its JSON)."""
        show_one(obj, self.as_json, title)


async def first(rows: AsyncIterator[Json], n: int) -> list[Json]:
    """The first ``n`` rows of a listing (one page when ``n`` fits in one)."""
    out: list[Json] = []
    async for row in rows:
        out.append(row)
        if len(out) >= n:
            break
    return out


_SHARED = {"db": DbOpt, "url": UrlOpt, "key": KeyOpt, "as_json": JsonOpt}
_LISTING = {"limit": (LimitOpt, 50), "wide": (WideOpt, False)}


def command(group: typer.Typer, name: str, *, listing: bool = False) -> Callable[[F], F]:
    """Register ``fn(conn, …)`` as ``group name`` with the shared options added."""

    def register(fn: F) -> F:
        own = [p for p in inspect.signature(fn, eval_str=True).parameters.values()][1:]
        extra = [
            inspect.Parameter(
                n,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=a,
                default=False if n == "as_json" else None,
            )
            for n, a in _SHARED.items()
        ]
        if listing:
            extra += [
                inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d)
                for n, (a, d) in _LISTING.items()
            ]

        @functools.wraps(fn)
        def wrapper(**kw: Any) -> None:
            shared = {n: kw.pop(n) for n in (*_SHARED, *(_LISTING if listing else ()))}
            fn(Conn(**shared), **kw)

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + extra
        wrapper.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        group.command(name)(wrapper)
        return fn

    return register
