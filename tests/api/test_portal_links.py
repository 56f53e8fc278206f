"""Portal links (``POST /v1/apps/{app}/portal-links``) and the apps' portal brand, through the
API, the Python client and the CLI."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import httpx
from typer.testing import CliRunner

from hookwise.api.access_log import logged_path
from hookwise.cli import app as cli_app
from hookwise.client import AsyncClient
from tests.conftest import Api


def _seconds_left(expires_at: str) -> float:
    return datetime.fromisoformat(expires_at).timestamp() - time.time()


async def test_a_link_for_an_app_by_admin_or_its_own_key(api: Api) -> None:
    app = await api.app(name="Acme", uid="acme")
    r = await api.http.post("/v1/apps/acme/portal-links")
    assert r.status_code == 201 and set(r.json()) == {"url", "expires_at"}
    link = r.json()
    assert link["url"].startswith(f"{api.base_url}/portal/hwp_")
    assert link["expires_at"].endswith("Z") and 880 < _seconds_left(link["expires_at"]) <= 900
    r = await api.http.post(f"/v1/apps/{app['id']}/portal-links", json={"expires_in": 86400})
    assert r.status_code == 201 and 86300 < _seconds_left(r.json()["expires_at"]) <= 86400
    assert r.json()["url"] != link["url"]

    other = await api.app(name="Other")
    key = (await api.http.post("/v1/keys", json={"name": "a", "app_id": app["id"]})).json()["key"]
    async with httpx.AsyncClient(
        base_url=api.base_url, headers={"Authorization": f"Bearer {key}"}
    ) as own:
        assert (await own.post("/v1/apps/acme/portal-links")).status_code == 201
        r = await own.post(f"/v1/apps/{other['id']}/portal-links")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    async with httpx.AsyncClient(base_url=api.base_url) as anon:
        assert (await anon.post("/v1/apps/acme/portal-links")).status_code == 401
    assert (await api.http.post("/v1/apps/nope/portal-links")).status_code == 404


async def test_bad_link_requests_name_the_field(api: Api) -> None:
    await api.app(uid="acme")
    for body, field in (
        ({"expires_in": 59}, "expires_in"),
        ({"expires_in": 86401}, "expires_in"),
        ({"expires_in": "900"}, "expires_in"),
        ({"expires_at": 900}, "expires_at"),
    ):
        r = await api.http.post("/v1/apps/acme/portal-links", json=body)
        assert r.status_code == 422, body
        error = r.json()["error"]
        assert error["details"]["field"] == field and field in error["message"], error


async def test_links_are_made_under_the_public_url(api_factory: Any) -> None:
    api = await api_factory(public_url="https://hooks.example.com/")
    await api.app(uid="acme")
    r = await api.http.post("/v1/apps/acme/portal-links")
    assert r.json()["url"].startswith("https://hooks.example.com/portal/hwp_")


async def test_an_app_carries_its_portal_brand(api: Api) -> None:
    app = await api.app(name="Acme", portal_name="Acme Hooks", portal_color="#0B5CFF")
    assert app["portal_name"] == "Acme Hooks" and app["portal_color"] == "#0B5CFF"
    plain = await api.app(name="Plain")
    assert plain["portal_name"] is None and plain["portal_color"] is None
    r = await api.http.patch(f"/v1/apps/{app['id']}", json={"portal_color": "#00aa00"})
    assert r.status_code == 200 and r.json()["portal_color"] == "#00aa00"
    r = await api.http.patch(f"/v1/apps/{app['id']}", json={"portal_name": None})
    assert r.json()["portal_name"] is None and r.json()["portal_color"] == "#00aa00"
    got = (await api.http.get(f"/v1/apps/{app['id']}")).json()
    assert got["portal_name"] is None and got["portal_color"] == "#00aa00"
    for body in (
        {"portal_color": "red"}, {"portal_color": "#12345"}, {"portal_color": "#1234567"},
        {"portal_color": "#12345g"}, {"portal_color": "#fff"}, {"portal_color": "#fff; x"},
    ):  # fmt: skip
        r = await api.http.patch(f"/v1/apps/{app['id']}", json=body)
        assert r.status_code == 422 and "portal_color" in r.json()["error"]["message"], body
        r = await api.http.post("/v1/apps", json={"name": "x", **body})
        assert r.status_code == 422 and "portal_color" in r.json()["error"]["message"], body
    r = await api.http.post("/v1/apps", json={"name": "x", "portal_name": "n" * 101})
    assert r.status_code == 422 and "portal_name" in r.json()["error"]["message"]


async def test_the_openapi_document_describes_portal_links(api: Api) -> None:
    doc = (await api.http.get("/openapi.json")).json()
    op = doc["paths"]["/v1/apps/{app}/portal-links"]["post"]
    assert "201" in op["responses"] and "422" in op["responses"]
    app_in = doc["components"]["schemas"]["AppIn"]["properties"]
    assert app_in["portal_color"]["anyOf"][0]["pattern"] == "^#[0-9a-fA-F]{6}$"


async def test_the_client_and_the_cli_make_links(api: Api) -> None:
    await api.app(uid="acme")
    async with AsyncClient(api.base_url, api.admin_key) as hw:
        link = await hw.apps.portal_link("acme", expires_in=120)
    assert link["url"].startswith(f"{api.base_url}/portal/hwp_")
    assert 100 < _seconds_left(link["expires_at"]) <= 120
    environ = {"HOOKWISE_URL": api.base_url, "HOOKWISE_KEY": api.admin_key,
               "HOOKWISE_DB": "sqlite:////nonexistent/never.db"}  # fmt: skip
    args = ["apps", "portal-link", "acme", "--expires-in", "300"]
    result = await asyncio.to_thread(CliRunner().invoke, cli_app, args, env=environ)
    assert result.exit_code == 0, result.output
    (url,) = result.stdout.split()
    assert url.startswith(f"{api.base_url}/portal/hwp_")
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(url)).status_code == 200  # it opens


def test_the_access_log_masks_a_portal_link() -> None:
    assert logged_path("/portal/hwp_secret-token") == "/portal/***"
    assert logged_path("/v1/apps/acme/portal-links") == "/v1/apps/acme/portal-links"
