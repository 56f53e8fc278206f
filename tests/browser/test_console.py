"""The operator's console in Chromium: sign in, watch the attempt log update live, open an
attempt (the headers and body sent, the answer), pause and re-enable an endpoint, resend a
message, sign out.

Endpoints point at an inspector bin of the same service, so every delivery really happens."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Shoot, app_path, htmx_wired, sign_in
from tests.browser.service import Hookwise


def test_sign_in_with_an_admin_key_and_a_wrong_key_refused(
    page: Page, hookwise: Hookwise, shoot: Shoot
) -> None:
    hookwise.app("Acme")
    page.goto("/dashboard")
    expect(page).to_have_url(hookwise.url("/dashboard/login"))  # signed out: to the login
    shoot(page, "login", "Sign in with an API key")

    sign_in(page, "hwk_not_a_key")
    expect(page.get_by_text("That key is not valid.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    sign_in(page, hookwise.admin_key)
    expect(page).to_have_url(hookwise.url("/dashboard"))
    expect(page.get_by_role("link", name="Acme").first).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shoot(page, "apps", "The apps, and the queue at a glance")


def test_the_attempt_log_shows_a_new_attempt_without_a_reload(
    signed_in_page: Page, hookwise: Hookwise, shoot: Shoot
) -> None:
    page = signed_in_page
    app, ep = hookwise.app_at_a_bin("Live")
    page.goto(app_path(app))
    expect(page.locator("#attempts")).to_contain_text("No attempts yet.")
    page.evaluate("window.stillTheSamePage = true")

    msg = hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_1"})
    row = page.locator("#attempts tr", has_text=msg["id"])
    expect(row).to_contain_text("succeeded")  # brought in by htmx's poll
    expect(row).to_contain_text("200")
    assert page.evaluate("window.stillTheSamePage") is True  # no reload happened
    expect(page.locator(f'#endpoints tr[data-endpoint="{ep["id"]}"]')).to_contain_text(ep["url"])
    shoot(page, "app", "An app: its endpoints, bulk operations, messages and live attempt log")


def test_an_attempts_detail_shows_the_request_body_and_the_response(
    signed_in_page: Page, hookwise: Hookwise, shoot: Shoot
) -> None:
    page = signed_in_page
    app, _ = hookwise.app_at_a_bin("Detail")
    msg = hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_42", "note": "<b>hi</b>"})
    (attempt,) = hookwise.delivered(app["id"])
    page.goto(app_path(app))

    row = page.locator("#attempts tr", has_text=msg["id"])
    row.get_by_role("link", name="Details").click()
    expect(page).to_have_url(hookwise.url(app_path(app, f"/attempts/{attempt['id']}")))
    sent = page.locator("#request-body")
    expect(sent).to_contain_text('"invoice":"inv_42"')
    expect(sent).to_contain_text("<b>hi</b>")  # shown as text, never as markup
    expect(sent.locator("b")).to_have_count(0)
    expect(page.locator("#attempt-result")).to_have_text("succeeded (HTTP 200)")
    # the headers sent: signed, and the message's id among them
    headers = page.locator("#request-headers")
    expect(headers).to_contain_text(re.compile(r"webhook-signature", re.I))
    expect(headers).to_contain_text(msg["id"])
    expect(page.locator("#response-status")).to_have_text("HTTP 200")
    expect(page.locator("#response-headers")).to_contain_text(re.compile(r"content-type", re.I))
    # the bin's answer names the capture it made of this very request
    expect(page.locator("#response-body")).to_contain_text(re.compile(r'"captured":\s*"\w+'))
    expect(page.locator("#attempt-duration")).to_have_text(re.compile(r"^\d+(\.\d+)? ms$"))
    shoot(page, "attempt", "One attempt: what was sent and what the endpoint answered")


def test_pause_and_re_enable_an_endpoint_from_the_app_page(
    signed_in_page: Page, hookwise: Hookwise
) -> None:
    page = signed_in_page
    app, ep = hookwise.app_at_a_bin("Pause")
    page.goto(app_path(app))
    row = page.locator(f'#endpoints tr[data-endpoint="{ep["id"]}"]')
    expect(row).to_contain_text("active")

    # only what lasts is awaited: a poll that was under way may still bring the page as it
    # was, and the action's note goes with the next poll
    row.get_by_role("button", name="Pause").click()
    expect(row).to_contain_text("paused from the dashboard")
    path = f"/v1/apps/{app['id']}/endpoints/{ep['id']}"
    assert hookwise.http.get(path).json()["status"] == "paused"

    enable = row.get_by_role("button", name="Re-enable")
    htmx_wired(enable)  # the pause's answer brought it
    enable.click()
    expect(row.get_by_role("button", name="Pause")).to_be_visible()
    expect(row).not_to_contain_text("paused")
    assert hookwise.http.get(path).json()["status"] == "active"


def test_resend_a_message(signed_in_page: Page, hookwise: Hookwise) -> None:
    page = signed_in_page
    app, _ = hookwise.app_at_a_bin("Resend")
    msg = hookwise.send(app["id"], "order.created", {"order": 7})
    hookwise.delivered(app["id"])
    page.goto(app_path(app))
    attempts = page.locator("#attempts tr", has_text=msg["id"])
    expect(attempts).to_have_count(1)

    page.locator("#messages tr", has_text=msg["id"]).get_by_role("button", name="Resend").click()
    expect(attempts).to_have_count(2)  # the second attempt arrives with a poll
    expect(attempts.first).to_contain_text("manual")


def test_sign_out_and_the_app_page_sends_to_the_login(
    signed_in_page: Page, hookwise: Hookwise
) -> None:
    page = signed_in_page
    app = hookwise.app("Signed out")
    page.goto(app_path(app))
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(hookwise.url("/dashboard/login"))

    page.goto(app_path(app))
    expect(page).to_have_url(hookwise.url("/dashboard/login"))
    expect(page.get_by_label("API key")).to_be_visible()
