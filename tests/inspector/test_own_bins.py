"""Seed 000's "test locally" step with nothing else installed: an endpoint points at a bin of
the same hookwise (the SSRF guard lets it through by name, and nothing else of loopback), the
message's attempt lands there and verifies with the endpoint's secret; a forged one does not."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from hookwise.delivery.http1 import Http1Client, RequestFailed
from hookwise.delivery.target import parse_target
from hookwise.domain.inspection import verdicts
from hookwise.domain.signing import Signer
from tests.inspector.helpers import own_url_api


async def test_an_endpoint_at_an_own_bin_delivers_and_verifies(settings_factory: Any) -> None:
    async with own_url_api(settings_factory) as api:
        app = await api.app(name="local test")
        b = (await api.http.post("/v1/inspector/bins")).json()
        assert b["url"].startswith(api.base_url + "/inspect/bin_")
        ep = await api.endpoint(app["id"], url=b["url"] + "/hook", retry_schedule=[])

        # nothing else of this server, nor of loopback, is let through
        for url in (
            f"{api.base_url}/v1/apps",
            f"{api.base_url}/inspect/{b['id']}/../../v1/keys",
            f"{api.base_url}/inspect/{b['id']}/%2e%2e/v1/keys",
            f"{api.base_url}/inspect/not-a-bin",
            f"http://127.0.0.2:{api.base_url.rsplit(':', 1)[1]}/inspect/{b['id']}",
            f"http://user:pw@{api.base_url[7:]}/inspect/{b['id']}",
        ):
            r = await api.http.post(f"/v1/apps/{app['id']}/endpoints", json={"url": url})
            assert r.status_code == 422, (url, r.text)

        msg = await api.send(app["id"], "invoice.paid", payload={"total": 42})
        await api.drain()
        (attempt,) = await api.attempts(app["id"])
        assert attempt["status"] == "succeeded" and attempt["response_status_code"] == 200

        (capture,) = (await api.http.get(f"/v1/inspector/bins/{b['id']}/requests")).json()["data"]
        assert capture["method"] == "POST" and capture["path"].endswith("/hook")
        assert capture["headers"]["webhook-id"] == msg["id"]
        secret = (await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret")).json()[
            "key"
        ]
        body = capture["body"].encode()
        received = time.time()
        got = verdicts(secret, body, capture["headers"], received, cut=False)
        assert [v.state for v in got] == ["verified", "verified"]
        wrong = verdicts("whsec_" + "A" * 32, body, capture["headers"], received, cut=False)
        assert [v.state for v in wrong] == ["not verified", "not verified"]

        # a forged request: signed with another secret
        signed = Signer.from_secrets(["whsec_" + "B" * 32]).headers("msg_x", int(received), body)
        async with httpx.AsyncClient(timeout=10) as anon:
            assert (await anon.post(b["url"], content=body, headers=signed)).status_code == 200
        forged = (await api.http.get(f"/v1/inspector/bins/{b['id']}/requests")).json()["data"][0]
        got = verdicts(secret, body, forged["headers"], received, cut=False)
        assert [v.state for v in got] == ["not verified", "not verified"]


async def test_an_unguarded_connection_is_never_reused_for_a_guarded_url(
    settings_factory: Any,
) -> None:
    """The pool keeps the own-bin connections apart: a URL of the same origin that is not a
    bin (a name that now resolves to loopback, say) still meets the guard."""
    async with own_url_api(settings_factory) as api:
        b = (await api.http.post("/v1/inspector/bins")).json()
        client = Http1Client(api.services.policy)
        data = b"Content-Length: 0\r\n\r\n"
        try:
            own = parse_target(b["url"], guarded=False)
            r = await client.post(own, own.prefix + data, 5)
            assert r.status == 200
            other = parse_target(f"{api.base_url}/v1/health")
            assert other.origin != own.origin
            with pytest.raises(RequestFailed, match="SSRF guard"):
                await client.post(other, other.prefix + data, 5)
        finally:
            await client.close()
