"""An endpoint's pages in Chromium: created from the console's form at an inspector bin, a
test event sent from its page (the attempt shows with the answer, no reload), its attempt
opened, paused and re-enabled; and a customer adding an endpoint in their portal and seeing
its attempts."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Shoot, app_path
from tests.browser.service import Hookwise
from tests.browser.test_portal import open_portal

SENT = r"Test event sent: HTTP 200 in \d+ ms"
CLAIMED = r"claimed by a worker first"
ENDPOINT_PAGE = re.compile(r"/dashboard/apps/app_\w+/endpoints/ep_\w+$")


def add_endpoint(page: Page, url: str, shoot: Shoot | None = None) -> str:
    """From the app's overview, through the form; the new endpoint's id."""
    page.get_by_role("link", name="Add endpoint").click()
    page.get_by_label("URL").fill(url)
    page.get_by_label("Events").fill("invoice.*")
    if shoot is not None:
        shoot(page, "endpoint-new", "Add an endpoint: URL, events, retries, headers, format")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page).to_have_url(ENDPOINT_PAGE)
    expect(page.locator("#secret")).to_have_text(re.compile(r"^whsec_"))  # shown this once
    return page.url.rsplit("/", 1)[1]


def _captures(hookwise: Hookwise, target: dict[str, Any]) -> list[dict[str, Any]]:
    return hookwise.http.get(f"/v1/inspector/bins/{target['id']}/requests").json()["data"]  # type: ignore[no-any-return]


def test_create_test_pause_and_re_enable_an_endpoint_from_its_page(
    signed_in_page: Page, hookwise: Hookwise, shoot: Shoot
) -> None:
    page = signed_in_page
    app = hookwise.app("Endpoint pages")
    target = hookwise.bin("endpoint page bin")
    page.goto(app_path(app))
    ep_id = add_endpoint(page, target["url"], shoot)
    expect(page.locator("#attempts")).to_contain_text("No attempts yet.")
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_role("button", name="Send test event").click()
    status = page.locator("#endpoint-status")
    # the service's own worker may claim the test delivery before the button's request does:
    # then the page says so and the attempt comes with the page's next poll
    expect(status).to_contain_text(re.compile(SENT + "|" + CLAIMED))
    ping = page.locator('#attempts tr[data-attempt][data-trigger="test"]')
    expect(ping).to_have_count(1)
    expect(ping).to_contain_text("succeeded")
    if re.search(SENT, status.inner_text()):  # came with the action's answer, in local time
        assert ping.locator("time").get_attribute("data-local") == "1"
    assert page.evaluate("window.stillTheSamePage") is True
    assert len(_captures(hookwise, target)) == 1  # the bin really received it

    # pause and re-enable: each button's answer redraws the status and the other button
    api = f"/v1/apps/{app['id']}/endpoints/{ep_id}"
    page.get_by_role("button", name="Pause").click()
    expect(status).to_contain_text("Endpoint paused")
    expect(page.locator("#ep-status")).to_have_attribute("data-status", "paused")
    assert hookwise.http.get(api).json()["status"] == "paused"
    page.get_by_role("button", name="Re-enable").click()
    expect(status).to_contain_text("Endpoint re-enabled")
    expect(page.locator("#ep-status")).to_have_attribute("data-status", "active")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    assert hookwise.http.get(api).json()["status"] == "active"
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "endpoint", "An endpoint: health, chart, actions, settings and its attempts")

    # the test event's attempt: what was sent, what the bin answered
    ping.get_by_role("link", name="details").click()
    expect(page).to_have_url(re.compile(r"/attempts/att_\w+$"))
    expect(page.locator("#request-body")).to_contain_text(ep_id)
    expect(page.locator("#response-status")).to_have_text("HTTP 200")
    expect(page.locator("#response-body")).to_contain_text(_captures(hookwise, target)[0]["id"])


def test_a_customer_adds_an_endpoint_in_the_portal_and_sees_its_attempts(
    page: Page, hookwise: Hookwise
) -> None:
    app = hookwise.app("Portal endpoints")
    target = hookwise.bin("portal endpoint bin")
    open_portal(page, hookwise, app)
    ep_id = add_endpoint(page, target["url"])

    msg = hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_portal"})
    hookwise.delivered(app["id"])  # read again now, not at the page's next poll (5 s)
    page.reload()
    row = page.locator(f'#attempts tr[data-attempt]:has(code:text-is("{msg["id"]}"))')
    expect(row).to_contain_text("succeeded")

    page.locator('nav.tabs a[data-tab="overview"]').click()
    live = page.locator(f'#attempt-rows tr[data-endpoint="{ep_id}"][data-message="{msg["id"]}"]')
    expect(live).to_have_attribute("data-status", "succeeded")
    expect(page.locator(f'#endpoints tr[data-endpoint="{ep_id}"]')).to_contain_text(target["url"])
