"""The one way the CLI reaches hookwise: ``hookwise.AsyncClient``, over HTTP to a running
service (``--url``/``HOOKWISE_URL`` with ``--key``/``HOOKWISE_KEY``), or in-process over the
local database: the API app itself behind httpx's ASGI transport. Every command is written
once, against the API, and both ways answer alike (the same routes, checks and errors)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

import httpx
import typer

from hookwise.api.auth import Authenticator, Principal
from hookwise.cli.common import EXIT_USAGE, DbOpt, fail, say_db, settings_from
from hookwise.client import AsyncClient
from hookwise.domain.models import ApiKey

UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="HOOKWISE_URL",
        show_envvar=False,
        help="HOOKWISE_URL: a running hookwise (default: the local database, in-process)",
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key", envvar="HOOKWISE_KEY", show_envvar=False, help="HOOKWISE_KEY: its API key"
    ),
]

_LOCAL_KEY = ApiKey(
    id="key_local",
    name="hookwise CLI (local database)",
    prefix="local",
    scope="admin",
    app_id=None,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)


class LocalAuthenticator(Authenticator):
    """Whoever runs the CLI on the database's machine can read the database already: in-process
    calls are admin, with no key to make, store or leak."""

    async def authenticate(self, authorization: str | None) -> Principal:
        return Principal(_LOCAL_KEY)


@contextlib.asynccontextmanager
async def connect(db: DbOpt, url: str | None, key: str | None) -> AsyncIterator[AsyncClient]:
    """An AsyncClient to ``url``, or to the API over the local database (``--db``)."""
    if url:
        if not key:
            fail("--url needs --key (or HOOKWISE_KEY): an API key of that hookwise", EXIT_USAGE)
        async with AsyncClient(url, key, max_retries=0) as client:
            yield client
        return
    from hookwise.composition import open_services

    settings = settings_from(db=db)
    say_db(settings)
    services = await open_services(settings)
    ctx = services.api.state.ctx
    ctx.auth = LocalAuthenticator(services.store)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(services.api), timeout=60)
    try:
        async with AsyncClient("http://hookwise.local", "hwk_local", http=http) as client:
            yield client
    finally:
        await http.aclose()
        await services.close()
