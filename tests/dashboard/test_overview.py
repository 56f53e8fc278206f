"""The app overview: tabs, endpoint rows linking to their pages, and the live attempt log that
tells a message's attempts to each endpoint apart and adds new rows without a reload."""

from __future__ import annotations

import re

from tests.conftest import Api
from tests.dashboard.console import console
from tests.receivers import Receiver


async def test_the_overview_links_every_page(api: Api, receiver: Receiver) -> None:
    app = await api.app(name="Acme")
    ep = await api.endpoint(app["id"], url=receiver.url())
    async with console(api, api.admin_key) as c:
        page = (await c.get(f"/dashboard/apps/{app['id']}")).text
    base = f"/dashboard/apps/{app['id']}"
    assert f'<a href="{base}" data-tab="overview" aria-current="page">Overview</a>' in page
    for path, label in (
        ("/messages", "Messages"),
        ("/jobs", "Jobs"),
        ("/event-types", "Event types"),
    ):
        assert f'<a href="{base}{path}" data-tab="{path[1:]}">{label}</a>' in page
    assert f'<a href="{base}/endpoints/new" id="add-endpoint">Add endpoint</a>' in page
    assert f'<a href="{base}/endpoints/{ep["id"]}"><code>{receiver.url()}</code></a>' in page
    assert '<meta name="viewport"' in page and 'class="scroll"' in page


async def test_the_live_log_adds_new_attempts_with_their_endpoint(
    api: Api, receiver: Receiver
) -> None:
    app = await api.app(name="Acme")
    eps = [await api.endpoint(app["id"], url=receiver.url(f"/{n}")) for n in ("a", "b", "c")]
    first = await api.send(app["id"], "invoice.paid")
    await api.drain()
    live = f"/dashboard/apps/{app['id']}/live/attempts"
    async with console(api, api.admin_key) as c:
        page = (await c.get(f"/dashboard/apps/{app['id']}")).text
        rows = re.findall(r'<tr data-attempt="(att_\w+)" data-endpoint="(ep_\w+)"', page)
        assert {e for _, e in rows} == {e["id"] for e in eps}
        for n in ("a", "b", "c"):  # the URL column tells the three apart
            assert f"<td><code>{receiver.url('/' + n)}</code></td>" in page
        assert f'hx-get="{live}" hx-trigger="every 2s" hx-swap="afterbegin"' in page
        newest = rows[0][0]
        # htmx sends the newest row's id: the first row's hidden input
        assert 'hx-include="#attempt-rows > tr:first-child input[name=after]"' in page
        assert f'<input type="hidden" name="after" value="{newest}">' in page

        nothing = await c.get(live, params={"after": newest})
        assert nothing.status_code == 204 and nothing.text == ""  # htmx leaves the page be

        second = await api.send(app["id"], "invoice.paid")
        await api.drain()
        r = await c.get(live, params={"after": newest})
        assert r.status_code == 200 and "<html" not in r.text  # rows only
        added = re.findall(r'<tr data-attempt="(att_\w+)"[^>]* data-message="(msg_\w+)"', r.text)
        assert len(added) == 3 and {m for _, m in added} == {second["id"]}
        assert first["id"] not in r.text
        assert f'<input type="hidden" name="after" value="{added[0][0]}">' in r.text
        # an empty log asks from the start
        assert len(re.findall("<tr data-attempt", (await c.get(live)).text)) == 6


async def test_the_operations_poll_stops_when_none_runs(api: Api) -> None:
    app = await api.app(name="Acme")
    async with console(api, api.admin_key) as c:
        r = await c.get(f"/dashboard/apps/{app['id']}/live/operations")
    assert r.status_code == 286 and 'id="operations"' in r.text  # htmx stops polling on 286
