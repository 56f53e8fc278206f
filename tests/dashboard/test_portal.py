"""The customer portal: a single-use link opens a session of one app, branded; from it nothing
of another app is reachable, by any console URL (a test walks every route there is)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.routing import iter_route_contexts

from hookwise.dashboard.access import COOKIE
from tests.conftest import Api
from tests.dashboard.console import console, portal, portal_link
from tests.receivers import Receiver


async def test_a_portal_link_opens_its_app_once(api: Api) -> None:
    app = await api.app(
        name="Acme", uid="acme", portal_name="Acme Webhooks", portal_color="#ffd400"
    )
    link = await portal_link(api, "acme")
    assert link.startswith("/portal/hwp_")
    async with httpx.AsyncClient(base_url=api.base_url) as c:
        r = await c.head(link)  # a link checker's look does not use it up
        assert r.status_code == 405 and COOKIE not in c.cookies
        for _ in range(2):  # nor a link preview's GET: a page with the button that opens it
            r = await c.get(link)
            assert r.status_code == 200 and COOKIE not in c.cookies
            assert f'<form method="post" action="{link}">' in r.text
            assert 'id="portal-open"' in r.text
            assert r.headers["cache-control"] == "no-store"
        # the button, posted from another site's page: refused (it would sign the visitor in to
        # someone else's portal), and the link is still unused
        r = await c.post(link, headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403 and COOKIE not in c.cookies
        r = await c.post(link, headers={"Origin": "https://elsewhere.example"})
        assert r.status_code == 403 and COOKIE not in c.cookies
        r = await c.post(link, headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 200 and c.cookies[COOKIE].startswith("hws_")
        target = f"/dashboard/apps/{app['id']}"
        # a same-page move on, not a 303: see hookwise.dashboard.portal
        assert f'<meta http-equiv="refresh" content="0;url={target}">' in r.text
        assert f'<a id="portal-continue" href="{target}">' in r.text
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["referrer-policy"] == "no-referrer"
        home = await c.get("/dashboard")
        assert home.status_code == 303 and home.headers["location"] == target
        page = await c.get(target)
        assert page.status_code == 200
        header = page.text[page.text.index('<header class="top"') : page.text.index("</header>")]
        assert 'data-kind="portal"' in header and "--bar: #ffd400; --bar-text: #000000" in header
        assert '<a class="brand" id="portal-brand" href="/dashboard">Acme Webhooks</a>' in header
        assert "Inspector" not in header and ">hookwise<" not in header
        assert "Signed in: portal" in header and 'id="sign-out"' in header
        assert "<title>Acme" in page.text

    # a second opening, in another browser: the link was used
    async with httpx.AsyncClient(base_url=api.base_url) as other:
        for send in (other.get, other.post):
            r = await send(link)
            assert r.status_code == 410 and "This link was already used" in r.text
            assert 'data-refused="used"' in r.text and COOKIE not in other.cookies
            assert 'id="portal-open"' not in r.text
        r = await other.get("/portal/hwp_not-a-link")
        assert r.status_code == 404 and "This link is not valid" in r.text
        token, _ = await api.store.sessions.create_portal_link(app["id"], 60, now=time.time() - 61)
        r = await other.get(f"/portal/{token}")
        assert r.status_code == 410 and "This link has expired" in r.text
        assert "Traceback" not in r.text and COOKIE not in other.cookies


async def test_an_operator_makes_a_portal_link_in_the_console(api: Api) -> None:
    app = await api.app(name="Acme", uid="acme-ops")
    made = f"/dashboard/apps/{app['id']}/portal-link"
    async with console(api, api.admin_key) as ops:
        page = (await ops.get(f"/dashboard/apps/{app['id']}")).text
        assert f'hx-post="{made}"' in page and 'id="portal-link-made"' in page
        r = await ops.post(made, headers={"X-CSRF-Token": "0" * 64})
        assert r.status_code == 403 and "/portal/hwp_" not in r.text
        r = await ops.post(made, headers={"HX-Request": "true"})
        assert r.status_code == 200 and 'id="portal-link-url"' in r.text
        url = re.search(r'value="([^"]+/portal/hwp_[^"]+)"', r.text)
        assert url is not None and url.group(1).startswith(api.base_url)
        assert "<time datetime=" in r.text  # when it expires
    async with httpx.AsyncClient(base_url=api.base_url) as customer:
        path = httpx.URL(url.group(1)).path
        r = await customer.post(path, headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 200 and customer.cookies[COOKIE].startswith("hws_")
    async with portal(api, app["id"]) as c:  # a customer neither sees nor makes one
        page = (await c.get(f"/dashboard/apps/{app['id']}")).text
        assert "portal-link" not in page
        assert (await c.post(made)).status_code == 404


async def test_without_a_brand_the_portal_shows_the_app_name(api: Api) -> None:
    app = await api.app(name="Plain <b>Co</b>")
    async with portal(api, app["id"]) as c:
        page = (await c.get(f"/dashboard/apps/{app['id']}")).text
    assert 'id="portal-brand" href="/dashboard">Plain &lt;b&gt;Co&lt;/b&gt;</a>' in page
    assert "--bar: #1d2433; --bar-text: #ffffff" in page


async def test_the_customer_acts_on_their_own_app_only(api: Api, receiver: Receiver) -> None:
    a, b = await api.app(name="Alpha"), await api.app(name="Beta", uid="beta")
    ep_a = await api.endpoint(a["id"], url=receiver.url("/a"))
    ep_b = await api.endpoint(b["id"], url=receiver.url("/b"))
    async with portal(api, a["id"]) as c:
        assert (await c.get(f"/dashboard/apps/{a['id']}")).status_code == 200
        hx = {"HX-Request": "true"}
        r = await c.post(f"/dashboard/apps/{a['id']}/endpoints/{ep_a['id']}/pause", headers=hx)
        assert r.status_code == 200 and "paused" in r.text
        # the same action without the token is refused
        r = await c.post(
            f"/dashboard/apps/{a['id']}/endpoints/{ep_a['id']}/enable",
            headers={**hx, "X-CSRF-Token": "0" * 64},
        )
        assert r.status_code == 403
        missing = await c.get("/dashboard/apps/app_0000000000000000000000000")
        for ref in (b["id"], "beta"):
            r = await c.get(f"/dashboard/apps/{ref}")
            assert r.status_code == 404
            assert r.text.replace(ref, "X") == missing.text.replace(
                "app_0000000000000000000000000", "X"
            )
            r = await c.post(f"/dashboard/apps/{ref}/endpoints/{ep_b['id']}/pause", headers=hx)
            assert r.status_code == 404 and "Beta" not in r.text
        # the operator's pages are not the customer's
        for path in ("/dashboard/inspector", "/dashboard/apps", "/dashboard/apps/"):
            assert (await c.get(path)).status_code == 404, path
        assert (await c.post("/dashboard/inspector/bins", data={"name": "x"})).status_code == 404
        # the session is the console's only: the API wants a key
        assert (await c.get(f"/v1/apps/{a['id']}/endpoints")).status_code == 401
        assert (await c.post(f"/v1/apps/{a['id']}/portal-links")).status_code == 401
    got = (await api.http.get(f"/v1/apps/{b['id']}/endpoints/{ep_b['id']}")).json()
    assert got["status"] == "active"
    got = (await api.http.get(f"/v1/apps/{a['id']}/endpoints/{ep_a['id']}")).json()
    assert got["status"] == "paused"
    async with console(api, api.admin_key) as ops:  # an operator still reaches the inspector
        assert (await ops.get("/dashboard/inspector")).status_code == 200


# -- every route ------------------------------------------------------------------------------


@dataclass
class Other:
    """App B's things, as path parameters: the real value, and one of the same form that
    names nothing."""

    real: dict[str, str]
    fake: dict[str, str]
    secrets: list[str]  # what a reply must never show (B's name, URL, secret, …)


_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_ACTIONS = ["pause", "enable", "test", "rotate", "reveal", "recover", "edit", "resend", "replay"]


def _kind(param: str) -> str:
    """Which of B's things a path parameter names, by its name (an unknown one: the app)."""
    for fragment, kind in (
        ("endpoint", "ep"), ("ep", "ep"), ("message", "msg"), ("msg", "msg"),
        ("attempt", "att"), ("delivery", "dlv"), ("job", "job"), ("capture", "req"),
        ("bin", "bin"), ("operation", "op"), ("token", "token"), ("action", "action"),
        ("event", "event"), ("name", "event"), ("app", "app"),
    ):  # fmt: skip
        if fragment in param.lower():
            return kind
    return "app"


