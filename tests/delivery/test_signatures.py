"""Deliveries verify with the standardwebhooks reference library and with a plain hex HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import Api
from tests.receivers import Receiver


def _hex_ok(key: bytes, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


@pytest.mark.parametrize(
    "secret", ["whsec_" + base64.b64encode(b"k" * 24).decode(), "plain string secret"]
)
async def test_signatures_verify(api: Api, receiver: Receiver, secret: str) -> None:
    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url(), secret=secret)
    msg = await api.send(app["id"])
    await api.drain()
    (got,) = receiver.requests
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    # the reference verifier takes a whsec_ secret or raw key bytes
    ref = Webhook(secret) if secret.startswith("whsec_") else Webhook(key)
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert ref.verify(got.body, headers)["id"] == msg["id"]
    # X-Webhook-Signature is keyed by the secret exactly as shown (seed 002's verifier)
    shown = secret.encode()
    assert _hex_ok(shown, got.body, got.headers["X-Webhook-Signature"])
    assert not _hex_ok(shown, got.body + b" ", got.headers["X-Webhook-Signature"])


async def test_rotation_signs_with_both_secrets(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url())
    old = (await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret")).json()["key"]
    r = await api.http.post(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret/rotate", json={})
    assert r.status_code == 200, r.text
    new = r.json()["key"]
    assert new != old and new.startswith("whsec_")
    r = await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret")
    assert r.json()["key"] == new and r.json()["previous"][0]["key"] == old

    await api.send(app["id"])
    await api.drain()
    (got,) = receiver.requests
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert len(headers["webhook-signature"].split()) == 2
    Webhook(old).verify(got.body, headers)
    Webhook(new).verify(got.body, headers)
    assert _hex_ok(new.encode(), got.body, got.headers["X-Webhook-Signature"])


async def test_rotation_without_grace_drops_the_old_secret(api: Api, receiver: Receiver) -> None:
    from standardwebhooks.webhooks import WebhookVerificationError

    app = await api.app()
    ep = await api.endpoint(app["id"], url=receiver.url())
    old = (await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret")).json()["key"]
    r = await api.http.post(
        f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret/rotate", json={"grace_seconds": 0}
    )
    new = r.json()["key"]
    await api.send(app["id"])
    await api.drain()
    headers = {k.lower(): v for k, v in receiver.requests[0].headers.items()}
    Webhook(new).verify(receiver.requests[0].body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(receiver.requests[0].body, headers)


async def test_same_webhook_id_and_fresh_timestamp_on_retries(api: Api, receiver: Receiver) -> None:
    app = await api.app()
    await api.endpoint(app["id"], url=receiver.url(), retry_schedule=[1.1])
    receiver.answer("/hook", 500, 200)
    await api.send(app["id"])
    await api.drain()
    a, b = receiver.requests
    assert a.headers["webhook-id"] == b.headers["webhook-id"]
    assert a.body == b.body
    assert int(b.headers["webhook-timestamp"]) > int(a.headers["webhook-timestamp"])
