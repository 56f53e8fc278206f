"""The console's messages: filters, cursor pages both ways, one message with a Replay button
per delivery that re-queues that delivery alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.conftest import Api
from tests.dashboard.console import console
from tests.receivers import Receiver


def _rows(page: str) -> list[str]:
    """The message ids of the list's rows, in order."""
    return re.findall(r'<tr data-message="(msg_[0-9A-Za-z]+)"', page)


def _link(page: str, link_id: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"[^>]* id="{link_id}"', page)
    return found.group(1).replace("&amp;", "&") if found else None


async def test_filters_and_pages_keep_each_other(api: Api, receiver: Receiver) -> None:
    app = await api.app(name="Acme")
    await api.endpoint(app["id"], url=receiver.url(), retry_schedule=[])
    paid = [(await api.send(app["id"], "invoice.paid", payload={"i": i}))["id"] for i in range(5)]
    other = (await api.send(app["id"], "user.created"))["id"]
    # ids minted in one millisecond are in no order: the list's order is the ids'
    paid = sorted(paid)
    base = f"/dashboard/apps/{app['id']}/messages"
    async with console(api, api.admin_key) as c:
        page = (await c.get(base)).text
        assert _rows(page) == sorted([other, *paid], reverse=True)
        assert 'aria-current="page">Messages</a>' in page
        assert '<button type="submit">Filter</button>' in page

        r = await c.get(base, params={"event_type": "invoice.paid"})
        assert _rows(r.text) == paid[::-1]
        # the console's pages are of 50: start one from a cursor, as its Next link does
        first = await c.get(base, params={"event_type": "invoice.paid", "cursor": paid[3]})
        assert _rows(first.text) == paid[2::-1]
        nxt, newer = _link(first.text, "next"), _link(first.text, "newer")
        assert nxt is None  # the oldest is on this page
        assert newer == f"{base}?event_type=invoice.paid&newer={paid[2]}"
        back = await c.get(newer)
        assert _rows(back.text) == paid[:2:-1]  # the two just newer, and no more
        assert _link(back.text, "newer") is None
        assert _link(back.text, "next") == f"{base}?event_type=invoice.paid&cursor={paid[3]}"

        # by delivery status: one failed delivery
        receiver.answer("/hook", 500)
        await api.drain()
        failed = await c.get(base, params={"status": "failed"})
        (bad,) = _rows(failed.text)
        assert 'value="failed" selected' in failed.text
        ok = await c.get(base, params={"status": "succeeded", "event_type": "invoice.paid"})
        assert _rows(ok.text) == [m for m in paid[::-1] if m != bad]

        # by creation time, in UTC as the form says (a datetime-local value, or RFC 3339)
        soon = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
        assert _rows((await c.get(base, params={"since": soon})).text) == []
        assert len(_rows((await c.get(base, params={"until": soon})).text)) == 6
        assert len(_rows((await c.get(base, params={"until": soon + ":00Z"})).text)) == 6


async def test_bad_filters_say_what_is_wrong(api: Api) -> None:
    app = await api.app(name="Acme")
    base = f"/dashboard/apps/{app['id']}/messages"
    async with console(api, api.admin_key) as c:
        for params, says in [
            ({"status": "lost"}, "status: must be one of pending, succeeded"),
            ({"since": "yesterday"}, "since: must be a date and time like"),
            ({"since": "2026-12-06T10:00", "until": "2026-12-06T09:00"}, "until: must not be"),
            ({"event_type": "no spaces"}, "event_type:"),
        ]:
            r = await c.get(base, params=params)
            assert r.status_code == 400 and says in r.text, (params, r.text[-600:])
            assert 'role="alert"' in r.text and "<form" in r.text  # the form stays to fix it
        r = await c.get(base, params={"cursor": "x" * 65})
        assert r.status_code == 422  # a cursor is never typed in: FastAPI's bound is enough


async def test_a_message_replays_one_delivery(api: Api, receiver: Receiver) -> None:
    app = await api.app(name="Acme")
    eps = [
        await api.endpoint(app["id"], url=receiver.url(f"/{n}"), retry_schedule=[])
        for n in ("a", "b", "c")
    ]
    receiver.answer("/b", 500)
    msg = await api.send(app["id"], "invoice.paid", payload={"amount": "<9>"}, tags=["t1"])
    await api.drain()
    dlvs = (
        await api.http.get(f"/v1/apps/{app['id']}/deliveries", params={"message_id": msg["id"]})
    ).json()["data"]
    by_ep = {d["endpoint_id"]: d for d in dlvs}
    failed = by_ep[eps[1]["id"]]
    assert failed["status"] == "failed"
    detail = f"/dashboard/apps/{app['id']}/messages/{msg['id']}"
    async with console(api, api.admin_key) as c:
        page = (await c.get(detail)).text
        assert "&#34;amount&#34;: &#34;&lt;9&gt;&#34;" in page  # pretty JSON, escaped
        assert "invoice.paid" in page and "t1" in page
        for ep in eps:
            assert f'data-endpoint="{ep["id"]}"' in page
            assert f'href="/dashboard/apps/{app["id"]}/endpoints/{ep["id"]}"' in page
        assert page.count(">Replay</button>") == 3
        assert "HTTP 500" in page  # the failed delivery's last error
        assert page.count('<tr data-attempt="') == 3  # the message's attempts

        replay = f"{detail}/deliveries/{failed['id']}/replay"
        assert (await c.post(replay, headers={"X-CSRF-Token": "0" * 64})).status_code == 403
        r = await c.post(replay)
        assert r.status_code == 200 and "Delivery re-queued" in r.text
        assert '<tr data-delivery="' in r.text  # the table htmx swaps in
        await api.drain()
    # only the failed delivery went out again
    assert [len(receiver.at(p)) for p in ("/a", "/b", "/c")] == [1, 2, 1]
    again = (await api.http.get(f"/v1/apps/{app['id']}/deliveries/{failed['id']}")).json()
    assert again["status"] == "succeeded" and again["attempt_count"] == 2


async def test_another_apps_message_and_delivery_are_unknown(api: Api, receiver: Receiver) -> None:
    a, b = await api.app(name="Alpha"), await api.app(name="Beta")
    await api.endpoint(b["id"], url=receiver.url())
    theirs = await api.send(b["id"], "invoice.paid")
    mine = await api.send(a["id"], "invoice.paid")
    (dlv,) = (
        await api.http.get(f"/v1/apps/{b['id']}/deliveries", params={"message_id": theirs["id"]})
    ).json()["data"]
    key = (await api.http.post("/v1/keys", json={"name": "a", "app_id": a["id"]})).json()["key"]
    async with console(api, key) as c:
        assert (
            await c.get(f"/dashboard/apps/{a['id']}/messages/{theirs['id']}")
        ).status_code == 404
        assert (await c.get(f"/dashboard/apps/{b['id']}/messages")).status_code == 404
        # a delivery of another app, or of another message, is not replayed
        r = await c.post(
            f"/dashboard/apps/{a['id']}/messages/{theirs['id']}/deliveries/{dlv['id']}/replay"
        )
        assert r.status_code == 404
        r = await c.post(
            f"/dashboard/apps/{a['id']}/messages/{mine['id']}/deliveries/{dlv['id']}/replay"
        )
        assert r.status_code == 404
    await api.drain()
    assert len(receiver.requests) == 1


async def test_the_api_filters_messages_alike(api: Api, receiver: Receiver) -> None:
    app = await api.app(name="Acme")
    await api.endpoint(app["id"], url=receiver.url(), retry_schedule=[])
    receiver.answer("/hook", 500)
    bad = await api.send(app["id"], "invoice.paid")
    await api.send(app["id"], "invoice.paid")
    await api.drain()
    path = f"/v1/apps/{app['id']}/messages"
    r = await api.http.get(path, params={"status": "failed"})
    assert [m["id"] for m in r.json()["data"]] == [bad["id"]]
    r = await api.http.get(path, params={"since": "2999-01-01T00:00:00Z"})
    assert r.json()["data"] == []
    r = await api.http.get(path, params={"since": "2026-01-01T00:00:00"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "since"
    r = await api.http.get(path, params={"status": "lost"})
    assert r.status_code == 422