def _paths(template: str, values: dict[str, str]) -> list[str]:
    """``template`` with every parameter replaced by the value of its kind (each action)."""
    out = [template]
    for name in _PARAM.findall(template):
        choices = _ACTIONS if _kind(name) == "action" else [values[_kind(name)]]
        pattern = "{" + name + r"(?::\w+)?}"
        out = [re.sub(pattern, v, p, count=1) for p in out for v in choices]
    return out


async def _other_app(api: Api, receiver: Receiver) -> Other:
    b = await api.app(name="Zeta Secret Corp", uid="zeta-secret-uid")
    ep = await api.endpoint(
        b["id"], url=receiver.url("/zeta-secret-hook"), secret="whsec_" + "Z" * 32
    )
    msg = await api.send(b["id"], "zeta.happened", payload={"zeta": "payload-secret"})
    await api.drain()
    (att,) = await api.attempts(b["id"])
    (dlv,) = (await api.http.get(f"/v1/apps/{b['id']}/deliveries")).json()["data"]
    job = await api.http.post(f"/v1/apps/{b['id']}/jobs", json={"type": "zeta.job"})
    key = (await api.http.post("/v1/keys", json={"name": "zeta", "app_id": b["id"]})).json()
    made = await api.http.post(
        "/v1/inspector/bins",
        json={"name": "zeta-bin"},
        headers={"Authorization": f"Bearer {key['key']}"},
    )
    bin_id = made.json()["id"]
    async with httpx.AsyncClient(base_url=api.base_url) as anon:
        await anon.post(f"/inspect/{bin_id}", content=b"zeta-capture")
    capture = (await api.http.get(f"/v1/inspector/bins/{bin_id}/requests")).json()["data"][0]
    real = {
        "app": b["id"], "ep": ep["id"], "msg": msg["id"], "att": att["id"], "dlv": dlv["id"],
        "job": job.json()["id"], "bin": bin_id, "req": capture["id"], "op": "op_" + "1" * 26,
        "token": "hwp_" + "x" * 43, "event": "zeta.happened",
    }  # fmt: skip
    fake = {k: (v if k in ("op", "token", "event") else v[: v.index("_") + 1] + "0" * 26)
            for k, v in real.items()}  # fmt: skip
    secrets = ["Zeta Secret Corp", "zeta-secret-uid", "zeta-secret-hook", "Z" * 32,
               "payload-secret", "zeta-bin", "zeta-capture", key["key"]]  # fmt: skip
    return Other(real, fake, secrets)


