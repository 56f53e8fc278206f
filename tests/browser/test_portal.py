"""The customer portal in Chromium: a link made through the API opens, in a fresh browser
context, a session of that app alone, under the app's brand; from it no route reaches another
app; a used or expired link says so; signing out ends the session."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import Browser, Page, expect

from hookwise.store import open_store
from tests.browser.conftest import Shoot, app_path, htmx_wired
from tests.browser.service import Hookwise
from tests.pg import run_async

BRAND = {"portal_name": "Acme Webhooks", "portal_color": "#0b6e4f"}
BRAND_RGB = "rgb(11, 110, 79)"


def open_portal(page: Page, hookwise: Hookwise, app: dict[str, Any]) -> None:
    """Follow a new portal link of ``app`` in ``page`` (a context of its own: no cookies) and
    press its button."""
    page.goto(hookwise.portal_link(app["id"]))
    page.get_by_role("button", name="Open the portal").click()
    expect(page).to_have_url(hookwise.url(app_path(app)))


def test_a_portal_link_opens_the_apps_branded_portal_once(
    page: Page, hookwise: Hookwise, shoot: Shoot
) -> None:
    app = hookwise._call("POST", "/v1/apps", 201, json={"name": "Acme internal", **BRAND})
    target = hookwise.bin("portal bin")
    hookwise.endpoint(app["id"], target["url"], retry_schedule=[])
    msg = hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_p1"})
    hookwise.delivered(app["id"])
    url = hookwise.portal_link(app["id"])

    page.goto(url)  # what a link preview fetches too: a page with a button, the link unused
    expect(page.locator("main#portal-link")).to_contain_text("opens your portal once")
    page.goto(url)
    page.get_by_role("button", name="Open the portal").click()
    expect(page).to_have_url(hookwise.url(app_path(app)))
    header = page.locator('header#console-header[data-kind="portal"]')
    expect(header).to_have_css("background-color", BRAND_RGB)
    expect(page.locator("#portal-brand")).to_have_text("Acme Webhooks")
    expect(page.get_by_role("link", name="Inspector")).to_have_count(0)  # the operator's only
    row = page.locator(f'#attempt-rows tr[data-message="{msg["id"]}"]')
    expect(row).to_have_attribute("data-status", "succeeded")
    expect(row).to_contain_text(target["url"])
    shoot(page, "portal", "The customer portal: one app, under the product's name and colour")

    page.goto(url)  # a link opens the portal once
    expect(page.locator('main#portal-link[data-refused="used"]')).to_contain_text("already used")
    shoot(page, "portal-link-used", "A portal link that was used already says so")


def test_an_expired_portal_link_is_refused(page: Page, hookwise: Hookwise, shoot: Shoot) -> None:
    app = hookwise.app("Expired")
    token = run_async(lambda: _expired_link(hookwise.db_url, app["id"]))
    response = page.goto(hookwise.url(f"/portal/{token}"))
    assert response is not None and response.status == 410
    refused = page.locator('main#portal-link[data-refused="expired"]')
    expect(refused).to_contain_text("This link has expired")
    expect(page.get_by_role("link", name="Continue to your portal")).to_have_count(0)
    shoot(page, "portal-link-expired", "An expired portal link is refused")

    page.goto(app_path(app))  # and it opened no session
    expect(page).to_have_url(hookwise.url("/dashboard/login"))


async def _expired_link(db_url: str, app_id: str) -> str:
    """A link made a minute and a second ago that lived a minute (the API's shortest)."""
    store = await open_store(db_url)
    try:
        token, _ = await store.sessions.create_portal_link(app_id, 60, now=time.time() - 61)
        return token
    finally:
        await store.close()


def test_a_portal_session_reaches_no_other_app(page: Page, hookwise: Hookwise) -> None:
    mine = hookwise.app("Mine")
    other, ep = hookwise.app_at_a_bin("Someone else")
    msg = hookwise.send(other["id"], "invoice.paid", {"invoice": "inv_secret"})
    (attempt,) = hookwise.delivered(other["id"])
    job = hookwise._call("POST", f"/v1/apps/{other['id']}/jobs", 201, json={"type": "export"})
    bin_id = ep["url"].rsplit("/", 1)[1]
    open_portal(page, hookwise, mine)

    theirs = [other["id"], other["name"], ep["id"], msg["id"], attempt["id"], job["id"], bin_id]
    for path in (
        app_path(other),
        app_path(other, "/live"),
        app_path(other, "/live/attempts"),
        app_path(other, "/messages"),
        app_path(other, f"/messages/{msg['id']}"),
        app_path(mine, f"/messages/{msg['id']}"),  # their id under my app
        app_path(other, f"/attempts/{attempt['id']}"),
        app_path(mine, f"/attempts/{attempt['id']}"),
        app_path(other, f"/endpoints/{ep['id']}"),
        app_path(mine, f"/endpoints/{ep['id']}"),
        app_path(other, "/jobs"),
        app_path(other, f"/jobs/{job['id']}"),
        app_path(other, "/event-types"),
        "/dashboard",
        "/dashboard/inspector",
        f"/dashboard/inspector/{bin_id}",
    ):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404 or page.url == hookwise.url(app_path(mine)), path
        html = page.content()  # the id asked for may be named back; nothing else of theirs
        shown = [x for x in theirs if x in html and x not in path]
        assert not shown, f"{path} shows the other app's data: {shown}"
        if response.status == 404:  # as for an id that does not exist at all
            unknown = page.goto(path.replace(other["id"], "app_unknown"))
            assert unknown is not None and unknown.status == 404, path

    # an action with the session's own token, from its own page: refused too; nothing changed
    page.goto(app_path(mine))
    answer = page.evaluate(
        """async (path) => {
            const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
            const r = await fetch(path, {method: "POST", headers: {"X-CSRF-Token": token}});
            return r.status;
        }""",
        app_path(other, f"/endpoints/{ep['id']}/pause"),
    )
    assert answer == 404
    state = hookwise._call("GET", f"/v1/apps/{other['id']}/endpoints/{ep['id']}", 200)
    assert state["status"] == "active"


def test_sign_out_ends_the_portal_session(page: Page, hookwise: Hookwise) -> None:
    app = hookwise.app("Signed out portal")
    open_portal(page, hookwise, app)
    expect(page.locator("#signed-in-as")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(hookwise.url("/dashboard/login"))

    page.goto(app_path(app))
    expect(page).to_have_url(hookwise.url("/dashboard/login"))


def test_an_operator_makes_a_link_the_customer_opens(
    signed_in_page: Page, browser: Browser, hookwise: Hookwise
) -> None:
    page = signed_in_page
    app = hookwise.app("Made in the console")
    page.goto(app_path(app))
    button = page.get_by_role("button", name="New portal link")
    htmx_wired(button)
    button.click()
    field = page.locator("#portal-link-url input")
    expect(field).to_have_value(re.compile(r"/portal/hwp_"))
    url = field.input_value()

    customer = browser.new_context(base_url=hookwise.base_url)  # another browser: no cookies
    try:
        theirs = customer.new_page()
        theirs.goto(url)
        theirs.get_by_role("button", name="Open the portal").click()
        expect(theirs).to_have_url(hookwise.url(app_path(app)))
        expect(theirs.get_by_role("button", name="New portal link")).to_have_count(0)
    finally:
        customer.close()
