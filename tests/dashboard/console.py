"""A console session for tests: signed in with a key (or through a portal link), sending the
page's CSRF token."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx

from tests.conftest import Api


def page_token(page: str) -> str:
    """The CSRF token a console page gives htmx."""
    found = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


@contextlib.asynccontextmanager
async def console(api: Api, key: str) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in with ``key``; every request sends the token the console's pages carry."""
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as c:
        r = await c.post("/dashboard/login", data={"key": key})
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"
        c.headers["X-CSRF-Token"] = page_token((await c.get("/dashboard")).text)
        yield c


async def portal_link(api: Api, app_ref: str, **body: int) -> str:
    """A fresh portal link of ``app_ref``, made with the admin key: its path."""
    r = await api.http.post(f"/v1/apps/{app_ref}/portal-links", json=body or None)
    assert r.status_code == 201, r.text
    return str(httpx.URL(r.json()["url"]).path)


@contextlib.asynccontextmanager
async def portal(api: Api, app_ref: str) -> AsyncIterator[httpx.AsyncClient]:
    """A customer in ``app_ref``'s portal (opened by a fresh portal link), sending the token."""
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as c:
        link = await portal_link(api, app_ref)
        r = await c.post(link, headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 200 and 'id="portal-continue"' in r.text, r.text
        page = await c.get("/dashboard", follow_redirects=True)
        assert page.status_code == 200, page.text
        c.headers["X-CSRF-Token"] = page_token(page.text)
        yield c
