"""An endpoint's payload_format: the envelope, or the producer's payload alone, signed alike
and shown in the attempt log exactly as sent (both stores)."""

from __future__ import annotations

import hashlib
import hmac

import orjson
from standardwebhooks.webhooks import Webhook

from tests.conftest import Api
from tests.receivers import Receiver

SEED_002_BODY = {
    "event": "email.replied",
    "workspace_id": 1,
    "timestamp": "2026-05-12T14:30:00Z",
    "data": {"lead_id": 42, "lead_email": "john@example.com", "campaign": "Q2 Outreach"},
}


async def test_raw_sends_the_payload_alone_and_envelope_wraps_it(
    api: Api, receiver: Receiver
) -> None:
    app = await api.app()
    raw = await api.endpoint(app["id"], url=receiver.url("/raw"), payload_format="raw")
    wrapped = await api.endpoint(app["id"], url=receiver.url("/wrapped"))
    assert raw["payload_format"] == "raw" and wrapped["payload_format"] == "envelope"
    msg = await api.send(app["id"], "email.replied", payload=SEED_002_BODY)
    await api.drain()

    got = {r.path: r for r in receiver.requests}
    assert orjson.loads(got["/raw"].body) == SEED_002_BODY
    assert got["/raw"].body == orjson.dumps(SEED_002_BODY)
    envelope = orjson.loads(got["/wrapped"].body)
    assert envelope["data"] == SEED_002_BODY and envelope["id"] == msg["id"]
    # the same signature headers, over the body each was sent
    secrets = {
        path: (await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret")).json()[
            "key"
        ]
        for path, ep in (("/raw", raw), ("/wrapped", wrapped))
    }
    for path, req in got.items():
        headers = {k.lower(): v for k, v in req.headers.items()}
        assert Webhook(secrets[path]).verify(req.body, headers)
        mac = hmac.new(secrets[path].encode(), req.body, hashlib.sha256).hexdigest()
        assert headers["x-webhook-signature"] == "sha256=" + mac

    # the attempt log says which body went out, and shows it exactly
    for path, ep in (("/raw", raw), ("/wrapped", wrapped)):
        (att,) = await api.attempts(app["id"], endpoint_id=ep["id"])
        assert att["payload_format"] == ("raw" if path == "/raw" else None)
        detail = (await api.http.get(f"/v1/apps/{app['id']}/attempts/{att['id']}")).json()
        assert detail["request_body"].encode() == got[path].body


async def test_the_app_default_and_a_change_of_format(api: Api, receiver: Receiver) -> None:
    app = await api.app(payload_format="raw")
    assert app["payload_format"] == "raw"
    ep = await api.endpoint(app["id"], url=receiver.url())
    assert ep["payload_format"] == "raw"
    explicit = await api.endpoint(app["id"], url=receiver.url("/e"), payload_format="envelope")
    assert explicit["payload_format"] == "envelope"

    path = f"/v1/apps/{app['id']}/endpoints/{ep['id']}"
    r = await api.http.patch(path, json={"payload_format": "envelope"})
    assert r.status_code == 200 and r.json()["payload_format"] == "envelope"
    r = await api.http.patch(path, json={"payload_format": None})
    assert r.status_code == 422 and "payload_format" in r.text
    r = await api.http.patch(path, json={"payload_format": "xml"})
    assert r.status_code == 422 and "payload_format" in r.text
    r = await api.http.patch(f"/v1/apps/{app['id']}", json={"payload_format": "envelope"})
    assert r.status_code == 200 and r.json()["payload_format"] == "envelope"
    later = await api.endpoint(app["id"], url=receiver.url("/later"))
    assert later["payload_format"] == "envelope"


async def test_job_events_go_out_as_built_to_a_raw_endpoint(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url(), payload_format="raw", events=["job.*"])
    r = await api.http.post(f"/v1/apps/{app['id']}/jobs", json={"type": "enrich"})
    job = r.json()
    r = await api.http.post(
        f"/v1/apps/{app['id']}/jobs/{job['id']}/finish", json={"status": "completed"}
    )
    assert r.status_code == 200, r.text
    await api.drain()
    (got,) = receiver.requests
    body = orjson.loads(got.body)
    assert body["event"] == "job.completed" and body["job_id"] == job["id"]
    (att,) = await api.attempts(app["id"])
    assert att["payload_format"] is None
