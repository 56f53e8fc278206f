"""The request inspector in Chromium: a bin made from its page receives a real delivery and a
forged one; with the endpoint's secret typed in, the page marks the delivery verified and the
forged capture not verified, in both signature styles."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import Page, expect

from hookwise.domain.signing import Signer
from tests.browser.conftest import Shoot
from tests.browser.service import Hookwise, until

STYLES = 2  # Standard Webhooks and X-Webhook-Signature


def test_the_inspector_marks_a_forged_capture_as_not_verified(
    signed_in_page: Page, hookwise: Hookwise, shoot: Shoot
) -> None:
    page = signed_in_page
    page.get_by_role("link", name="Inspector", exact=True).click()
    page.get_by_label("Name").fill("seed 000")
    page.get_by_role("button", name="New bin").click()
    expect(page).to_have_url(re.compile(r"/dashboard/inspector/\w+$"))
    bin_id = page.url.rsplit("/", 1)[1]
    url = hookwise.url(f"/inspect/{bin_id}")
    expect(page.locator("#bin-url")).to_have_text(url)
    expect(page.locator("#captures")).to_contain_text("Nothing yet")

    app = hookwise.app("Inspected")
    ep = hookwise.endpoint(app["id"], url, retry_schedule=[])
    # the secret first: every poll after this carries it (a poll sent before the secret was
    # typed would bring verdicts without it)
    page.get_by_label("Endpoint secret").fill(hookwise.secret(app["id"], ep["id"]))
    page.get_by_role("button", name="Check signatures").click()

    hookwise.send(app["id"], "invoice.paid", {"invoice": "inv_9"})
    requests = f"/v1/inspector/bins/{bin_id}/requests"
    (real,) = until(lambda: hookwise.http.get(requests).json()["data"])
    body = b'{"forged": true}'
    forged_headers = Signer.from_secrets(["whsec_" + "B" * 32]).headers(
        "msg_forged", int(time.time()), body
    )
    forged_id = httpx.post(url, content=body, headers=forged_headers).headers["X-Hookwise-Capture"]

    # brought in by the page's poll, checked with the secret typed in
    real_row = page.locator(f'tr[data-capture="{real["id"]}"]')
    forged_row = page.locator(f'tr[data-capture="{forged_id}"]')
    expect(real_row.locator("td.verdict")).to_have_text(["verified"] * STYLES)
    verdicts = forged_row.locator("td.verdict")
    for i in range(STYLES):
        expect(verdicts.nth(i)).to_have_attribute("data-state", "not verified")
    expect(forged_row).to_contain_text("no signature matches")
    shoot(page, "inspector-bin", "An inspector bin: captures, their signatures checked")

    page.get_by_role("link", name="Request inspector").click()
    expect(page.get_by_role("link", name="seed 000")).to_be_visible()
    shoot(page, "inspector", "The request inspector: bins that record what they are sent")
