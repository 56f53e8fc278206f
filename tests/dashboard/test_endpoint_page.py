"""The console's endpoint pages: settings, health and chart; every action through htmx and as a
plain form; the create and edit forms with the API's own validation, shown beside the field."""

from __future__ import annotations

import html
import logging
import re

import httpx
import pytest

from tests.conftest import Api
from tests.dashboard.console import console
from tests.receivers import Receiver

HX = {"HX-Request": "true", "HX-Target": "endpoint-status"}


def _note(page: str) -> str:
    found = re.search(r'<p class="note">(.*?)</p>', page, re.S)
    assert found, "no note on the page"
    return html.unescape(found.group(1))


def _field_error(page: str, field: str) -> str:
    found = re.search(rf'data-error="{field}">(.*?)</p>', page, re.S)
    assert found, f"no error beside {field}"
    return html.unescape(found.group(1))


async def test_the_page_shows_settings_health_and_the_chart(api: Api, receiver: Receiver) -> None:
    app = await api.app(name="Acme")
    ep = await api.endpoint(
        app["id"], url=receiver.url(), description="<b>billing</b>", events=["invoice.*"],
        headers={"Authorization": "Bearer s3cr3t"}, retry_schedule=[], rate_limit_per_second=5,
    )  # fmt: skip
    receiver.answer("/hook", 200, 500)
    await api.send(app["id"], "invoice.paid")
    await api.send(app["id"], "invoice.paid")
    await api.drain()
    secret = (await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret")).json()
    page_url = f"/dashboard/apps/{app['id']}/endpoints/{ep['id']}"
    async with console(api, api.admin_key) as c:
        r = await c.get(page_url)
        live = (await c.get(f"{page_url}/live")).text
    assert r.status_code == 200
    page = r.text
    assert receiver.url() in page and "invoice.*" in page and "5.0 per second" in page
    assert "&lt;b&gt;billing&lt;/b&gt;" in page and "<b>billing" not in page  # escaped
    assert "Authorization: ***" in page and "s3cr3t" not in page  # redacted as the API does
    assert secret["key"] not in page  # the secret only on request
    hour = re.search(r'data-window="hour">(.*?)</tr>', page, re.S)
    assert hour is not None
    assert "<td data-attempts>2</td>" in hour.group(1) and "50.0%" in hour.group(1)
    assert 'id="last-failure">Last failure: <time' in page and "HTTP 500" in page
    assert 'role="img"' in page and "1 succeeded, 1 failed" in page  # the chart, in words
    assert page.count('class="okbar"') == 1 and page.count('class="badbar"') == 1
    assert page.count("<tr data-attempt=") == 2 and 'role="status"' in page
    for name in ("Pause", "Send test event", "Reveal secret", "Rotate secret", "Recover",
                 "Save", "Delete endpoint"):  # fmt: skip
        assert f">{name}</button>" in page, name
    assert "<tr data-attempt=" in live and "<html" not in live  # what htmx polls


async def test_actions_update_the_page_and_say_what_happened(
    api: Api, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    app = await api.app(name="Acme")
    ep = await api.endpoint(app["id"], url=receiver.url(), retry_schedule=[])
    base = f"/dashboard/apps/{app['id']}/endpoints/{ep['id']}"
    api_ep = f"/v1/apps/{app['id']}/endpoints/{ep['id']}"
    async with console(api, api.admin_key) as c:
        r = await c.post(f"{base}/pause", headers=HX)
        assert r.status_code == 200 and _note(r.text).startswith("Endpoint paused")
        assert 'hx-swap-oob="innerHTML"' in r.text and ">Re-enable</button>" in r.text
        assert (await api.http.get(api_ep)).json()["status"] == "paused"
        r = await c.post(f"{base}/enable", headers=HX)
        assert _note(r.text).startswith("Endpoint re-enabled") and ">Pause</button>" in r.text
        assert (await api.http.get(api_ep)).json()["status"] == "active"

        # the test ping goes out now, to the real receiver, and its attempt is on the page
        r = await c.post(f"{base}/test", headers=HX)
        assert _note(r.text).startswith("Test event sent: HTTP 200")
        (got,) = receiver.requests
        assert b'"webhook.test"' in got.body
        (att,) = await api.attempts(app["id"])
        assert f'<tr data-attempt="{att["id"]}" data-trigger="test">' in r.text

        # reveal: the secret in this answer only, and a log line that names who, not the secret
        key = (await api.http.get(f"{api_ep}/secret")).json()["key"]
        with caplog.at_level(logging.INFO, logger="hookwise.dashboard"):
            r = await c.post(f"{base}/reveal", headers=HX)
        assert f'<code class="secret" id="secret">{key}</code>' in r.text
        (line,) = [m for m in caplog.messages if "secret revealed" in m]
        assert ep["id"] in line and app["id"] in line and "key_" in line and key not in line
        assert key not in (await c.get(base)).text

        # rotate, the old secret signing for an hour: the API's rotation
        r = await c.post(f"{base}/rotate", data={"grace_seconds": "3600"}, headers=HX)
        assert _note(r.text).startswith("Secret rotated; the old secret also signs until")
        after = (await api.http.get(f"{api_ep}/secret")).json()
        assert after["key"] != key and [p["key"] for p in after["previous"]] == [key]
        assert after["key"] not in r.text

        # recover since a time (UTC, as datetime-local sends it)
        receiver.always("/hook", 500)
        await api.send(app["id"], "a.b")
        await api.drain()
        r = await c.post(f"{base}/recover", data={"since": "2020-01-01T00:00"}, headers=HX)
        assert _note(r.text) == "1 failed delivery since 2020-01-01T00:00 UTC re-queued"
        r = await c.post(f"{base}/recover", data={"since": "yesterday"}, headers=HX)
        assert r.status_code == 200 and _note(r.text) == "Not done: since: must be an RFC 3339 time"

        # a plain form post (no script) gets the whole page with the note
        async with httpx.AsyncClient(base_url=api.base_url, cookies=c.cookies) as plain:
            r = await plain.post(f"{base}/pause", data={"csrf_token": c.headers["X-CSRF-Token"]})
        assert r.status_code == 200 and "<html" in r.text and "Endpoint paused" in r.text

        # without the session's token nothing happens
        r = await c.post(f"{base}/enable", headers={**HX, "X-CSRF-Token": "0" * 64})
        assert r.status_code == 403
        assert (await api.http.get(api_ep)).json()["status"] == "paused"


async def test_edit_uses_the_apis_validation_and_says_it_beside_the_field(
    api: Api, receiver: Receiver
) -> None:
    app = await api.app(name="Acme")
    ep = await api.endpoint(app["id"], url=receiver.url(), headers={"X-Token": "t0k"})
    base = f"/dashboard/apps/{app['id']}/endpoints/{ep['id']}"
    api_ep = f"/v1/apps/{app['id']}/endpoints/{ep['id']}"
    form = {
        "url": receiver.url("/v2"), "description": "new", "events": "invoice.paid, order.*",
        "retry_schedule": "5, 60", "timeout_seconds": "abc", "rate_limit_per_second": "",
        "max_in_flight": "4", "headers": "X-Token: ***\nX-Env: prod", "payload_format": "raw",
    }  # fmt: skip
    async with console(api, api.admin_key) as c:
        r = await c.post(f"{base}/edit", data=form, headers=HX)
        assert r.status_code == 200 and _note(r.text) == "Not saved: 1 problem to fix."
        assert _field_error(r.text, "timeout_seconds") == (
            "timeout_seconds: Input should be a valid number"
        )
        assert 'aria-invalid="true" aria-describedby="e-timeout_seconds"' in r.text
        assert 'value="abc"' in r.text  # the form as typed
        assert (await api.http.get(api_ep)).json()["url"] == receiver.url()  # nothing saved

        # the SSRF guard and the header rules: the API's words, beside the field
        bad = {**form, "timeout_seconds": "5", "url": "http://10.1.2.3/h", "headers": "Host: x"}
        said = await api.http.patch(api_ep, json={"url": "http://10.1.2.3/h"})
        r = await c.post(f"{base}/edit", data=bad, headers=HX)
        assert _field_error(r.text, "url") == said.json()["error"]["message"]
        said = await api.http.patch(api_ep, json={"headers": {"Host": "x"}})
        r = await c.post(f"{base}/edit", data={**bad, "url": receiver.url()}, headers=HX)
        assert _field_error(r.text, "headers") == said.json()["error"]["message"]
        r = await c.post(f"{base}/edit", data={**bad, "url": receiver.url(), "headers": "nope"})
        assert r.status_code == 422 and "<html" in r.text  # a plain post: the page again
        assert _field_error(r.text, "headers") == "headers: line 1 is not written Name: value"

        r = await c.post(f"{base}/edit", data={**form, "timeout_seconds": "7.5"}, headers=HX)
        assert _note(r.text) == "Saved."
    now = (await api.http.get(api_ep)).json()
    assert now["url"] == receiver.url("/v2") and now["events"] == ["invoice.paid", "order.*"]
    assert now["retry_schedule"] == [5, 60] and now["timeout_seconds"] == 7.5
    assert now["max_in_flight"] == 4 and now["payload_format"] == "raw"
    assert now["description"] == "new" and now["rate_limit_per_second"] is None
    clear = (await api.http.get(f"{api_ep}/headers")).json()["headers"]
    assert clear == {"X-Token": "t0k", "X-Env": "prod"}  # the redacted value was kept


async def test_create_shows_the_secret_once_then_delete(api: Api, receiver: Receiver) -> None:
    app = await api.app(name="Acme")
    new = f"/dashboard/apps/{app['id']}/endpoints/new"
    async with console(api, api.admin_key) as c:
        page = (await c.get(new)).text
        assert 'for="f-url"' in page and ">Create endpoint</button>" in page
        create = f"/dashboard/apps/{app['id']}/endpoints"
        token = {"csrf_token": c.headers["X-CSRF-Token"]}
        said = await api.http.post(
            create.replace("/dashboard", "/v1"), json={"url": "http://10.9.9.9/"}
        )
        r = await c.post(
            create, data={**token, "url": "http://10.9.9.9/", "secret": "typed-secret"}
        )
        assert r.status_code == 422 and "Not created: 1 problem" in r.text
        assert _field_error(r.text, "url") == said.json()["error"]["message"]
        assert "typed-secret" not in r.text and 'value="http://10.9.9.9/"' in r.text

        r = await c.post(create, data={
            **token, "url": receiver.url(), "events": "a.b", "retry_schedule": "",
            "timeout_seconds": "10", "payload_format": "", "headers": "",
        })  # fmt: skip
        assert r.status_code == 303
        (ep,) = (await api.http.get(f"/v1/apps/{app['id']}/endpoints")).json()["data"]
        assert r.headers["location"] == f"/dashboard/apps/{app['id']}/endpoints/{ep['id']}"
        assert ep["events"] == ["a.b"] and ep["payload_format"] == "envelope"
        key = (await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}/secret")).json()
        first = (await c.get(r.headers["location"])).text
        assert "Endpoint created." in first and key["key"] in first
        assert key["key"] not in (await c.get(r.headers["location"])).text  # once

        r = await c.post(f"{r.headers['location']}/delete", headers={"HX-Request": "true"})
        assert r.status_code == 204 and r.headers["HX-Redirect"] == f"/dashboard/apps/{app['id']}"
        gone = await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}")
        assert gone.status_code == 404


async def test_another_apps_endpoint_is_not_found(api: Api) -> None:
    a, b = await api.app(name="Alpha"), await api.app(name="Beta")
    theirs = await api.endpoint(b["id"], url="http://127.0.0.1:9/h")
    key = (await api.http.post("/v1/keys", json={"name": "a", "app_id": a["id"]})).json()["key"]
    async with console(api, key) as c:
        for path in (
            f"/dashboard/apps/{a['id']}/endpoints/{theirs['id']}",
            f"/dashboard/apps/{b['id']}/endpoints/{theirs['id']}",
            f"/dashboard/apps/{b['id']}/endpoints/new",
        ):
            assert (await c.get(path)).status_code == 404, path
        for action in ("pause", "reveal", "test", "edit", "delete"):
            for app_id in (a["id"], b["id"]):
                r = await c.post(
                    f"/dashboard/apps/{app_id}/endpoints/{theirs['id']}/{action}", headers=HX
                )
                assert r.status_code == 404 and "s3" not in r.text, (action, app_id)
    assert (await api.http.get(f"/v1/apps/{b['id']}/endpoints/{theirs['id']}")).json()[
        "status"
    ] == "active"
    async with httpx.AsyncClient(base_url=api.base_url) as anon:
        r = await anon.get(f"/dashboard/apps/{b['id']}/endpoints/{theirs['id']}")
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
