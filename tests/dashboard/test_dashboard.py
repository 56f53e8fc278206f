"""The dashboard: sign in, see apps, endpoints' health and attempts, press the replay buttons."""

from __future__ import annotations

import httpx

from hookwise.store.stepper import Stepper
from tests.conftest import Api
from tests.dashboard.console import console
from tests.receivers import Receiver
from tests.store.backlog import hold_backlog, step_to_end


async def test_login_pages_and_actions(api: Api, receiver: Receiver) -> None:
    app = await api.app(name="Acme")
    ep = await api.endpoint(app["id"], url=receiver.url(), retry_schedule=[])
    receiver.answer("/hook", 500)
    msg = await api.send(app["id"], "invoice.paid")
    await api.drain()

    async with httpx.AsyncClient(base_url=api.base_url) as anon:
        r = await anon.get("/dashboard")
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
        r = await anon.post("/dashboard/login", data={"key": "hwk_nope"})
        assert r.status_code == 401 and "not valid" in r.text

    async with console(api, api.admin_key) as c:
        r = await c.get("/dashboard")
        assert r.status_code == 200 and "Acme" in r.text
        page = (await c.get(f"/dashboard/apps/{app['id']}")).text
        assert receiver.url() in page and msg["id"] in page and "HTTP 500" in page
        assert "/dashboard/static/htmx.min.js" in page
        assert (await c.get("/dashboard/static/htmx.min.js")).status_code == 200

        # a post without the page's token (another site's form) is refused
        resend = f"/dashboard/apps/{app['id']}/messages/{msg['id']}/resend"
        r = await c.post(resend, headers={"X-CSRF-Token": "0" * 64})
        assert r.status_code == 403 and "token" in r.text
        r = await c.post(
            resend, data={"csrf_token": c.headers["X-CSRF-Token"]}, headers={"X-CSRF-Token": ""}
        )
        assert r.status_code == 403  # a header present but wrong is not rescued by a field
        hx = {"HX-Request": "true"}
        r = await c.post(f"/dashboard/apps/{app['id']}/messages/{msg['id']}/resend", headers=hx)
        assert r.status_code == 200 and "1 delivery re-queued" in r.text
        await api.drain()
        assert len(receiver.requests) == 2

        r = await c.post(f"/dashboard/apps/{app['id']}/endpoints/{ep['id']}/pause", headers=hx)
        assert "paused from the dashboard" in r.text
        r = await c.post(f"/dashboard/apps/{app['id']}/endpoints/{ep['id']}/enable", headers=hx)
        assert "re-enabled" in r.text
        ep_now = (await api.http.get(f"/v1/apps/{app['id']}/endpoints/{ep['id']}")).json()
        assert ep_now["status"] == "active"


async def test_app_key_sees_only_its_app(api: Api) -> None:
    a, b = await api.app(name="Alpha"), await api.app(name="Beta")
    key = (await api.http.post("/v1/keys", json={"name": "a", "app_id": a["id"]})).json()["key"]
    async with console(api, key) as c:
        home = (await c.get("/dashboard")).text
        assert "Alpha" in home and "Beta" not in home
        assert (await c.get(f"/dashboard/apps/{b['id']}")).status_code == 404


async def test_an_attempt_shows_the_body_it_sent(api: Api, receiver: Receiver) -> None:
    app = await api.app(name="Acme")
    await api.endpoint(app["id"], url=receiver.url("/raw"), payload_format="raw")
    await api.send(app["id"], "invoice.paid", payload={"invoice": "<inv-7>"})
    await api.drain()
    (att,) = await api.attempts(app["id"])
    async with console(api, api.admin_key) as c:
        page = (await c.get(f"/dashboard/apps/{app['id']}")).text
        link = f"/dashboard/apps/{app['id']}/attempts/{att['id']}"
        assert link in page
        detail = (await c.get(link)).text
    # the payload alone, as the raw endpoint got it, escaped for the page
    (got,) = receiver.requests
    assert got.body == b'{"invoice":"<inv-7>"}'
    assert "{&#34;invoice&#34;:&#34;&lt;inv-7&gt;&#34;}" in detail
    assert "the payload alone" in detail


async def test_the_app_page_follows_bulk_operations(api: Api) -> None:
    app = await api.app(name="Acme")
    ep = await api.endpoint(app["id"], url="http://127.0.0.1:9/h")
    path = f"/v1/apps/{app['id']}/endpoints/{ep['id']}"
    assert (await api.http.patch(path, json={"status": "paused"})).status_code == 200
    await hold_backlog(api.store, app["id"], ep["id"], 3000)
    hx = {"HX-Request": "true"}
    async with console(api, api.admin_key) as c:
        live = f"/dashboard/apps/{app['id']}/live"
        assert "No bulk operations." in (await c.get(live)).text
        r = await c.post(f"/dashboard/apps/{app['id']}/endpoints/{ep['id']}/enable", headers=hx)
        assert r.status_code == 200
        (op,) = (await api.http.get(f"/v1/apps/{app['id']}/operations")).json()["data"]
        row = _operation_row((await c.get(live)).text, op["id"])
        assert "release" in row and ep["id"] in row and "running" in row
        assert '<span class="done">1000</span>' in row and 'class="total"' not in row
        await step_to_end(Stepper(api.store.operations))
        row = _operation_row((await c.get(live)).text, op["id"])  # what htmx polls
        assert "done" in row and '<progress max="3000" value="3000">' in row
        assert '<span class="done">3000</span> / <span class="total">3000</span>' in row

        # "Retry failed (24 h)" is a recover, listed too (nothing failed: done at once)
        r = await c.post(f"/dashboard/apps/{app['id']}/endpoints/{ep['id']}/recover", headers=hx)
        assert "0 failed deliveries of the last 24 h re-queued" in r.text
        assert r.text.count("<tr data-operation=") == 2 and ">recover<" in r.text


def _operation_row(page: str, op_id: str) -> str:
    """The operations table's row of ``op_id`` in ``page``."""
    start = page.index(f'<tr data-operation="{op_id}"')
    return page[start : page.index("</tr>", start)]
