"""``hookwise serve --demo``: a receiver route in the same process, an app, an endpoint pointed at
it, a few events, and the lines to see their attempts."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from hookwise.api.auth import create_key, hash_key
from hookwise.api.views import rfc3339
from hookwise.domain.envelope import envelope
from hookwise.domain.errors import NotFound, VerificationError
from hookwise.domain.ids import new_id
from hookwise.domain.models import NewEndpoint, NewMessage
from hookwise.domain.signing import Verifier, new_secret
from hookwise.store.roles import Store

DEMO_PATH = "/demo/receiver"
DEMO_EVENTS = ("user.created", "invoice.paid", "email.replied")
DEMO_UID = "demo"
DEMO_KEY_NAME = "demo admin"


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

    async def seed(
        self, store: Store, base_url: str, *, key_file: Path | None = None
    ) -> dict[str, str]:
        """The demo app (uid ``demo``), its endpoint at this receiver and an admin key: found
        again when a previous run made them (the key read back from ``key_file``), else
        created, with a few events for the new endpoint to receive."""
        key, reused_key = await _admin_key(store, key_file)
        try:
            app = await store.resources.get_app(DEMO_UID)
        except NotFound:
            app = await store.resources.create_app(
                name="demo", uid=DEMO_UID, metadata={}, results_inline_budget=262_144
            )
        url = base_url + DEMO_PATH
        page = await store.resources.list_endpoints(app.id, limit=1000, cursor=None)
        found = next((e for e in page.data if e.url == url), None)
        if found is not None:
            self.secret = found.secret  # verify what the kept endpoint signs
            return {"key": key, "app_id": app.id, "endpoint_id": found.id,
                    "reused": "yes" if reused_key else ""}  # fmt: skip
        ep = await store.resources.create_endpoint(
            NewEndpoint(
                app_id=app.id, url=url, secret=self.secret,
                description="the demo receiver in this process",
            )
        )  # fmt: skip
        for i, event in enumerate(DEMO_EVENTS):
            mid = new_id("msg")
            now = datetime.now(UTC)
            body = envelope(event, mid, rfc3339(now), {"demo": i + 1})
            await store.messages.enqueue_message(NewMessage(
                app_id=app.id, event_type=event, body=body, message_id=mid, created_at=now,
            ))  # fmt: skip
        return {"key": key, "app_id": app.id, "endpoint_id": ep.id,
                "reused": "yes" if reused_key else ""}  # fmt: skip


async def _admin_key(store: Store, key_file: Path | None) -> tuple[str, bool]:
    """The demo's admin key and whether it was kept from a previous run. Without a file to
    keep it in, the previous demo keys are revoked and one new key made: never a pile."""
    if key_file is not None and key_file.exists():
        kept = key_file.read_text().strip()
        if await store.resources.get_api_key_by_hash(hash_key(kept)) is not None:
            return kept, True
    old = await store.resources.list_api_keys(app_id=None, limit=1000, cursor=None)
    for k in old.data:
        if k.name == DEMO_KEY_NAME:
            await store.resources.delete_api_key(k.id)
    _, key = await create_key(store, DEMO_KEY_NAME, None)
    if key_file is not None:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
    return key, False
