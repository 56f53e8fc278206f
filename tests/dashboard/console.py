"""A console session for tests: signed in with a key, sending the page's CSRF token."""

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
