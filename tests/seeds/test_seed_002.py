"""Seed 002 (event subscriptions), set up through the API as that product would, with its
receivers' own verifier run unchanged.

The product keeps its envelope ``{event, workspace_id, timestamp, data}``: it posts it as the
message payload and its endpoints are ``raw``, so the body its customers get is the one they
got before, byte for byte, signed ``X-Webhook-Signature: sha256=<hex>`` with the secret as
they see it. Retries 2/4/8 s, auto-pause after 10 consecutive failures, re-enable by setting
the status to active, and a test ping.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from hookwise.client import AsyncClient
from tests.conftest import Api
from tests.receivers import Receiver
from tests.seeds.shapes import shape

VERIFY_JS = Path(__file__).with_name("verify_webhook.js")

EVENT_TYPES = [
    "email.sent", "email.opened", "email.clicked", "email.replied", "email.bounced",
    "lead.unsubscribed", "campaign.started", "campaign.completed", "campaign.paused",
    "lead.created", "lead.validated",
]  # fmt: skip

# the seed's documented webhook payload
DOCUMENTED = {
    "event": "email.replied",
    "workspace_id": 1,
    "timestamp": "2026-05-12T14:30:00Z",
    "data": {
        "lead_id": 42,
        "lead_email": "john@example.com",
        "lead_name": "John Smith",
        "lead_company": "Acme Inc",
        "campaign_id": 5,
        "campaign": "Q2 Outreach",
        "sender_id": 3,
        "sender": "alex@outreach.yourcompany.com",
        "message_id": "<abc123@outreach.yourcompany.com>",
    },
}


def product_event(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """What the product built before and now posts as the message payload."""
    return {"event": event, "workspace_id": 1, "timestamp": "2026-05-12T14:30:00Z", "data": data}


async def verify_webhook(tmp_path: Path, body: bytes, signature: str, secret: str) -> bool:
    """Seed 002's Node ``verifyWebhook``, run as it is printed."""
    path = tmp_path / "body.json"
    path.write_bytes(body)
    proc = await asyncio.create_subprocess_exec(
        "node", str(VERIFY_JS), str(path), signature, secret, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.strip() == b"true"


async def test_subscriptions_signature_ping_pause_and_re_enable(
    api: Api, receiver: Receiver, tmp_path: Path
) -> None:
    async with AsyncClient(api.base_url, api.admin_key) as hw:
        for name in EVENT_TYPES:
            await hw.event_types.create(name)
        app = await hw.apps.create("workspace 1", uid="ws-1", payload_format="raw")
        ws = app["id"]
        # "url", "secret", "events" as the seed's create call, its retry schedule
        filtered = await hw.endpoints.create(
            ws, receiver.url("/filtered"), secret="your-signing-secret",
            events=["email.sent", "email.replied", "email.bounced"], retry_schedule=[2, 4, 8],
        )  # fmt: skip
        everything = await hw.endpoints.create(ws, receiver.url("/all"), retry_schedule=[2, 4, 8])
        assert filtered["payload_format"] == everything["payload_format"] == "raw"
        generated = (await hw.endpoints.secret(ws, everything["id"]))["key"]
        assert generated.startswith("whsec_")

        await hw.messages.create(ws, "email.replied", DOCUMENTED)
        await hw.messages.create(ws, "campaign.started", product_event("campaign.started", {}))
        await api.drain()

        got = {(r.path, orjson.loads(r.body)["event"]): r for r in receiver.requests}
        assert set(got) == {
            ("/filtered", "email.replied"), ("/all", "email.replied"), ("/all", "campaign.started"),
        }  # fmt: skip
        for path, secret in (("/filtered", "your-signing-secret"), ("/all", generated)):
            req = got[(path, "email.replied")]
            assert req.body == orjson.dumps(DOCUMENTED)  # the same body, byte for byte
            assert shape(orjson.loads(req.body)) == shape(DOCUMENTED)
            signature = req.headers["X-Webhook-Signature"]
            assert await verify_webhook(tmp_path, req.body, signature, secret)
            assert not await verify_webhook(tmp_path, req.body + b" ", signature, secret)

        # the test ping answers with its attempt
        r = await api.http.post(f"/v1/apps/{ws}/endpoints/{filtered['id']}/test")
        assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
        assert receiver.at("/filtered")[-1].headers["webhook-id"] == r.json()["message_id"]

        # 10 consecutive failures pause the webhook; what comes meanwhile is held
        receiver.always("/filtered", 500)
        sent = [
            await hw.messages.create(ws, "email.sent", product_event("email.sent", {"n": i}))
            for i in range(10)
        ]
        await api.services.worker.drain(include_scheduled=False)
        paused = await hw.endpoints.get(ws, filtered["id"])
        assert paused["status"] == "paused" and paused["consecutive_failures"] == 10
        assert "10 consecutive" in paused["paused_reason"]

        # re-enable: status active resets the counter, and the held deliveries go out
        receiver.always("/filtered", 200)
        again = await hw.endpoints.update(ws, filtered["id"], status="active")
        assert again["status"] == "active" and again["consecutive_failures"] == 0
        await api.drain()
        r = await api.http.get(
            f"/v1/apps/{ws}/deliveries",
            params={"endpoint_id": filtered["id"], "status": "succeeded", "limit": 100},
        )
        assert {m["id"] for m in sent} <= {d["message_id"] for d in r.json()["data"]}
