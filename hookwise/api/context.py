"""What the routers need, built once by the composition module and kept on ``app.state``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Path, Request

from hookwise.api.auth import Authenticator, Principal
from hookwise.domain.models import App, AttemptResult, ClaimedDelivery
from hookwise.egress.ssrf import NetworkPolicy
from hookwise.settings import Settings
from hookwise.store.roles import Store

Tester = Callable[[ClaimedDelivery], Awaitable[AttemptResult]]
_APP_TTL = 5.0


@dataclass
class ApiContext:
    """The store, settings and engine pieces the API uses."""

    settings: Settings
    store: Store
    policy: NetworkPolicy
    auth: Authenticator
    tester: Tester
    worker_id: str = "api"
    _apps: dict[str, tuple[float, App]] = field(default_factory=dict)

    async def app(self, ref: str) -> App:
        """The app named by id or uid (cached briefly: the ingest path reads it every time)."""
        now = time.monotonic()
        hit = self._apps.get(ref)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await self.store.resources.get_app(ref)
        if len(self._apps) > 10_000:
            self._apps.clear()
        self._apps[ref] = (now + _APP_TTL, found)
        return found

    def forget_app(self, app_id: str) -> None:
        """Drop an app from the cache after a change."""
        self._apps = {k: v for k, v in self._apps.items() if v[1].id != app_id}


def get_ctx(request: Request) -> ApiContext:
    """The ApiContext of this application."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ApiContext, Depends(get_ctx)]


async def get_principal(
    ctx: Ctx,
    authorization: Annotated[str | None, Header(description="Bearer hwk_…")] = None,
) -> Principal:
    """The caller, from the bearer key."""
    return await ctx.auth.authenticate(authorization)


Caller = Annotated[Principal, Depends(get_principal)]


async def get_app_in_scope(
    ctx: Ctx,
    caller: Caller,
    app: Annotated[str, Path(description="app id or uid", max_length=200)],
) -> App:
    """The path's app, if the caller's key covers it: another tenant's app is answered exactly
    like one that does not exist (a 404), so a key cannot learn which ids are taken."""
    found = await ctx.app(app)
    caller.require_app(found.id, app)
    return found


ScopedApp = Annotated[App, Depends(get_app_in_scope)]