def _console_routes(api: Api) -> list[tuple[str, str]]:
    """(method, path template) of every route under /dashboard and /portal, however included."""
    out = []
    for route in iter_route_contexts(api.services.api.routes):
        path, methods = route.path, route.methods
        if path and methods and path.startswith(("/dashboard", "/portal")):
            out += [(m, path) for m in sorted(methods) if m != "HEAD"]
    return out


async def _in_portal(api: Api, c: httpx.AsyncClient, app_id: str) -> None:
    """Keep ``c`` in app A's portal (a route walked may have signed it out)."""
    r = await c.get("/dashboard")
    if r.status_code == 303 and r.headers["location"] == f"/dashboard/apps/{app_id}":
        return
    link = await portal_link(api, app_id)
    opened = await c.post(link, headers={"Sec-Fetch-Site": "same-origin"})
    assert opened.status_code == 200
    page = (await c.get(f"/dashboard/apps/{app_id}")).text
    c.headers["X-CSRF-Token"] = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]


def _normal(r: httpx.Response, values: list[str]) -> tuple[int, str, str]:
    """The answer with each of ``values`` (the path's parameters) read as ``<v>``."""
    location, text = r.headers.get("location", ""), r.text
    for v in sorted(values, key=len, reverse=True):
        location, text = location.replace(v, "<v>"), text.replace(v, "<v>")
    return r.status_code, location, text


async def test_no_console_route_shows_a_portal_session_another_app(
    api: Api, receiver: Receiver
) -> None:
    """Every route under /dashboard and /portal, with a portal session of app A and B's ids
    (and B's uid) in its path: B's values get exactly the answer values naming nothing get,
    and no answer shows any of B's things. New routes are walked as they are added."""
    a = await api.app(name="Alpha")
    b = await _other_app(api, receiver)
    before = await _snapshot(api, b.real["app"])
    routes = _console_routes(api)
    assert {("GET", "/dashboard/apps/{app_ref}"), ("POST", "/dashboard/logout")} <= set(routes)
    assert {("GET", "/portal/{token}"), ("POST", "/portal/{token}")} <= set(routes)
    walked = 0
    async with portal(api, a["id"]) as c:
        for method, template in routes:
            uses = {_kind(n) for n in _PARAM.findall(template)} - {"action", "event"}
            refs = [b.real["app"], "zeta-secret-uid"] if "app" in uses else [b.real["app"]]
            for app_ref in refs:
                real = _paths(template, {**b.real, "app": app_ref})
                fake = _paths(template, {**b.fake, "app": b.fake["app"]})
                for real_path, fake_path in zip(real, fake, strict=True):
                    await _in_portal(api, c, a["id"])
                    got = await _ask(c, method, real_path)
                    await _in_portal(api, c, a["id"])
                    missing = await _ask(c, method, fake_path)
                    walked += 1
                    where = f"{method} {real_path}"
                    for secret in (s for s in b.secrets if s not in real_path):  # not echoed
                        assert secret not in got.text, where
                        assert secret not in got.headers.get("location", ""), where
                    if uses:
                        assert got.status_code in (303, 401, 403, 404, 405, 410), where
                        named = [app_ref, *(b.real[k] for k in uses)]
                        nothing = [b.fake["app"], *(b.fake[k] for k in uses)]
                        assert _normal(got, named) == _normal(missing, nothing), where
    assert walked >= 10
    assert await _snapshot(api, b.real["app"]) == before  # and nothing of B's changed


async def _ask(c: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    if method == "GET":
        return await c.get(path)
    return await c.request(method, path, data={"secret": "", "url": "http://127.0.0.1:9/x"})


async def _snapshot(api: Api, app_id: str) -> Any:
    """B's state as the API reads it: its endpoints (with their secrets), messages, attempts."""
    eps = (await api.http.get(f"/v1/apps/{app_id}/endpoints")).json()["data"]
    secrets = [
        (await api.http.get(f"/v1/apps/{app_id}/endpoints/{e['id']}/secret")).json() for e in eps
    ]
    msgs = (await api.http.get(f"/v1/apps/{app_id}/messages")).json()["data"]
    atts = await api.attempts(app_id)
    return eps, secrets, [m["id"] for m in msgs], [x["id"] for x in atts]
