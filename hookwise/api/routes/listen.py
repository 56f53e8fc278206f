"""``/v1/apps/{app}/listen``: the WebSocket a ``hookwise listen`` connects to.

The listener authenticates with the same bearer key as any request (an app key or an admin key)
in the handshake, names itself (``name``, reused on reconnection) and its subscriptions
(``events``, repeated or comma-separated; none: keep the endpoint's). The server answers
``Ready``, then runs a ``RelaySession`` (``hookwise.delivery.relay``) until the connection
ends. A request that cannot listen is accepted and then refused with a ``Refused`` frame, so the
listener can say why in one line (a WebSocket refused at the handshake carries no reason).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket

from hookwise.api.context import ApiContext
from hookwise.delivery.relay import RelayConfig, RelaySession, relay_worker_id
from hookwise.domain.errors import HookwiseError
from hookwise.domain.events import validate_filters
from hookwise.domain.models import Endpoint
from hookwise.domain.relay import Ready, Refused

router = APIRouter(tags=["listen"])
log = logging.getLogger("hookwise.relay")


@router.websocket("/v1/apps/{app}/listen")
async def listen(websocket: WebSocket, app: str) -> None:
    """Relay the app's deliveries to a ``hookwise listen`` over this connection."""
    ctx: ApiContext = websocket.app.state.ctx
    await websocket.accept()
    try:
        endpoint = await _endpoint(ctx, websocket, app)
    except HookwiseError as exc:
        await websocket.send_text(Refused(exc.status_code, exc.message).encode())
        await websocket.close(code=4000 + exc.status_code, reason=exc.code)
        return
    name = endpoint.url.removeprefix("relay://")
    await websocket.send_text(Ready(endpoint.id, name, endpoint.events, endpoint.secret).encode())
    s = ctx.settings
    config = RelayConfig(
        lease_seconds=s.lease_seconds,
        poll_interval=s.poll_interval_seconds,
        pause_after=s.auto_pause_after,
        retry_after_cap=s.retry_after_cap_seconds,
    )
    worker_id = relay_worker_id(ctx.store.queue.lease_holder)
    log.info("listener %r connected to %s (%s)", name, endpoint.id, worker_id)
    session = RelaySession(
        ctx.store.relays, ctx.store.queue, endpoint, websocket, config, worker_id=worker_id
    )
    try:
        await session.run()
    except Exception as exc:  # the connection broke while sending: the session handed back
        log.info("listener %r on %s: %s", name, endpoint.id, exc)
    log.info("listener %r disconnected from %s", name, endpoint.id)


async def _endpoint(ctx: ApiContext, websocket: WebSocket, ref: str) -> Endpoint:
    """The relay endpoint this connection listens as, after the key and the app are checked."""
    caller = await ctx.auth.authenticate(websocket.headers.get("authorization"))
    found = await ctx.app(ref)
    caller.require_app(found.id, ref)
    params = websocket.query_params
    name = params.get("name", "default")
    raw = params.getlist("events")
    events = None
    if raw:
        events = validate_filters([e.strip() for v in raw for e in v.split(",") if e.strip()])
    return await ctx.store.relays.listener_endpoint(found.id, name, events)
