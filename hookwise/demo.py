"""``hookwise serve --demo``: a receiver route in the same process, an app, an endpoint pointed at
it, a few events, and the lines to see their attempts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from hookwise.api.auth import create_key
from hookwise.api.views import rfc3339
from hookwise.domain.envelope import envelope
from hookwise.domain.errors import VerificationError
from hookwise.domain.ids import new_id
from hookwise.domain.models import NewEndpoint, NewMessage
from hookwise.domain.signing import Verifier, new_secret
from hookwise.store.roles import Store

DEMO_PATH = "/demo/receiver"
DEMO_EVENTS = ("user.created", "invoice.paid", "email.replied")


@dataclass
class DemoReceiver:
    """What the demo receiver checks against and what it got."""

    secret: str = field(default_factory=new_secret)
    log: list[dict[str, Any]] = field(default_factory=list)

    def mount(self, app: FastAPI) -> None:
        """Add ``POST/GET /demo/receiver`` to ``app``."""
        router = APIRouter(include_in_schema=False)

        @router.post(DEMO_PATH)
        async def receive(request: Request) -> Response:
            body = await request.body()
            try:
                msg_id = Verifier.from_secrets(self.secret).verify(body, request.headers)
                verified = True
            except VerificationError:
                msg_id, verified = request.headers.get("webhook-id"), False
            event = orjson.loads(body).get("event") if body.startswith(b"{") else None
            self.log.append({"id": msg_id, "verified": verified, "at": time.time(), "event": event})
            return Response(status_code=204 if verified else 401)

        @router.get(DEMO_PATH)
        async def show() -> Response:
            return Response(orjson.dumps(self.log[-100:]), media_type="application/json")

        app.include_router(router)

    async def seed(self, store: Store, base_url: str) -> dict[str, str]:
        """Create an admin key, the demo app, its endpoint and a few events."""
        _, key = await create_key(store, "demo admin", None)
        app = await store.resources.create_app(
            name="demo", uid=None, metadata={}, results_inline_budget=262_144
        )
        ep = await store.resources.create_endpoint(
            NewEndpoint(
                app_id=app.id,
                url=base_url + DEMO_PATH,
                secret=self.secret,
                description="the demo receiver in this process",
            )
        )
        for i, event in enumerate(DEMO_EVENTS):
            mid = new_id("msg")
            now = datetime.now(UTC)
            body = envelope(event, mid, rfc3339(now), {"demo": i + 1})
            await store.messages.enqueue_message(NewMessage(
                app_id=app.id, event_type=event, body=body, message_id=mid, created_at=now,
            ))  # fmt: skip
        return {"key": key, "app_id": app.id, "endpoint_id": ep.id}
