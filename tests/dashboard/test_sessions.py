"""Console sessions: the cookie holds a session token (never the key), sign-out and a revoked
key end the session on the server, and every state change needs the session's own token."""

from __future__ import annotations

import httpx

from hookwise.dashboard.access import COOKIE
from tests.conftest import Api
from tests.dashboard.console import console, page_token


def _set_cookie(r: httpx.Response) -> str:
    (header,) = r.headers.get_list("set-cookie")
    return header


async def test_the_cookie_holds_a_session_token_with_strict_flags(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.base_url) as c:
        r = await c.post("/dashboard/login", data={"key": api.admin_key})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = _set_cookie(r)
    assert cookie.startswith(f"{COOKIE}=hws_") and api.admin_key not in cookie
    flags = {f.strip().lower() for f in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain HTTP: a Secure cookie would never come back


async def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(api: Api) -> None:
    # uvicorn trusts X-Forwarded-Proto from loopback (--forwarded-allow-ips), as here
    async with httpx.AsyncClient(base_url=api.base_url) as c:
        r = await c.post(
            "/dashboard/login",
            data={"key": api.admin_key},
            headers={"X-Forwarded-Proto": "https"},
        )
    assert r.status_code == 303
    assert "secure" in {f.strip().lower() for f in _set_cookie(r).split(";")}


async def test_sign_out_ends_the_session_on_the_server(api: Api) -> None:
    app = await api.app(name="Acme")
    async with console(api, api.admin_key) as c:
        stolen = c.cookies[COOKIE]
        token = c.headers["X-CSRF-Token"]
        r = await c.post("/dashboard/logout")
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
        assert COOKIE not in c.cookies
    # the old cookie, replayed, is nobody's session any more
    async with httpx.AsyncClient(base_url=api.base_url, cookies={COOKIE: stolen}) as c:
        r = await c.get(f"/dashboard/apps/{app['id']}")
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
        r = await c.post("/dashboard/logout", headers={"X-CSRF-Token": token})
        assert r.status_code == 303  # signing out twice is harmless
        action = f"/dashboard/apps/{app['id']}/endpoints/ep_x/pause"
        r = await c.post(action, headers={"X-CSRF-Token": token})
        assert r.status_code == 401 and "sign in" in r.text


async def test_signing_out_needs_the_token(api: Api) -> None:
    async with console(api, api.admin_key) as c:
        for headers in ({"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": ""}):
            r = await c.post("/dashboard/logout", headers=headers)
            assert r.status_code == 403 and "token" in r.text
        # a plain form (no header) with a wrong field, or none
        del c.headers["X-CSRF-Token"]
        r = await c.post("/dashboard/logout", data={"csrf_token": "f" * 64})
        assert r.status_code == 403
        r = await c.post("/dashboard/logout")
        assert r.status_code == 403
        assert (await c.get("/dashboard")).status_code == 200  # still signed in
        token = page_token((await c.get("/dashboard")).text)
        r = await c.post("/dashboard/logout", data={"csrf_token": token})  # the page's form
        assert r.status_code == 303 and (await c.get("/dashboard")).status_code == 303


async def test_each_session_has_its_own_token(api: Api) -> None:
    async with console(api, api.admin_key) as one, console(api, api.admin_key) as two:
        assert one.cookies[COOKIE] != two.cookies[COOKIE]
        assert one.headers["X-CSRF-Token"] != two.headers["X-CSRF-Token"]
        r = await two.post(
            "/dashboard/logout", headers={"X-CSRF-Token": one.headers["X-CSRF-Token"]}
        )
        assert r.status_code == 403


async def test_signing_in_again_ends_the_previous_session(api: Api) -> None:
    async with console(api, api.admin_key) as c:
        first = c.cookies[COOKIE]
        r = await c.post("/dashboard/login", data={"key": api.admin_key})
        assert r.status_code == 303 and c.cookies[COOKIE] != first
    async with httpx.AsyncClient(base_url=api.base_url, cookies={COOKIE: first}) as old:
        assert (await old.get("/dashboard")).status_code == 303


async def test_revoking_a_key_ends_its_console_sessions(api: Api) -> None:
    app = await api.app(name="Acme")
    made = (await api.http.post("/v1/keys", json={"name": "ops", "app_id": app["id"]})).json()
    async with console(api, made["key"]) as c:
        page = await c.get(f"/dashboard/apps/{app['id']}")
        assert page.status_code == 200 and "app key ops" in page.text
        assert (await api.http.delete(f"/v1/keys/{made['id']}")).status_code == 204
        r = await c.get(f"/dashboard/apps/{app['id']}")
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"


async def test_another_site_cannot_sign_a_visitor_in(api: Api) -> None:
    """Login CSRF: a form on another site posting its own key would sign the visitor in as
    the attacker (whose app would then get what the visitor types). Refused by origin."""
    async with httpx.AsyncClient(base_url=api.base_url) as c:
        for headers in (
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
            {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another app
        ):
            r = await c.post("/dashboard/login", data={"key": api.admin_key}, headers=headers)
            assert r.status_code == 403, headers
            assert "set-cookie" not in r.headers and COOKIE not in c.cookies
        # the console's own page, a browser that says nothing, and a script all sign in
        for headers in (
            {"Origin": api.base_url, "Sec-Fetch-Site": "same-origin"},
            {"Origin": api.base_url},
            {},
        ):
            r = await c.post("/dashboard/login", data={"key": api.admin_key}, headers=headers)
            assert r.status_code == 303, headers


async def test_the_layout_says_who_is_signed_in(api: Api) -> None:
    app = await api.app(name="Acme")
    async with console(api, api.admin_key) as c:
        page = (await c.get(f"/dashboard/apps/{app['id']}")).text
    assert '<meta name="viewport"' in page and 'href="#main"' in page and 'id="main"' in page
    assert 'id="signed-in-as">Signed in: admin test admin<' in page
    assert 'action="/dashboard/logout"' in page and 'name="csrf_token"' in page
    assert '<a href="/dashboard/inspector">Inspector</a>' in page and ">Apps</a>" in page
    assert ":focus-visible" in page and "/dashboard/static/console.js" in page
    assert 'data-kind="admin"' in page and 'id="portal-brand"' not in page
