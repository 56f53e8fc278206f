"""The inspector's live page, over httpx against the real server: an endpoint at a bin of the
same hookwise, the capture marked verified under its secret, a forged one marked not verified,
everything a capture holds shown as escaped text, and a capture replayed to a URL."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from hookwise.domain.signing import Signer
from tests.conftest import Api
from tests.dashboard.console import console, page_token
from tests.inspector.helpers import own_url_api
from tests.receivers import Receiver

HX = {"HX-Request": "true"}


def _row(page: str, capture_id: str) -> str:
    found = re.search(rf'<tr data-capture="{capture_id}">(.*?)</tr>', page, re.S)
    assert found, capture_id
    return found.group(1)


def _shown(page: str) -> str:
    """The marker of what the captures fragment shows."""
    found = re.search(r'id="shown" name="shown" value="([0-9a-f]+)"', page)
    assert found, page
    return found.group(1)


def _states(row: str) -> list[str]:
    return re.findall(r'data-state="([^"]+)"', row)


async def test_the_page_marks_a_forged_capture_as_not_verified(
    settings_factory: Any, receiver: Receiver
) -> None:
    async with own_url_api(settings_factory) as api, console(api, api.admin_key) as c:
        app = await api.app(name="local test")
        r = await c.post("/dashboard/inspector/bins", data={"name": "seed 000"}, headers=HX)
        assert r.status_code == 204
        page_path = r.headers["HX-Redirect"]
        bin_id = page_path.rsplit("/", 1)[1]
        page = await c.get(page_path)
        assert (
            page.status_code == 200
            and "script-src 'self'" in page.headers["content-security-policy"]
        )
        url = f"{api.base_url}/inspect/{bin_id}"
        assert f'<code id="bin-url">{url}</code>' in page.text
        assert "seed 000" in (await c.get("/dashboard/inspector")).text

        ep = await api.endpoint(app["id"], url=url, retry_schedule=[])
        secret = (await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret")).json()
        await api.send(app["id"], "invoice.paid", payload={"note": "<script>alert(1)</script>"})
        await api.drain()
        body = b'{"forged": "<b>yes</b>"}'
        forged = Signer.from_secrets(["whsec_" + "B" * 32]).headers("msg_x", int(time.time()), body)
        async with httpx.AsyncClient(timeout=10) as anon:
            r = await anon.post(url, content=body, headers=forged)
            forged_id = r.headers["X-Hookwise-Capture"]
        real_id = (await api.http.get(f"/v1/inspector/bins/{bin_id}/requests")).json()["data"][1][
            "id"
        ]

        captures = f"/dashboard/inspector/{bin_id}/captures"
        no_token = {"X-CSRF-Token": "forged"}
        assert (
            await c.post(captures, data={"secret": secret["key"]}, headers=no_token)
        ).status_code == 403
        r = await c.post(captures, data={"secret": secret["key"]}, headers=HX)
        assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]
        assert _states(_row(r.text, real_id)) == ["verified", "verified"]
        assert _states(_row(r.text, forged_id)) == ["not verified", "not verified"]
        assert "no signature matches" in _row(r.text, forged_id)
        # escaped text, never markup
        assert "<script>alert" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
        assert "<b>yes</b>" not in r.text
        # without a secret nothing is claimed
        r = await c.post(captures, headers=HX)
        assert _states(_row(r.text, real_id)) == ["unknown", "unknown"]
        # polling: what the page shows again is a 204 (htmx leaves the page alone); the same
        # captures under another secret, or a new capture, are not
        unchecked = _shown(r.text)
        assert (await c.post(captures, data={"shown": unchecked}, headers=HX)).status_code == 204
        r = await c.post(captures, data={"shown": unchecked, "secret": secret["key"]}, headers=HX)
        assert r.status_code == 200 and _states(_row(r.text, real_id)) == ["verified"] * 2
        checked = {"shown": _shown(r.text), "secret": secret["key"]}
        assert checked["shown"] != unchecked and secret["key"] not in r.text
        assert (await c.post(captures, data=checked, headers=HX)).status_code == 204
        async with httpx.AsyncClient(timeout=10) as anon:
            newer = (await anon.post(url, content=b"{}")).headers["X-Hookwise-Capture"]
        r = await c.post(captures, data=checked, headers=HX)
        assert r.status_code == 200 and _states(_row(r.text, real_id)) == ["verified"] * 2
        assert _row(r.text, newer)

        # replay: to a receiver (the test allows no network: loopback is refused), then to
        # the bin itself
        replay = f"/dashboard/inspector/{bin_id}/captures/{real_id}/replay"
        r = await c.post(replay, data={"url": receiver.url()}, headers=HX)
        assert r.status_code == 200 and "Not replayed" in r.text and "loopback" in r.text
        assert not receiver.requests
        r = await c.post(replay, data={"url": url + "/again"}, headers=HX)
        assert r.status_code == 200 and "HTTP 200" in r.text, r.text
        got, *older = (await api.http.get(f"/v1/inspector/bins/{bin_id}/requests")).json()["data"]
        (original,) = (x for x in older if x["id"] == real_id)
        assert got["path"].endswith("/again") and got["body"] == original["body"]
        assert got["headers"]["webhook-signature"] == original["headers"]["webhook-signature"]


async def test_replay_reaches_an_allowed_url(api: Api, receiver: Receiver) -> None:
    b = (await api.http.post("/v1/inspector/bins")).json()
    async with httpx.AsyncClient(timeout=10) as anon:
        r = await anon.patch(b["url"], content=b"hello", headers={"X-One": "1", "Host": "x"})
        capture_id = r.headers["X-Hookwise-Capture"]
    receiver.answer("/hook", 418)
    async with console(api, api.admin_key) as c:
        r = await c.post(
            f"/dashboard/inspector/{b['id']}/captures/{capture_id}/replay",
            data={"url": receiver.url()},
            headers=HX,
        )
        assert "HTTP 418" in r.text, r.text
    (seen,) = receiver.requests
    assert seen.body == b"hello" and seen.headers.get("x-one") == "1"


async def test_the_page_needs_a_sign_in_and_hides_another_apps_bin(api: Api) -> None:
    b = (await api.http.post("/v1/inspector/bins")).json()
    app = await api.app(name="other")
    key = (await api.http.post("/v1/keys", json={"name": "k", "app_id": app["id"]})).json()["key"]
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as c:
        for path in ("/dashboard/inspector", f"/dashboard/inspector/{b['id']}"):
            r = await c.get(path)  # not signed in
            assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
        assert (
            await c.post(f"/dashboard/inspector/{b['id']}/captures", headers=HX)
        ).status_code == 401
        assert (await c.post("/dashboard/login", data={"key": key})).status_code == 303
        assert (await c.get(f"/dashboard/inspector/{b['id']}")).status_code == 404
        token = {"X-CSRF-Token": page_token((await c.get("/dashboard/inspector")).text)}
        r = await c.post(f"/dashboard/inspector/{b['id']}/captures", headers=token)
        assert r.status_code == 404
        assert b["id"] not in (await c.get("/dashboard/inspector")).text
