"""An attempt as it went over the wire: the request headers and body sent, the answer's status,
headers and body, with timing; in the console and through the API."""

from __future__ import annotations

import html

from tests.conftest import Api
from tests.dashboard.console import console
from tests.receivers import Receiver


async def test_the_headers_sent_and_received_are_shown_the_secrets_never(
    api: Api, receiver: Receiver
) -> None:
    app = await api.app(name="Acme")
    ep = await api.endpoint(
        app["id"], url=receiver.url(), headers={"X-Api-Token": "tok-s3cr3t"}, retry_schedule=[]
    )
    secret = (await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret")).json()
    receiver.answer("/hook", 503, headers={"X-Request-Id": "rq-<42>", "Retry-After": "9"})
    msg = await api.send(app["id"], "invoice.paid", payload={"n": "<b>1</b>"})
    await api.drain()
    (got,) = receiver.requests
    (att,) = await api.attempts(app["id"])

    detail = (await api.http.get(f"/v1/apps/{app['id']}/attempts/{att['id']}")).json()
    sent = detail["request_headers"]
    assert sent.startswith("POST /hook HTTP/1.1\nHost: 127.0.0.1:")
    # what the receiver got, header for header; the custom value redacted
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature", "X-Webhook-Signature"):
        assert f"{name}: {got.headers[name]}" in sent
    assert "X-Api-Token: ***" in sent and "tok-s3cr3t" not in sent
    assert got.headers["X-Api-Token"] == "tok-s3cr3t"
    assert secret["key"] not in sent
    assert f"Content-Length: {len(got.body)}" in sent
    assert "X-Request-Id: rq-<42>" in detail["response_headers"]
    assert "Retry-After: 9" in detail["response_headers"]
    # lists stay lean: the headers are on the attempt's own answer
    assert "request_headers" not in att

    async with console(api, api.admin_key) as c:
        page = (await c.get(f"/dashboard/apps/{app['id']}/attempts/{att['id']}")).text
    assert html.escape(f"webhook-id: {msg['id']}", quote=True) in page
    assert "X-Api-Token: ***" in page and "tok-s3cr3t" not in page
    assert secret["key"] not in page
    assert "X-Request-Id: rq-&lt;42&gt;" in page  # escaped, never markup
    assert 'id="response-status">HTTP 503' in page
    assert "&lt;b&gt;1&lt;/b&gt;" in page  # the body sent, escaped
    assert 'id="attempt-duration"' in page and "<time datetime=" in page
    assert f"/dashboard/apps/{app['id']}/endpoints/{ep['id']}" in page
    assert 'aria-current="page"' not in page  # an attempt is under no tab


async def test_an_attempt_with_no_answer_says_so(api: Api, receiver: Receiver) -> None:
    app = await api.app(name="Acme")
    await api.endpoint(app["id"], url="http://127.0.0.1:9/closed", retry_schedule=[])
    await api.send(app["id"], "invoice.paid")
    await api.drain()
    (att,) = await api.attempts(app["id"])
    async with console(api, api.admin_key) as c:
        page = (await c.get(f"/dashboard/apps/{app['id']}/attempts/{att['id']}")).text
    assert 'id="response-status">No answer: connection failed' in page
    assert 'id="request-headers"' in page  # what was sent, though nothing answered


async def test_another_apps_attempt_reads_as_unknown(api: Api, receiver: Receiver) -> None:
    a, b = await api.app(name="Alpha"), await api.app(name="Beta")
    await api.endpoint(b["id"], url=receiver.url())
    await api.send(b["id"], "invoice.paid")
    await api.drain()
    (att,) = await api.attempts(b["id"])
    key = (await api.http.post("/v1/keys", json={"name": "a", "app_id": a["id"]})).json()["key"]
    async with console(api, key) as c:
        mine = await c.get(f"/dashboard/apps/{a['id']}/attempts/{att['id']}")
        nope = await c.get(f"/dashboard/apps/{a['id']}/attempts/att_nope")
        theirs = await c.get(f"/dashboard/apps/{b['id']}/attempts/{att['id']}")
    assert mine.status_code == nope.status_code == 404
    assert theirs.status_code == 404
